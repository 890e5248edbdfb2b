"""The real server for tests: ``pulp-server run`` as a subprocess (SecantusDB + worker + HTTP on loopback).

``pulp_server`` (session) is shared by every test; ``start_pulp_server`` (session) starts more, for
tests that need their own settings or will break the server. Each server gets a fresh data dir, port 0,
an empty config file (so ``/etc/pulp/server.conf`` and ``PULP_*`` variables of the caller do not leak
in) and the test plugin (``tests/plugins_for_tests``) through ``PULP_PLUGIN_MODULES``.

``PulpServer`` helpers (paths are relative to ``/pulp/api/v2/``)::

    server.api("GET", "repositories/")                 -> requests.Response (basic auth applied)
    server.create_repo("r1")                           -> repo JSON (docker importer + web distributor)
    upload_id = server.upload_file(path)               -> POST + chunked PUTs
    task = server.import_upload("r1", upload_id, "docker_blob", unit_key={...})   -> finished/errored task
    server.wait_task(task_id_or_href_or_call_report)   -> final task report
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import requests

from pulp_platform.config import Settings

TESTS_DIR = Path(__file__).resolve().parent
API = "/pulp/api/v2/"
TEST_PLUGIN_MODULE = "plugins_for_tests.fileplugin"
FINAL_STATES = ("finished", "error", "canceled", "skipped")
START_TIMEOUT = 90.0
STOP_TIMEOUT = 60.0


def _pulp_server_command() -> list[str]:
    script = Path(sys.executable).parent / "pulp-server"
    return [str(script)] if script.exists() else [sys.executable, "-m", "pulp_platform.server_cli"]


@dataclass
class PulpServer:
    """A running ``pulp-server run`` and helpers to drive its REST API."""

    data_dir: Path
    settings: Settings
    env: dict[str, str]
    process: subprocess.Popen
    log_path: Path
    url: str = ""
    mongo_uri: str = ""
    auth: tuple[str, str] = ("admin", "admin")
    workers: list[subprocess.Popen] = field(default_factory=list)

    # -- HTTP ----------------------------------------------------------------------------------
    def api_url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        if path.startswith("/"):
            return self.url + path
        return self.url + API + path

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One API call; ``path`` is relative to /pulp/api/v2/ (or absolute: ``/pulp/...``, ``/v2/...``)."""
        kwargs.setdefault("auth", self.auth)
        kwargs.setdefault("timeout", 60)
        return requests.request(method, self.api_url(path), **kwargs)

    def wait_task(self, task: str | dict, timeout: float = 120) -> dict:
        """Poll a task (id, href, task report or call report) until finished/error/canceled/skipped."""
        if isinstance(task, dict):
            task = task["spawned_tasks"][0]["task_id"] if "spawned_tasks" in task and "state" not in task \
                else task["task_id"]
        path = task if "/" in task else f"tasks/{task}/"
        deadline = time.monotonic() + timeout
        while True:
            response = self.api("GET", path)
            assert response.status_code == 200, response.text
            report = response.json()
            if report["state"] in FINAL_STATES:
                return report
            if time.monotonic() > deadline:
                raise TimeoutError(f"task {task} still {report['state']} after {timeout}s: {report}")
            time.sleep(0.05)

    # -- uploads -------------------------------------------------------------------------------
    def upload_file(self, path: str | os.PathLike, chunk_size: int = 1024 * 1024) -> str:
        """Create an upload and PUT the file into it in chunks; returns the upload id."""
        response = self.api("POST", "content/uploads/")
        assert response.status_code == 201, response.text
        upload_id = response.json()["upload_id"]
        offset = 0
        with open(path, "rb") as handle:
            while chunk := handle.read(chunk_size):
                put = self.api("PUT", f"content/uploads/{upload_id}/{offset}/", data=chunk)
                assert put.status_code == 200, put.text
                offset += len(chunk)
        return upload_id

    def import_upload(self, repo_id: str, upload_id: str, unit_type_id: str, unit_key: dict | None = None,
                      unit_metadata: dict | None = None, override_config: dict | None = None,
                      timeout: float = 120) -> dict:
        """``actions/import_upload/`` then wait; returns the final task report (finished or not)."""
        body: dict[str, Any] = {"upload_id": upload_id, "unit_type_id": unit_type_id, "unit_key": unit_key or {}}
        if unit_metadata is not None:
            body["unit_metadata"] = unit_metadata
        if override_config is not None:
            body["override_config"] = override_config
        response = self.api("POST", f"repositories/{repo_id}/actions/import_upload/", json=body)
        assert response.status_code == 202, response.text
        return self.wait_task(response.json(), timeout=timeout)

    # -- repositories --------------------------------------------------------------------------
    def create_repo(self, repo_id: str, *, importer_type_id: str = "docker_importer",
                    distributors: list[dict] | None = None, registry_id: str | None = None,
                    **fields: Any) -> dict:
        """Create a repository (docker-like by default, as ``pulp-admin docker repo create``); asserts 201."""
        if distributors is None:
            distributors = [{
                "distributor_id": "docker_web_distributor_name_cli",
                "distributor_type_id": "docker_distributor_web",
                "distributor_config": {"repo-registry-id": registry_id or repo_id, "protected": False},
                "auto_publish": True,
            }]
        if importer_type_id == "docker_importer":
            fields.setdefault("notes", {"_repo-type": "docker-repo"})
        body = {"id": repo_id, "importer_type_id": importer_type_id, "distributors": distributors, **fields}
        response = self.api("POST", "repositories/", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def delete_repo(self, repo_id: str) -> dict:
        response = self.api("DELETE", f"repositories/{repo_id}/")
        assert response.status_code == 202, response.text
        return self.wait_task(response.json())

    # -- processes -----------------------------------------------------------------------------
    def start_worker(self, name: str | None = None) -> subprocess.Popen:
        """An extra ``pulp-server worker`` on this server's database and broker (stopped at teardown)."""
        command = [*_pulp_server_command(), "worker", "--data-dir", str(self.data_dir)]
        command += ["--name", name] if name else []
        env = {**self.env, "PULP_MONGO_URI": self.mongo_uri}
        log_path = self.log_path.with_name(f"worker-{len(self.workers)}.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        self.workers.append(proc)
        return proc

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def terminate(self) -> None:
        """Send SIGTERM to the server and its extra workers without waiting (``stop`` waits)."""
        for proc in [*self.workers, self.process]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        """SIGTERM everything started; fail loudly if the server does not exit by itself."""
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"pulp-server did not stop within {STOP_TIMEOUT}s of SIGTERM; "
                                     f"log:\n{self.log_tail()}") from None
        assert self.process.returncode is not None


def start_server(base: Path, *, workers: int = 1, **settings: Any) -> PulpServer:
    """Start ``pulp-server run`` in ``base/data`` (log in ``base/server.log``) and wait until it answers."""
    base.mkdir(parents=True, exist_ok=True)
    data_dir = base / "data"
    config = base / "server.conf"
    config.write_text("[server]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULP_")}
    env.update({
        "PULP_CONFIG": str(config),
        "PULP_PLUGIN_MODULES": TEST_PLUGIN_MODULE,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS_DIR), os.environ.get("PYTHONPATH")])),
    })
    env.update({f"PULP_{k.upper()}": str(v) for k, v in settings.items()})
    resolved = replace(Settings(), data_dir=data_dir, plugin_modules=TEST_PLUGIN_MODULE, workers=workers,
                       **settings)
    log_path = base / "server.log"
    command = [*_pulp_server_command(), "run", "--data-dir", str(data_dir), "--bind", "127.0.0.1:0",
               "--workers", str(workers)]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    server = PulpServer(data_dir=data_dir, settings=resolved, env=env, process=process, log_path=log_path)
    try:
        _wait_until_up(server, workers)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_up(server: PulpServer, workers: int) -> None:
    info_path = server.data_dir / "run" / "server.json"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"pulp-server exited with {server.process.returncode}; log:\n{server.log_tail()}")
        if not server.url and info_path.exists():
            try:
                info = json.loads(info_path.read_text())
                server.url, server.mongo_uri = info["url"], info["mongo_uri"]
            except (ValueError, KeyError):
                pass  # being written
        if server.url:
            try:
                status = requests.get(server.api_url("status/"), timeout=5)
                if status.status_code == 200 and len(status.json()["known_workers"]) >= workers:
                    return
            except requests.RequestException:
                pass
        time.sleep(0.1)
    raise RuntimeError(f"pulp-server did not come up within {START_TIMEOUT}s; log:\n{server.log_tail()}")


