"""Repository CRUD over HTTP, with Pulp 2's shapes and error bodies."""

from __future__ import annotations

import json

from platform_helpers import assert_error, unique


def test_create_get_list_update_delete(pulp_server, make_repo, publish_dir, upload_text):
    repo_id = unique()
    response = pulp_server.api("POST", "repositories/", json={
        "id": repo_id, "display_name": "Shown", "description": "words", "notes": {"a": "1", "b": "2"},
        "importer_type_id": "test_importer", "importer_config": {"x": 1},
        "distributors": [{"distributor_id": "d", "distributor_type_id": "test_distributor",
                          "distributor_config": {"publish_dir": str(publish_dir)}, "auto_publish": True}]})
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"/pulp/api/v2/repositories/{repo_id}/"
    created = response.json()
    assert created["id"] == repo_id
    assert created["display_name"] == "Shown"
    assert created["content_unit_counts"] == {}
    assert created["_href"] == f"/pulp/api/v2/repositories/{repo_id}/"

    plain = pulp_server.api("GET", f"repositories/{repo_id}/").json()
    assert "importers" not in plain and "distributors" not in plain
    detailed = pulp_server.api("GET", f"repositories/{repo_id}/", params={"details": "true"}).json()
    [importer] = detailed["importers"]
    assert importer["importer_type_id"] == "test_importer" and importer["config"] == {"x": 1}
    [dist] = detailed["distributors"]
    assert (dist["id"], dist["distributor_type_id"], dist["auto_publish"]) == ("d", "test_distributor", True)

    listed = pulp_server.api("GET", "repositories/", params={"details": "true"}).json()
    assert [r for r in listed if r["id"] == repo_id][0]["distributors"][0]["id"] == "d"

    update = pulp_server.api("PUT", f"repositories/{repo_id}/", json={
        "delta": {"display_name": "Renamed", "notes": {"a": None, "c": "3"}},
        "importer_config": {"x": None, "y": 2},
        "distributor_configs": {"d": {"extra": True}}})
    # As in Pulp 2: the delta and importer config at once, the distributor's config as a task (202).
    assert update.status_code == 202, update.text
    result = update.json()["result"]
    assert result["display_name"] == "Renamed"
    assert result["notes"] == {"b": "2", "c": "3"}
    assert result["importers"][0]["config"] == {"y": 2}
    [spawned] = update.json()["spawned_tasks"]
    task = pulp_server.wait_task(spawned["task_id"])
    assert task["state"] == "finished", task
    assert "pulp:repository_distributor:d" in task["tags"]
    after = pulp_server.api("GET", f"repositories/{repo_id}/", params={"details": "true"}).json()
    assert after["distributors"][0]["config"] == {"publish_dir": str(publish_dir), "extra": True}
    no_tasks = pulp_server.api("PUT", f"repositories/{repo_id}/", json={"delta": {"description": "d"}})
    assert no_tasks.status_code == 200 and no_tasks.json()["spawned_tasks"] == [], no_tasks.text

    # Put a unit in, so deleting has associations and a published file to clean up.
    task = pulp_server.import_upload(repo_id, upload_text("x"), "test_file", unit_key={"name": unique("f")})
    assert task["state"] == "finished", task
    assert (publish_dir / f"{repo_id}.json").exists()

    delete = pulp_server.api("DELETE", f"repositories/{repo_id}/")
    assert delete.status_code == 202, delete.text
    report = delete.json()
    assert report["result"] is None and report["error"] is None
    task = pulp_server.wait_task(report)
    assert task["state"] == "finished", task
    assert "pulp:action:delete" in task["tags"]
    assert_error(pulp_server.api("GET", f"repositories/{repo_id}/"), 404, "PLP0009")
    assert not (publish_dir / f"{repo_id}.json").exists()


def test_duplicate_id_is_409(pulp_server, make_repo):
    repo_id = make_repo()
    body = assert_error(pulp_server.api("POST", "repositories/", json={"id": repo_id}), 409, "PLP0018")
    assert repo_id in body["error_message"]


def test_unknown_repository_is_404_everywhere(pulp_server):
    for method, path in [("GET", "repositories/nope/"), ("DELETE", "repositories/nope/"),
                         ("POST", "repositories/nope/search/units/"),
                         ("POST", "repositories/nope/actions/publish/")]:
        body = assert_error(pulp_server.api(method, path, json={} if method == "POST" else None), 404, "PLP0009")
        assert "nope" in body["error_message"]
    assert_error(pulp_server.api("PUT", "repositories/nope/", json={"delta": {}}), 404, "PLP0009")


def test_bad_create_requests_are_400_and_leave_nothing(pulp_server, publish_dir):
    repo_id = unique()
    assert_error(pulp_server.api("POST", "repositories/", json={"display_name": "no id"}), 400, "PLP0016")
    assert_error(pulp_server.api("POST", "repositories/", json={"id": "has space"}), 400, "PLP0015")
    assert_error(pulp_server.api("POST", "repositories/", json={"id": repo_id, "importer_type_id": "nosuch"}),
                 400, "PLP0015")
    assert_error(pulp_server.api("POST", "repositories/", json={"id": repo_id, "importer_type_id": "test_importer",
                                                               "importer_config": {"bad": 1}}), 400, "PLP0015")
    # The distributor's own validation refuses a config without publish_dir.
    assert_error(pulp_server.api("POST", "repositories/", json={
        "id": repo_id, "importer_type_id": "test_importer",
        "distributors": [{"distributor_type_id": "test_distributor", "distributor_config": {}}]}), 400, "PLP0016")
    assert_error(pulp_server.api("POST", "repositories/", json={
        "id": repo_id, "distributors": [{"distributor_type_id": "nosuch"}]}), 400, "PLP0015")
    assert_error(pulp_server.api("POST", "repositories/", json={"id": repo_id, "notes": "not an object"}),
                 400, "PLP0015")
    assert_error(pulp_server.api("POST", "repositories/", data=b"{not json",
                                 headers={"Content-Type": "application/json"}), 400, "PLP0015")
    assert_error(pulp_server.api("POST", "repositories/", data=json.dumps([1, 2]),
                                 headers={"Content-Type": "application/json"}), 400, "PLP0015")
    assert_error(pulp_server.api("GET", f"repositories/{repo_id}/"), 404, "PLP0009")


def test_bad_update_changes_nothing(pulp_server, make_repo):
    repo_id = make_repo(display_name="before")
    assert_error(pulp_server.api("PUT", f"repositories/{repo_id}/", json={
        "delta": {"display_name": "after"}, "importer_config": {"bad": 1}}), 400, "PLP0015")
    assert_error(pulp_server.api("PUT", f"repositories/{repo_id}/", json={
        "delta": {"display_name": "after"}, "distributor_configs": {"nosuch": {}}}), 404, "PLP0009")
    assert_error(pulp_server.api("PUT", f"repositories/{repo_id}/", json={"delta": {"id": "x"}}), 400, "PLP0015")
    assert pulp_server.api("GET", f"repositories/{repo_id}/").json()["display_name"] == "before"


def test_unknown_path_and_method(pulp_server):
    assert_error(pulp_server.api("GET", "no/such/thing/"), 404, "PLP0009")
    response = pulp_server.api("PATCH", "repositories/")
    assert response.status_code == 405
    assert response.json()["http_status"] == 405
