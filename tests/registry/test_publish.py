"""Publishing: what a name serves is the repository's last published snapshot, switched atomically."""

from __future__ import annotations

import threading

import requests
from registry_helpers import DATA, error_code, get, upload_image

WEB = "docker_web_distributor_name_cli"


def publish(server, repo_id: str, **override) -> dict:
    body = {"id": WEB, **({"override_config": override} if override else {})}
    response = server.api("POST", f"repositories/{repo_id}/actions/publish/", json=body)
    assert response.status_code == 202, response.text
    return server.wait_task(response.json())


def unassociate_manifest(server, repo_id: str, digest: str) -> None:
    criteria = {"type_ids": ["docker_manifest"], "filters": {"unit": {"digest": digest}}}
    response = server.api("POST", f"repositories/{repo_id}/actions/unassociate/", json={"criteria": criteria})
    assert response.status_code == 202, response.text
    assert server.wait_task(response.json())["state"] == "finished"


def test_only_the_published_snapshot_is_served(pulp_server):
    repo = "reg-pub-snapshot"
    first = upload_image(pulp_server, repo, DATA / "skopeo-v2s2.tar", "latest")
    second = upload_image(pulp_server, repo, DATA / "skopeo-oci.tar", "latest", create=False)
    # The tag moved with the second import's auto-publish; the first manifest is still held and served.
    assert get(pulp_server, f"/v2/{repo}/manifests/latest").headers["Docker-Content-Digest"] == second.digest
    assert get(pulp_server, f"/v2/{repo}/manifests/{first.digest}").status_code == 200

    # Without auto-publish, removing content does not publish: the name keeps serving its snapshot
    # until the next publish. (With it, a removal republishes: test_a_removal_republishes_...)
    off = pulp_server.api("PUT", f"repositories/{repo}/distributors/{WEB}/",
                          json={"distributor_config": {}, "delta": {"auto_publish": False}})
    assert off.status_code == 202, off.text
    assert pulp_server.wait_task(off.json())["state"] == "finished"
    unassociate_manifest(pulp_server, repo, first.digest)
    assert get(pulp_server, f"/v2/{repo}/manifests/{first.digest}").status_code == 200
    task = publish(pulp_server, repo)
    assert task["state"] == "finished", task
    summary = task["result"]["summary"]
    assert (summary["registry_name"], summary["manifests"], summary["tags"]) == (repo, 1, 1)
    gone = get(pulp_server, f"/v2/{repo}/manifests/{first.digest}")
    assert gone.status_code == 404 and error_code(gone) == "MANIFEST_UNKNOWN"
    assert get(pulp_server, f"/v2/{repo}/manifests/{second.digest}").status_code == 200


def test_a_removal_republishes_an_auto_publishing_repository(pulp_server):
    repo = "reg-pub-removal"
    first = upload_image(pulp_server, repo, DATA / "skopeo-v2s2.tar", "latest")
    second = upload_image(pulp_server, repo, DATA / "skopeo-oci.tar", "latest", create=False)
    assert get(pulp_server, f"/v2/{repo}/manifests/{first.digest}").status_code == 200
    unassociate_manifest(pulp_server, repo, first.digest)
    gone = get(pulp_server, f"/v2/{repo}/manifests/{first.digest}")
    assert gone.status_code == 404 and error_code(gone) == "MANIFEST_UNKNOWN"
    assert get(pulp_server, f"/v2/{repo}/manifests/latest").headers["Docker-Content-Digest"] == second.digest


def test_changing_the_registry_id_moves_the_name_at_the_next_publish(pulp_server):
    repo = "reg-pub-rename"
    image = upload_image(pulp_server, repo, DATA / "skopeo-v2s2.tar", "latest", registry_id="reg-old/name")
    response = pulp_server.api("PUT", f"repositories/{repo}/",
                               json={"distributor_configs": {WEB: {"repo-registry-id": "reg-new/name"}}})
    assert response.status_code == 202, response.text
    assert pulp_server.wait_task(response.json())["state"] == "finished"
    assert get(pulp_server, "/v2/reg-old/name/manifests/latest").status_code == 200
    assert publish(pulp_server, repo)["state"] == "finished"
    old = get(pulp_server, "/v2/reg-old/name/manifests/latest")
    assert old.status_code == 404 and error_code(old) == "NAME_UNKNOWN"
    new = get(pulp_server, "/v2/reg-new/name/manifests/latest")
    assert new.status_code == 200 and new.headers["Docker-Content-Digest"] == image.digest
    catalog = get(pulp_server, "/v2/_catalog").json()["repositories"]
    assert "reg-new/name" in catalog and "reg-old/name" not in catalog