@pytest.fixture(scope="session")
def start_pulp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., PulpServer]]:
    """A factory for extra servers: ``start_pulp_server(workers=0, worker_timeout=2)`` (settings as kwargs;
    ``base=`` puts its data dir somewhere else, e.g. on a small filesystem)."""
    started: list[PulpServer] = []

    def start(base: Path | None = None, **settings: Any) -> PulpServer:
        server = start_server(base or tmp_path_factory.mktemp("pulp-server"), **settings)
        started.append(server)
        return server

    yield start
    # Shutting down takes seconds (workers finish their tasks first): let all servers do it at once.
    for server in started:
        server.terminate()
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def pulp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulpServer]:
    """The shared server for the whole session."""
    server = start_server(tmp_path_factory.mktemp("pulp-server-shared"))
    yield server
    server.stop()


# -- crash tests: kill -9 a whole server, then start it again on the same data dir -------------------------

def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (its workers and the embedded database, whatever their session)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def _is_database(pid: int) -> bool:
    try:
        return b"secantusd" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def kill_server(server: PulpServer, *, database: bool = True) -> list[int]:
    """SIGKILL ``pulp-server run`` with its workers, the extra workers and (unless ``database`` is False)
    the embedded database, all at once, as a power cut would; returns the pids killed once they are gone."""
    pids = [server.process.pid, *_descendants(server.process.pid)]
    for worker in server.workers:
        pids += [worker.pid, *_descendants(worker.pid)]
    if not database:
        pids = [pid for pid in pids if not _is_database(pid)]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for proc in [server.process, *server.workers]:
        if proc.pid in pids:
            proc.wait(STOP_TIMEOUT)
    deadline = time.monotonic() + STOP_TIMEOUT
    while not all(_gone(pid) for pid in pids):
        assert time.monotonic() < deadline, f"processes {pids} survived SIGKILL"
        time.sleep(0.05)
    return pids


def restart_server(server: PulpServer, **settings: Any) -> PulpServer:
    """``pulp-server run`` again on a killed server's data dir (its log moves to ``server.log.<n>``)."""
    base = server.data_dir.parent
    n = len(list(base.glob("server.log.*"))) + 1
    if server.log_path.exists():
        server.log_path.rename(base / f"server.log.{n}")
    # The killed run could not remove it; a stale one would point the start-up wait at a dead port.
    (server.data_dir / "run" / "server.json").unlink(missing_ok=True)
    return start_server(base, **settings)


@dataclass(frozen=True)
class CrashTools:
    """What crash tests use to start, kill -9 and restart servers (conftest modules cannot be imported)."""

    start: Callable[..., PulpServer] = start_server
    kill: Callable[..., list[int]] = kill_server
    restart: Callable[..., PulpServer] = restart_server
    command: Callable[[], list[str]] = _pulp_server_command


@pytest.fixture(scope="session")
def crash_tools() -> CrashTools:
    return CrashTools()
