"""Crashes leave nothing: kill -9 of the whole server at points of an import, then a restart on the same data dir.

The import runs through the test plugin's pausing docker importer and distributor (the real ingest and
conduit, stopping for good after a named write and saying so in the task's progress), so each kill
lands where it is meant to. After the restart the task is failed with PLP0052, the repository holds
exactly what it held before the import, nothing is left in the staging dir, and the repository takes
the next import.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import imagegen
import pytest
import requests
from platform_helpers import unique, units

SKOPEO_TAR = Path(__file__).resolve().parents[1] / "data" / "skopeo-v2s2.tar"
ACCEPT = ", ".join(["application/vnd.docker.distribution.manifest.v2+json",
                    "application/vnd.oci.image.manifest.v1+json"])


class Crashable:
    """One server for the module, killed and started again by the tests in turn."""

    def __init__(self, tools: Any, base: Path) -> None:
        self.tools = tools
        self.server = tools.start(base)

    def crash(self, *, database: bool = True) -> Any:
        self.tools.kill(self.server, database=database)
        self.server = self.tools.restart(self.server)
        return self.server


@pytest.fixture(scope="module")
def crashable(crash_tools: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crashable]:
    holder = Crashable(crash_tools, tmp_path_factory.mktemp("crash"))
    yield holder
    holder.server.stop()


def _repo(server: Any, pause_file: Path | None = None) -> str:
    repo_id = unique()
    config: dict[str, Any] = {"repo-registry-id": repo_id, "protected": False}
    if pause_file is not None:
        config["pause_file"] = str(pause_file)
    server.create_repo(repo_id, importer_type_id="test_docker_pausing_importer", distributors=[{
        "distributor_id": "web", "distributor_type_id": "test_docker_pausing_distributor",
        "distributor_config": config, "auto_publish": True}])
    return repo_id


def _queue_import(server: Any, repo_id: str, path: Path, **metadata: Any) -> str:
    response = server.api("POST", f"repositories/{repo_id}/actions/import_upload/", json={
        "upload_id": server.upload_file(path), "unit_type_id": "docker_image", "unit_key": {},
        "unit_metadata": metadata})
    assert response.status_code == 202, response.text
    return response.json()["spawned_tasks"][0]["task_id"]


def _wait(predicate, what: str, timeout: float = 90):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _wait_paused(server: Any, task_id: str, step: str) -> None:
    def paused() -> bool:
        report = server.api("GET", f"tasks/{task_id}/").json()
        assert report["state"] in ("waiting", "running"), report
        return report["progress_report"].get("test", {}).get("paused_at") == step

    _wait(paused, f"the import to pause at {step}")


def _held(server: Any, repo_id: str) -> set[tuple[str, str]]:
    """What the repository holds: (type, digest) and, for tags, (docker_tag, name -> manifest digest)."""
    held = set()
    for row in units(server, repo_id):
        meta = row["metadata"]
        key = f"{meta['name']}->{meta['manifest_digest']}" if row["unit_type_id"] == "docker_tag" else meta["digest"]
        held.add((row["unit_type_id"], key))
    return held


def _staged(server: Any) -> list[str]:
    tmp = server.data_dir / "content" / "tmp"
    return sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*")) if tmp.is_dir() else []


def _assert_undone(server: Any, task_id: str, repo_id: str, held_before: set) -> None:
    task = server.api("GET", f"tasks/{task_id}/").json()
    assert task["state"] == "error", task
    assert task["error"]["code"] == "PLP0052", task
    assert "server stopped while the task ran" in task["error"]["description"]
    assert _held(server, repo_id) == held_before
    # Nothing of the killed task, nor loose files; another task's own dir may exist while it runs (the
    # auto-publish recovery queued may be running already), and an upload that still exists keeps its
    # finished stream (``upload_streams.recover``).
    assert [p for p in _staged(server) if not p.startswith(("task-", "stream-")) or p.startswith(f"task-{task_id}")
            or p.startswith("stream-") and not (server.data_dir / "uploads" / p.split("/")[0][7:]).exists()] == []


def _assert_takes_an_import(server: Any, repo_id: str) -> None:
    """The repository's lock was released: the next import runs to the end."""
    task = server.wait_task(_queue_import(server, repo_id, SKOPEO_TAR, tag="after"))
    assert task["state"] == "finished", task


@pytest.mark.slow
@pytest.mark.parametrize("compressed", [False, True], ids=["tar", "tar.gz"])
def test_kill_during_store_undoes_the_import(crashable: Crashable, tmp_path: Path, compressed: bool) -> None:
    server = crashable.server
    imagegen.make_image(tmp_path / "dir", 256 * 1024, small_layers=2, seed=11 + compressed)
    tarball = imagegen.tar_dir(tmp_path / "dir", tmp_path / "image.tar", compress=compressed)
    repo_id = _repo(server)
    task_id = _queue_import(server, repo_id, tarball, tag="latest", pause_at="store")
    _wait_paused(server, task_id, "store")
    # The blobs and the manifest are visible already (one batch of associations), the tag not yet.
    assert {kind for kind, _ in _held(server, repo_id)} == {"docker_blob", "docker_manifest"}
    assert _staged(server), "the import had staged files when it was killed"

    server = crashable.crash()
    _assert_undone(server, task_id, repo_id, set())
    assert server.api("GET", f"repositories/{repo_id}/").json()["content_unit_counts"] == {}
    _assert_takes_an_import(server, repo_id)


