"""Sync and publish history: repositories/<id>/history/sync/ and …/history/publish/<distributor_id>/."""

from __future__ import annotations

import hashlib
import json
import uuid

import requests
from platform_helpers import assert_error, unique

PUBLISH_KEYS = {"id", "_ns", "repo_id", "distributor_id", "distributor_type_id", "distributor_config", "started",
                "completed", "result", "summary", "details", "error_message", "exception", "traceback"}
SYNC_KEYS = {"id", "_ns", "repo_id", "importer_id", "importer_type_id", "started", "completed", "result",
             "added_count", "removed_count", "updated_count", "summary", "details", "error_message", "exception",
             "traceback"}
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def history(server, path: str, **params) -> list[dict]:
    response = server.api("GET", path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def publish(server, repo_id: str, distributor_id: str) -> dict:
    response = server.api("POST", f"repositories/{repo_id}/actions/publish/", json={"id": distributor_id})
    assert response.status_code == 202, response.text
    return server.wait_task(response.json())


def sync(server, repo_id: str, override: dict | None = None) -> dict:
    response = server.api("POST", f"repositories/{repo_id}/actions/sync/", json={"override_config": override or {}})
    assert response.status_code == 202, response.text
    return server.wait_task(response.json(), timeout=300)


def test_publish_history_records_successes_and_errors(pulp_server, make_repo, publish_dir, upload_text, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    repo_id = make_repo(distributors=[
        {"distributor_id": "manual", "distributor_type_id": "test_distributor",
         "distributor_config": {"publish_dir": str(publish_dir)}, "auto_publish": False},
        {"distributor_id": "broken", "distributor_type_id": "test_distributor",
         "distributor_config": {"publish_dir": str(blocker / "sub")}, "auto_publish": False}])
    path = f"repositories/{repo_id}/history/publish/manual/"
    assert history(pulp_server, path) == []
    task = pulp_server.import_upload(repo_id, upload_text("h"), "test_file", unit_key={"name": unique("f")})
    assert task["state"] == "finished", task
    assert history(pulp_server, path) == []  # no distributor publishes automatically here
    first, second = (publish(pulp_server, repo_id, "manual") for _ in range(2))
    assert first["state"] == second["state"] == "finished"
    failed = publish(pulp_server, repo_id, "broken")
    assert failed["state"] == "error"

    entries = history(pulp_server, path)
    assert len(entries) == 2 and all(set(e) == PUBLISH_KEYS for e in entries), entries
    newest, oldest = entries
    assert newest["started"] > oldest["started"] and newest["completed"] >= newest["started"]
    # The task reports the same times (to the microsecond; the database keeps milliseconds).
    assert newest["started"][:23] == second["result"]["started"][:23]
    assert oldest["started"][:23] == first["result"]["started"][:23]
    for entry in entries:
        assert (entry["repo_id"], entry["distributor_id"], entry["distributor_type_id"], entry["result"]) == \
            (repo_id, "manual", "test_distributor", "success")
        assert entry["summary"] == {"units": 1} and entry["distributor_config"] == {"publish_dir": str(publish_dir)}
        assert entry["error_message"] is None and entry["traceback"] is None
        assert entry["_ns"] == "repo_publish_results"
    assert [e["id"] for e in history(pulp_server, path, sort="ascending")] == [oldest["id"], newest["id"]]
    assert [e["id"] for e in history(pulp_server, path, limit=1)] == [newest["id"]]
    assert [e["id"] for e in history(pulp_server, path, start_date=newest["started"])] == [newest["id"]]
    assert [e["id"] for e in history(pulp_server, path, end_date=oldest["started"])] == [oldest["id"]]

    [error] = history(pulp_server, f"repositories/{repo_id}/history/publish/broken/")
    assert error["result"] == "error" and error["summary"] is None
    assert error["error_message"] and error["exception"] and error["traceback"], error
    assert error["error_message"] == failed["error"]["description"]

    body = assert_error(pulp_server.api("GET", path, params={"sort": "sideways", "limit": "0",
                                                             "start_date": "yesterday"}), 400, "PLP0015")
    assert set(body["error"]["data"]["property_names"]) == {"sort", "limit", "start_date"}
    assert_error(pulp_server.api("GET", path, params={"limit": "x"}), 400, "PLP0015")
    assert_error(pulp_server.api("GET", path, params={"end_date": "2024-13-45"}), 400, "PLP0015")
    assert_error(pulp_server.api("GET", f"repositories/{repo_id}/history/publish/nosuch/"), 404, "PLP0009")
    assert_error(pulp_server.api("GET", "repositories/nosuch/history/publish/manual/"), 404, "PLP0009")
    assert_error(pulp_server.api("GET", "repositories/nosuch/history/sync/"), 404, "PLP0009")


def test_auto_publish_is_recorded_and_history_goes_with_its_distributor(pulp_server, make_repo, publish_dir,
                                                                        upload_text):
    repo_id = make_repo()  # test_dist publishes automatically
    path = f"repositories/{repo_id}/history/publish/test_dist/"
    task = pulp_server.import_upload(repo_id, upload_text("auto"), "test_file", unit_key={"name": unique("f")})
    assert task["state"] == "finished", task
    [entry] = history(pulp_server, path)
    assert entry["result"] == "success" and entry["summary"] == {"units": 1}

    removed = pulp_server.api("DELETE", f"repositories/{repo_id}/distributors/test_dist/")
    assert pulp_server.wait_task(removed.json())["state"] == "finished"
    assert_error(pulp_server.api("GET", path), 404, "PLP0009")
    added = pulp_server.api("POST", f"repositories/{repo_id}/distributors/", json={
        "distributor_id": "test_dist", "distributor_type_id": "test_distributor",
        "distributor_config": {"publish_dir": str(publish_dir)}})
    assert added.status_code == 201, added.text
    assert history(pulp_server, path) == []

    # A deleted repository's history goes too: a new one of the same id starts empty.
    publish(pulp_server, repo_id, "test_dist")
    assert len(history(pulp_server, path)) == 1
    pulp_server.delete_repo(repo_id)
    make_repo(repo_id)
    assert history(pulp_server, path) == []


def test_sync_history_records_errors(pulp_server, make_repo):
    repo_id = make_repo()
    path = f"repositories/{repo_id}/history/sync/"
    assert history(pulp_server, path) == []
    # The test importer cannot sync at all; a config it refuses fails before the sync starts.
    assert sync(pulp_server, repo_id)["state"] == "error"
    refused = sync(pulp_server, repo_id, {"bad": 1})
    assert refused["state"] == "error"
    entries = history(pulp_server, path)
    assert len(entries) == 2 and all(set(e) == SYNC_KEYS for e in entries), entries
    newest, oldest = entries
    assert "'bad' is not a setting" in newest["error_message"]
    assert newest["error_message"] == refused["error"]["description"]
    assert oldest["exception"] == "NotImplementedError()"
    for entry in entries:
        assert (entry["repo_id"], entry["importer_id"], entry["importer_type_id"], entry["result"]) == \
            (repo_id, "test_importer", "test_importer", "error")
        assert entry["added_count"] is None and entry["summary"] is None and entry["traceback"]
        assert entry["_ns"] == "repo_sync_results"
    assert [e["id"] for e in history(pulp_server, path, sort="ascending", limit=1)] == [oldest["id"]]
    assert_error(pulp_server.api("GET", path, params={"sort": "newest"}), 400, "PLP0015")


# -- a real sync: an image pushed to this server's registry, mirrored into another repository --------------
def _digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def push_image(server, name: str, tag: str, layer: bytes) -> None:
    config = json.dumps({"architecture": "amd64", "os": "linux", "id": uuid.uuid4().hex}).encode()
    for blob in (config, layer):
        reply = requests.post(f"{server.url}/v2/{name}/blobs/uploads/", params={"digest": _digest(blob)}, data=blob,
                              auth=server.auth, timeout=60)
        assert reply.status_code == 201, reply.text
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _digest(config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": _digest(layer),
                    "size": len(layer)}]}).encode()
    reply = requests.put(f"{server.url}/v2/{name}/manifests/{tag}", data=manifest, auth=server.auth, timeout=60,
                         headers={"Content-Type": OCI_MANIFEST})
    assert reply.status_code == 201, reply.text