def test_registry_id_must_be_valid_and_unique(pulp_server):
    upload_image(pulp_server, "reg-pub-owner", DATA / "skopeo-v2s2.tar", "latest", registry_id="reg-taken/name")
    bad = [
        ({"repo-registry-id": "reg-taken/name"}, "reg-pub-clash", "reg-pub-owner"),
        ({"repo-registry-id": "Upper/Case"}, "reg-pub-upper", "not a valid registry name"),
        ({"repo-registry-id": "trailing-/x"}, "reg-pub-dash", "not a valid registry name"),
        ({}, "Reg-Pub-Default", "not a valid registry name"),
        ({"repo-registry-id": "reg-fine", "protected": "maybe"}, "reg-pub-protected", "protected"),
    ]
    for config, repo_id, reason in bad:
        response = pulp_server.api("POST", "repositories/", json={
            "id": repo_id, "importer_type_id": "docker_importer",
            "distributors": [{"distributor_id": WEB, "distributor_type_id": "docker_distributor_web",
                              "distributor_config": config, "auto_publish": True}]})
        assert response.status_code == 400, (config, response.text)
        assert reason in response.json()["error_message"], response.text
        assert pulp_server.api("GET", f"repositories/{repo_id}/").status_code == 404
    # A publish's override_config is checked too, and cannot take another repository's name.
    upload_image(pulp_server, "reg-pub-other", DATA / "skopeo-oci.tar", "v1")
    failed = publish(pulp_server, "reg-pub-other", **{"repo-registry-id": "reg-taken/name"})
    assert failed["state"] == "error" and "reg-pub-owner" in failed["error"]["description"]
    assert publish(pulp_server, "reg-pub-other", **{"repo-registry-id": "Bad"})["state"] == "error"
    assert get(pulp_server, "/v2/reg-taken/name/manifests/latest").status_code == 200
    assert get(pulp_server, "/v2/reg-pub-other/manifests/v1").status_code == 200


def test_deleting_the_repository_unpublishes_it(pulp_server):
    upload_image(pulp_server, "reg-pub-delete", DATA / "skopeo-v2s2.tar", "latest", registry_id="reg-del/me")
    assert get(pulp_server, "/v2/reg-del/me/tags/list").status_code == 200
    assert pulp_server.delete_repo("reg-pub-delete")["state"] == "finished"
    response = get(pulp_server, "/v2/reg-del/me/tags/list")
    assert response.status_code == 404 and error_code(response) == "NAME_UNKNOWN"
    assert "reg-del/me" not in get(pulp_server, "/v2/_catalog").json()["repositories"]


def test_export_distributor_refuses_to_publish(pulp_server):
    repo = "reg-pub-export"
    pulp_server.create_repo(repo, distributors=[{
        "distributor_id": "docker_export_distributor_name_cli", "distributor_type_id": "docker_distributor_export",
        "distributor_config": {}, "auto_publish": False}])
    response = pulp_server.api("POST", f"repositories/{repo}/actions/publish/",
                               json={"id": "docker_export_distributor_name_cli"})
    task = pulp_server.wait_task(response.json())
    assert task["state"] == "error" and "cannot export yet" in task["error"]["description"]


def test_pulls_during_publishes_never_see_a_missing_piece(pulp_server):
    """Readers racing repeated publishes always find the tag, its manifest and every blob."""
    repo = "reg-pub-race"
    image = upload_image(pulp_server, repo, DATA / "skopeo-v2s2.tar", "latest")
    failures: list[str] = []
    done = threading.Event()

    def read() -> None:
        with requests.Session() as session:
            while not done.is_set():
                manifest = session.get(f"{pulp_server.url}/v2/{repo}/manifests/latest", timeout=60)
                if manifest.status_code != 200:
                    failures.append(f"manifest {manifest.status_code} {manifest.text}")
                    continue
                doc = manifest.json()
                for blob in [doc["config"], *doc["layers"]]:
                    head = session.head(f"{pulp_server.url}/v2/{repo}/blobs/{blob['digest']}", timeout=60)
                    if head.status_code != 200:
                        failures.append(f"blob {blob['digest']} {head.status_code}")

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        for _ in range(15):
            assert publish(pulp_server, repo)["state"] == "finished"
    finally:
        done.set()
        for reader in readers:
            reader.join()
    assert failures == []
    assert get(pulp_server, f"/v2/{repo}/manifests/latest").headers["Docker-Content-Digest"] == image.digest
