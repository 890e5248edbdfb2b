"""``actions/import_upload/``: the task reaching finished or error, with Pulp 2's report shapes."""

from __future__ import annotations

import hashlib
import json

from platform_helpers import TASK_KEYS, assert_error, unique, units


def test_import_finishes_with_the_upload_report(pulp_server, make_repo, upload_text, publish_dir):
    repo_id = make_repo()
    upload_id = upload_text("some content")
    response = pulp_server.api("POST", f"repositories/{repo_id}/actions/import_upload/", json={
        "upload_id": upload_id, "unit_type_id": "test_file", "unit_key": {"name": "one"}, "unit_metadata": {}})
    assert response.status_code == 202, response.text
    report = response.json()
    assert report["result"] is None and report["error"] is None
    [spawned] = report["spawned_tasks"]
    assert spawned["_href"] == f"/pulp/api/v2/tasks/{spawned['task_id']}/"

    task = pulp_server.wait_task(spawned["_href"])
    assert set(task) >= TASK_KEYS
    assert task["state"] == "finished", task
    assert task["error"] is None and task["exception"] is None and task["traceback"] is None
    assert task["task_id"] == spawned["task_id"]
    assert set(task["tags"]) == {f"pulp:repository:{repo_id}", "pulp:action:import_upload"}
    assert task["start_time"] and task["finish_time"] and task["worker_name"]
    digest = "sha256:" + hashlib.sha256(b"some content").hexdigest()
    assert task["result"] == {"success_flag": True, "summary": {"name": "one", "size": 12},
                              "details": {"unit": {"type_id": "test_file", "unit_key": {"name": "one"},
                                                   "metadata": {"size": 12, "digest": digest}}}}

    [found] = units(pulp_server, repo_id)
    assert found["unit_type_id"] == "test_file" and found["repo_id"] == repo_id
    assert found["metadata"]["name"] == "one" and found["metadata"]["_content_type_id"] == "test_file"
    assert found["metadata"]["_id"] == found["unit_id"]
    assert found["created"] and found["updated"]
    repo = pulp_server.api("GET", f"repositories/{repo_id}/").json()
    assert repo["content_unit_counts"] == {"test_file": 1}
    assert repo["last_unit_added"]
    # The auto-publish distributor published the new content.
    assert json.loads((publish_dir / f"{repo_id}.json").read_text()) == ["one"]


def test_failed_import_is_an_error_and_leaves_nothing(pulp_server, make_repo, upload_text):
    repo_id = make_repo()
    name = unique("doomed")
    text = f"never stored {name}"
    content_before = {p for p in (pulp_server.data_dir / "content").rglob("*") if p.is_file()}
    task = pulp_server.import_upload(repo_id, upload_text(text), "test_file", unit_key={"name": name},
                                     unit_metadata={"fail": True})
    assert set(task) >= TASK_KEYS
    assert task["state"] == "error", task
    assert task["result"] is None
    assert task["error"]["code"] == "PLP0015"
    assert "asked this upload to fail" in task["error"]["description"]
    assert task["error"]["sub_errors"] == [] and isinstance(task["error"]["data"], dict)
    assert "InvalidValue" in task["exception"]
    assert any("upload_unit" in line for line in task["traceback"])
    assert task["finish_time"]

    assert units(pulp_server, repo_id) == []
    assert pulp_server.api("GET", f"repositories/{repo_id}/").json()["content_unit_counts"] == {}
    orphans = pulp_server.api("GET", "content/orphans/test_file/").json()
    assert name not in [o["name"] for o in orphans]
    # No content file, not even a staged one, was left behind.
    assert {p for p in (pulp_server.data_dir / "content").rglob("*") if p.is_file()} == content_before


def test_import_requests_are_validated(pulp_server, make_repo, upload_text):
    repo_id = make_repo()
    upload_id = upload_text("x")
    path = f"repositories/{repo_id}/actions/import_upload/"
    body = assert_error(pulp_server.api("POST", path, json={"unit_type_id": "test_file"}), 400, "PLP0016")
    assert "upload_id" in body["error_message"]
    body = assert_error(pulp_server.api("POST", path, json={"upload_id": upload_id}), 400, "PLP0016")
    assert "unit_type_id" in body["error_message"]
    assert_error(pulp_server.api("POST", path, json={}), 400, "PLP0016")
    assert_error(pulp_server.api("POST", path, json={"upload_id": "6d1b0cd6-2b7e-4a3e-9a55-2a1c0d1f0000",
                                                     "unit_type_id": "test_file"}), 404, "PLP0009")
    assert_error(pulp_server.api("POST", "repositories/nosuch/actions/import_upload/",
                                 json={"upload_id": upload_id, "unit_type_id": "test_file"}), 404, "PLP0009")
    assert_error(pulp_server.api("POST", path, json={"upload_id": upload_id, "unit_type_id": "other_type"}),
                 400, "PLP0015")
    assert_error(pulp_server.api("POST", path, json={"upload_id": upload_id, "unit_type_id": "test_file",
                                                     "unit_key": ["not", "an", "object"]}), 400, "PLP0015")
    # None of the refused requests queued a task.
    tasks = pulp_server.api("GET", "tasks/", params={"tag": f"pulp:repository:{repo_id}"}).json()
    assert tasks == []