def test_sync_history_counts_what_a_sync_added_and_removed(pulp_server):
    name = f"{unique('hist')}/app"
    push_image(pulp_server, name, "1.0", b"layer one " + uuid.uuid4().bytes)
    push_image(pulp_server, name, "2.0", b"layer two " + uuid.uuid4().bytes)
    mirror = unique("mirror")
    pulp_server.create_repo(mirror, importer_config={"feed": pulp_server.url, "upstream_name": name})
    path = f"repositories/{mirror}/history/sync/"

    task = sync(pulp_server, mirror)
    assert task["state"] == "finished", task["error"]
    held = sum(pulp_server.api("GET", f"repositories/{mirror}/").json()["content_unit_counts"].values())
    [first] = history(pulp_server, path)
    assert set(first) == SYNC_KEYS
    assert (first["result"], first["importer_id"], first["importer_type_id"]) == \
        ("success", "docker_importer", "docker_importer")
    assert first["added_count"] == held > 0 and first["removed_count"] == 0 and first["updated_count"] == 0
    assert first["summary"] == task["result"]["summary"] and first["details"] == task["result"]["details"]
    assert first["error_message"] is None and first["exception"] is None and first["traceback"] is None

    assert sync(pulp_server, mirror)["state"] == "finished"
    again = history(pulp_server, path)[0]
    assert (again["added_count"], again["removed_count"]) == (0, 0)

    # A tag gone upstream is removed with remove_missing: one tag fewer.
    deleted = requests.delete(f"{pulp_server.url}/v2/{name}/manifests/2.0", auth=pulp_server.auth, timeout=30)
    assert deleted.status_code in (202, 200), deleted.text
    task = sync(pulp_server, mirror, {"remove_missing": True})
    assert task["state"] == "finished", task["error"]
    assert task["result"]["summary"]["removed_tags"] == ["2.0"]
    latest = history(pulp_server, path)[0]
    assert latest["removed_count"] >= 1 and latest["added_count"] == 0
    assert len(history(pulp_server, path)) == 3
