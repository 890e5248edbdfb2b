"""Workers: a killed worker's running task is failed (PLP0049) and its repository is freed."""

from __future__ import annotations

import signal
import time

from platform_helpers import unique


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _worker_names(server):
    return {w["name"] for w in server.api("GET", "status/", auth=None).json()["known_workers"]}


def test_dead_worker_task_is_failed_and_its_lock_released(start_pulp_server, tmp_path):
    server = start_pulp_server(workers=0, worker_timeout=2)
    doomed = server.start_worker(name="doomed@test")
    _wait(lambda: "doomed@test" in _worker_names(server), 60, "the worker's first heartbeat")

    repo_id = unique()
    server.create_repo(repo_id, importer_type_id="test_importer", distributors=[])
    (tmp_path / "f").write_text("x")
    upload_id = server.upload_file(tmp_path / "f")

    def queue(name, **metadata):
        response = server.api("POST", f"repositories/{repo_id}/actions/import_upload/", json={
            "upload_id": upload_id, "unit_type_id": "test_file", "unit_key": {"name": name},
            "unit_metadata": metadata})
        assert response.status_code == 202, response.text
        return response.json()["spawned_tasks"][0]["task_id"]

    stuck = queue("stuck", sleep=600)
    _wait(lambda: server.api("GET", f"tasks/{stuck}/").json()["state"] == "running", 60, "the task to start")
    follower = queue("next")

    # The doomed worker has taken the follower too (it keeps re-queueing it while the repository is busy).
    _wait(lambda: server.api("GET", f"tasks/{follower}/").json()["worker_name"] == "doomed@test", 30,
          "the worker to take the second task")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    task = server.wait_task(stuck, timeout=60)
    assert task["state"] == "error", task
    assert task["error"]["code"] == "PLP0049"
    assert "doomed@test" in task["error"]["description"]
    assert task["finish_time"] and task["exception"]
    _wait(lambda: "doomed@test" not in _worker_names(server), 30, "the dead worker to leave status/")
    assert server.api("GET", f"tasks/{follower}/").json()["state"] == "waiting"

    # A new worker takes the repository the dead one held, and the queued task runs.
    server.start_worker(name="healthy@test")
    assert server.wait_task(follower, timeout=60)["state"] == "finished"

    # A second worker may not take a live worker's name.
    duplicate = server.start_worker(name="healthy@test")
    assert duplicate.wait(60) != 0
    log = server.log_path.with_name(f"worker-{len(server.workers) - 1}.log").read_text()
    assert "a live worker is already named healthy@test" in log