@pytest.mark.slow
def test_kill_after_a_tag_moved_puts_it_back(crashable: Crashable, tmp_path: Path) -> None:
    server = crashable.server
    repo_id = _repo(server)
    for seed in (21, 22):
        imagegen.make_image(tmp_path / f"dir{seed}", 64 * 1024, small_layers=1, seed=seed)
        imagegen.tar_dir(tmp_path / f"dir{seed}", tmp_path / f"{seed}.tar")
    first = server.wait_task(_queue_import(server, repo_id, tmp_path / "21.tar", tag="latest"))
    assert first["state"] == "finished", first
    before = _held(server, repo_id)

    task_id = _queue_import(server, repo_id, tmp_path / "22.tar", tag="latest", pause_at="tagged")
    _wait_paused(server, task_id, "tagged")
    moved = {key for kind, key in _held(server, repo_id) if kind == "docker_tag"}
    assert moved != {key for kind, key in before if kind == "docker_tag"}  # latest points at the new image

    server = crashable.crash()
    _assert_undone(server, task_id, repo_id, before)
    _assert_takes_an_import(server, repo_id)


@pytest.mark.slow
def test_kill_during_publish_undoes_the_import_and_publishes_again(crashable: Crashable, tmp_path: Path) -> None:
    server = crashable.server
    pause_file = tmp_path / "pause-publish"
    pause_file.touch()
    repo_id = _repo(server, pause_file)
    task_id = _queue_import(server, repo_id, SKOPEO_TAR, tag="latest")
    _wait_paused(server, task_id, "publish")
    manifest_url = f"/v2/{repo_id}/manifests/latest"
    assert requests.get(server.url + manifest_url, headers={"Accept": ACCEPT}, timeout=30).status_code == 200

    server = crashable.crash()
    _assert_undone(server, task_id, repo_id, set())
    # Recovery queued an auto-publish: the registry no longer serves what the repository no longer holds.
    republished = _wait(lambda: [t for t in server.api("GET", "tasks/", params={
        "tag": [f"pulp:repository:{repo_id}", "pulp:action:auto_publish"]}).json() if t["state"] == "finished"],
        "the auto-publish recovery queued")
    assert len(republished) == 1
    assert requests.get(server.url + manifest_url, headers={"Accept": ACCEPT}, timeout=30).status_code == 404
    _assert_takes_an_import(server, repo_id)


@pytest.mark.slow
def test_a_database_left_running_by_a_killed_run_is_stopped_at_the_next_start(crashable: Crashable) -> None:
    server = crashable.server
    repo_id = _repo(server)
    old_db = json.loads((server.data_dir / "run" / "db.pid").read_text())["pid"]
    killed = crashable.tools.kill(server, database=False)
    assert old_db not in killed
    os.kill(old_db, 0)  # the embedded database outlived the run that started it (its own session)

    crashable.server = server = crashable.tools.restart(server)
    new_db = json.loads((server.data_dir / "run" / "db.pid").read_text())["pid"]
    assert new_db != old_db
    assert not Path(f"/proc/{old_db}").exists() or b"secantusd" not in Path(f"/proc/{old_db}/cmdline").read_bytes()
    assert server.api("GET", f"repositories/{repo_id}/").status_code == 200
    _assert_takes_an_import(server, repo_id)


def test_starting_another_process_does_not_fail_a_live_workers_task(crashable: Crashable) -> None:
    """``pulp-server api`` on the same database runs start-up recovery: a task running on a live
    worker (its heartbeat fresh, its pid alive) is left running, and so is its staging dir."""
    server = crashable.server
    repo_id = unique()
    server.create_repo(repo_id, importer_type_id="test_importer", distributors=[])
    (server.data_dir.parent / "f").write_text("x")
    response = server.api("POST", f"repositories/{repo_id}/actions/import_upload/", json={
        "upload_id": server.upload_file(server.data_dir.parent / "f"), "unit_type_id": "test_file",
        "unit_key": {"name": "slow"}, "unit_metadata": {"sleep": 600}})
    task_id = response.json()["spawned_tasks"][0]["task_id"]
    _wait(lambda: server.api("GET", f"tasks/{task_id}/").json()["state"] == "running", "the task to start")
    staging = server.data_dir / "content" / "tmp" / f"task-{task_id}"
    assert staging.is_dir()

    env = {**server.env, "PULP_MONGO_URI": server.mongo_uri}
    api = subprocess.Popen([*crashable.tools.command(), "api", "--data-dir", str(server.data_dir), "--bind",
                            "127.0.0.1:0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           stdin=subprocess.DEVNULL, text=True)
    try:
        assert api.stdout is not None
        assert api.stdout.readline().startswith("Listening on"), "pulp-server api did not start"
    finally:
        api.terminate()
        api.wait(60)
    assert server.api("GET", f"tasks/{task_id}/").json()["state"] == "running"
    assert staging.is_dir()
    assert server.api("DELETE", f"tasks/{task_id}/").status_code == 200
    assert server.wait_task(task_id)["state"] == "canceled"
