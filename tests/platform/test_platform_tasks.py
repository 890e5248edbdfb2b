"""Tasks: one at a time per repository, in parallel across repositories, listing, cancel."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime

from platform_helpers import assert_error, unique, units

from pulp_platform.tasking.celery_app import prune_sqlite_broker


def _queue_import(server, repo_id, upload_id, name, **metadata):
    response = server.api("POST", f"repositories/{repo_id}/actions/import_upload/", json={
        "upload_id": upload_id, "unit_type_id": "test_file", "unit_key": {"name": name},
        "unit_metadata": metadata})
    assert response.status_code == 202, response.text
    return response.json()["spawned_tasks"][0]["task_id"]


def _times(task):
    return datetime.fromisoformat(task["start_time"]), datetime.fromisoformat(task["finish_time"])


def _wait_state(server, task_id, state, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = server.api("GET", f"tasks/{task_id}/").json()
        if task["state"] == state:
            return task
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} never reached {state}: {task}")


def test_tasks_on_one_repository_run_one_at_a_time(pulp_server, make_repo, upload_text):
    repo_id = make_repo()
    upload_id = upload_text("serial")
    first = _queue_import(pulp_server, repo_id, upload_id, "a", sleep=1.0)
    second = _queue_import(pulp_server, repo_id, upload_id, "b", sleep=1.0)
    a, b = pulp_server.wait_task(first), pulp_server.wait_task(second)
    assert a["state"] == b["state"] == "finished", (a, b)
    (a_start, a_end), (b_start, b_end) = _times(a), _times(b)
    # Queued first, ran first, and the second began only after the first ended.
    assert a_start < a_end <= b_start < b_end
    assert sorted(u["metadata"]["name"] for u in units(pulp_server, repo_id)) == ["a", "b"]


def test_tasks_on_two_repositories_overlap(pulp_server, make_repo, upload_text):
    one, two = make_repo(), make_repo()
    upload_id = upload_text("parallel")
    first = _queue_import(pulp_server, one, upload_id, "p", sleep=2.0)
    second = _queue_import(pulp_server, two, upload_id, "q", sleep=2.0)
    a, b = pulp_server.wait_task(first), pulp_server.wait_task(second)
    assert a["state"] == b["state"] == "finished", (a, b)
    (a_start, a_end), (b_start, b_end) = _times(a), _times(b)
    assert a_start < b_end and b_start < a_end, "the two repositories' tasks did not run at the same time"


def test_cancel_a_waiting_task(pulp_server, make_repo, upload_text):
    repo_id = make_repo()
    upload_id = upload_text("cancel")
    blocker = _queue_import(pulp_server, repo_id, upload_id, "first", sleep=1.5)
    waiting = _queue_import(pulp_server, repo_id, upload_id, "never")
    _wait_state(pulp_server, blocker, "running")
    assert pulp_server.api("GET", f"tasks/{waiting}/").json()["state"] == "waiting"
    response = pulp_server.api("DELETE", f"tasks/{waiting}/")
    assert response.status_code == 200 and response.json() is None
    assert pulp_server.wait_task(blocker)["state"] == "finished"
    canceled = pulp_server.wait_task(waiting)
    assert canceled["state"] == "canceled" and canceled["start_time"] is None
    # A later task on the repository is not held up by the canceled one.
    later = _queue_import(pulp_server, repo_id, upload_id, "later")
    assert pulp_server.wait_task(later)["state"] == "finished"
    assert sorted(u["metadata"]["name"] for u in units(pulp_server, repo_id)) == ["first", "later"]


def test_cancel_a_running_task(pulp_server, make_repo, upload_text):
    repo_id = make_repo()
    task_id = _queue_import(pulp_server, repo_id, upload_text("running"), "slow", sleep=30)
    _wait_state(pulp_server, task_id, "running")
    assert pulp_server.api("DELETE", f"tasks/{task_id}/").status_code == 200
    task = pulp_server.wait_task(task_id, timeout=20)
    assert task["state"] == "canceled" and task["error"] is None
    assert units(pulp_server, repo_id) == []
    # The repository is free again.
    after = _queue_import(pulp_server, repo_id, upload_text("after"), "after")
    assert pulp_server.wait_task(after)["state"] == "finished"


def test_list_get_and_cancel_edge_cases(pulp_server, make_repo, upload_text):
    repo_id = make_repo()
    upload_id = upload_text("list")
    ids = [_queue_import(pulp_server, repo_id, upload_id, name) for name in ("l1", "l2")]
    for task_id in ids:
        pulp_server.wait_task(task_id)
    listed = pulp_server.api("GET", "tasks/", params={"tag": f"pulp:repository:{repo_id}"}).json()
    assert [t["task_id"] for t in listed] == ids
    both = pulp_server.api("GET", "tasks/", params=[("tag", f"pulp:repository:{repo_id}"),
                                                    ("tag", "pulp:action:import_upload")]).json()
    assert [t["task_id"] for t in both] == ids
    assert pulp_server.api("GET", "tasks/", params={"tag": f"pulp:repository:{unique()}"}).json() == []
    # Canceling a finished task changes nothing (Pulp 2 answered 200 too).
    assert pulp_server.api("DELETE", f"tasks/{ids[0]}/").status_code == 200
    assert pulp_server.api("GET", f"tasks/{ids[0]}/").json()["state"] == "finished"
    assert_error(pulp_server.api("GET", "tasks/nosuch/"), 404, "PLP0009")
    assert_error(pulp_server.api("DELETE", "tasks/nosuch/"), 404, "PLP0009")


def test_delivered_messages_are_pruned_from_the_embedded_broker(pulp_server, make_repo, upload_text):
    repo_id = make_repo()
    upload_id = upload_text("prune")
    assert pulp_server.wait_task(_queue_import(pulp_server, repo_id, upload_id, "x1"))["state"] == "finished"
    broker = pulp_server.data_dir / "celery" / "broker.sqlite"

    def delivered() -> int:
        with sqlite3.connect(broker, timeout=10) as conn:
            return conn.execute("SELECT count(*) FROM kombu_message WHERE visible = 0").fetchone()[0]

    assert delivered() >= 1
    assert prune_sqlite_broker(pulp_server.settings) >= 1
    assert delivered() == 0
    # The broker still carries tasks afterwards.
    assert pulp_server.wait_task(_queue_import(pulp_server, repo_id, upload_id, "x2"))["state"] == "finished"


def test_orphan_removal_excludes_repository_tasks(pulp_server, make_repo, upload_text):
    """Orphan removal waits for earlier repository tasks, and later ones wait for it."""
    one, two = make_repo(), make_repo()
    upload_id = upload_text("exclusive")
    before = _queue_import(pulp_server, one, upload_id, "before", sleep=1.0)
    response = pulp_server.api("DELETE", "content/orphans/test_file/")
    assert response.status_code == 202, response.text
    orphans = response.json()["spawned_tasks"][0]["task_id"]
    after = _queue_import(pulp_server, two, upload_id, "after")
    reports = [pulp_server.wait_task(t) for t in (before, orphans, after)]
    assert [r["state"] for r in reports] == ["finished"] * 3, reports
    (_, before_end), (orphans_start, orphans_end), (after_start, _) = (_times(r) for r in reports)
    assert before_end <= orphans_start and orphans_end <= after_start
