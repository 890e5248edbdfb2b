"""The two servers compared: ours (``pulp-server run`` on the embedded default) and Debian's ``docker-registry``.

Both start on a fresh data dir, listen on loopback on a free port, and are stopped with SIGTERM.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import requests

AUTH = ("admin", "admin")
START_TIMEOUT = 120.0
TASK_TIMEOUT = 1800.0
# Loopback never goes through a proxy, whatever the environment says.
NO_PROXY = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


def venv_exe(name: str) -> str:
    """An executable installed beside the running Python (the project's .venv)."""
    path = Path(sys.executable).with_name(name)
    if not path.exists():
        raise SystemExit(f"{path} not found: install the project into this Python's environment first")
    return str(path)


# Installed with the test extras, and imported by celery's worker when present: the bench's own .venv
# carries them, an installation made for running the server does not.
TEST_ONLY_IMPORTS = ("greenlet", "psutil")


def runtime_venv(path: Path) -> str:
    """Make or bring up to date a venv at ``path`` with the server's runtime dependencies only, the way
    ``make run`` makes ``.venv`` on a fresh clone (devel/venv.sh, no extras); its ``pulp-server``."""
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "VENV": str(path.resolve())}
    result = subprocess.run(["bash", "-c", 'source devel/venv.sh && ensure_venv ""'], cwd=repo, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise SystemExit(f"--server-venv {path}: devel/venv.sh failed: {result.stdout.decode()[-500:]}")
    return str(path / "bin" / "pulp-server")


def test_only_imports(exe: str) -> list[str]:
    """Which of TEST_ONLY_IMPORTS the Python of ``exe`` can import (each adds to the server's memory)."""
    python = Path(exe).with_name("python")
    code = ("import importlib.util as u, sys; "
            f"print(' '.join(m for m in {TEST_ONLY_IMPORTS!r} if u.find_spec(m)))")
    return subprocess.run([str(python), "-c", code], stdout=subprocess.PIPE, text=True).stdout.split()


def _wait_for(url: str, proc: subprocess.Popen, log: Path, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.ConnectionError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with status {proc.returncode}; see {log}")
        time.sleep(0.1)
    raise SystemExit(f"{what} did not answer {url} within {START_TIMEOUT:.0f} s; see {log}")


def _stop(proc: subprocess.Popen | None, timeout: float = 60.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


class OurServer:
    """``pulp-server run --data-dir DIR --bind 127.0.0.1:0``; the URL comes from ``DIR/run/server.json``."""

    def __init__(self, data_dir: Path, log: Path, exe: str | None = None) -> None:
        self.data_dir, self.log = data_dir, log
        self.exe = exe or venv_exe("pulp-server")
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.listening_s = self.ready_s = self.stop_s = float("nan")
        self.session = requests.Session()
        self.session.auth = AUTH
        self.session.trust_env = False

    def start(self) -> OurServer:
        info = self.data_dir / "run" / "server.json"
        # The embedded default and nothing else: an empty config file in place of /etc/pulp/server.conf,
        # and none of the caller's PULP_* settings.
        config = self.data_dir.parent / "server.conf"
        config.write_text("[server]\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULP_")}
        env["PULP_CONFIG"] = str(config)
        started = time.monotonic()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([self.exe, "run", "--data-dir", str(self.data_dir),
                                          "--bind", "127.0.0.1:0"], stdout=log, stderr=log, env=env)
        deadline = started + START_TIMEOUT
        while not info.exists():  # written once the API listens
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"pulp-server run did not start; see {self.log}")
            time.sleep(0.01)
        self.listening_s = time.monotonic() - started
        self.url = json.loads(info.read_text())["url"]
        _wait_for(f"{self.url}/pulp/api/v2/status/", self.proc, self.log, "pulp-server run")
        self.ready_s = time.monotonic() - started
        return self

    def stop(self) -> None:
        """Ctrl-C, as a user stops ``make run``; ``stop_s`` is how long until every process of it is gone."""
        if self.proc is None or self.proc.poll() is not None:
            return
        procs = [self.process, *self.process.children(recursive=True)]
        started = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        _gone, alive = psutil.wait_procs(procs, timeout=60)
        self.stop_s = time.monotonic() - started
        for proc in alive:
            proc.kill()
        _stop(self.proc)

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, as registry clients name it."""
        return self.url.split("://", 1)[1]

    @property
    def port(self) -> int:
        return int(self.host.rsplit(":", 1)[1])

    @property
    def process(self) -> psutil.Process:
        assert self.proc is not None
        return psutil.Process(self.proc.pid)

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self.session.request(method, f"{self.url}/pulp/api/v2/{path}", timeout=60, **kwargs)
        response.raise_for_status()
        return response

    def wait_task(self, task_id: str) -> dict:
        deadline = time.monotonic() + TASK_TIMEOUT
        while time.monotonic() < deadline:
            task = self.api("GET", f"tasks/{task_id}/").json()
            if task["state"] in ("finished", "error", "canceled", "skipped"):
                if task["state"] != "finished":
                    raise SystemExit(f"task {task_id} ended {task['state']}: {json.dumps(task.get('error'))}")
                return task
            time.sleep(0.05)
        raise SystemExit(f"task {task_id} did not finish within {TASK_TIMEOUT:.0f} s")

    def run_tasks(self, response: requests.Response) -> None:
        for spawned in response.json().get("spawned_tasks") or []:
            self.wait_task(spawned["task_id"])

    def delete_repos(self, repo_ids: list[str]) -> None:
        """Delete repositories, then every orphaned unit and its file: the store is as before they came."""
        for repo_id in repo_ids:
            self.run_tasks(self.api("DELETE", f"repositories/{repo_id}/"))
        self.run_tasks(self.api("DELETE", "content/orphans/"))

    def blob_path(self, digest: str) -> Path:
        """Where the content store keeps a blob (``content/sha256/<ab>/<hex>``)."""
        hex_ = digest.split(":", 1)[1]
        return self.data_dir / "content" / "sha256" / hex_[:2] / hex_


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PeerRegistry:
    """``docker-registry serve CONFIG`` (CNCF distribution 2.8): filesystem storage, no auth, loopback."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.proc: subprocess.Popen | None = None
        self.host = ""
        self.storage = work / "storage"
        self.generation = 0

    def start(self) -> PeerRegistry:
        exe = shutil.which("docker-registry")
        if exe is None:
            raise SystemExit("docker-registry is not installed (apt-get install docker-registry)")
        self.work.mkdir(parents=True, exist_ok=True)
        self.host = f"127.0.0.1:{free_port()}"
        config = self.work / "registry.yml"
        config.write_text(f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
                          f"    rootdirectory: {self.storage}\nhttp:\n  addr: {self.host}\n")
        log = self.work / "registry.log"
        with open(log, "ab") as f:
            self.proc = subprocess.Popen([exe, "serve", str(config)], stdout=f, stderr=f)
        _wait_for(f"http://{self.host}/v2/", self.proc, log, "docker-registry")
        return self

    def stop(self) -> None:
        _stop(self.proc)

    def restart_empty(self) -> None:
        """Stop, remove all stored content, start again (on a new port, so no client cache applies)."""
        self.stop()
        shutil.rmtree(self.storage, ignore_errors=True)
        self.start()

    @property
    def process(self) -> psutil.Process:
        assert self.proc is not None
        return psutil.Process(self.proc.pid)

    def blob_path(self, digest: str) -> Path:
        hex_ = digest.split(":", 1)[1]
        return self.storage / "docker" / "registry" / "v2" / "blobs" / "sha256" / hex_[:2] / hex_ / "data"


class SendfileServer:
    """The ceiling of any HTTP server here: answers every GET with one file, sent by ``sendfile(2)``.

    Runs in a thread of the benchmark; one connection at a time, ``Connection: close``. What curl gets
    from it is what loopback TCP and the client allow, whatever the server does.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/blob"

    def __enter__(self) -> SendfileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(5)
        self.sock.close()

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn, open(self.path, "rb") as f:
                conn.settimeout(60)
                request = b""
                while b"\r\n\r\n" not in request and len(request) < 65536:
                    data = conn.recv(65536)
                    if not data:
                        break
                    request += data
                size = os.fstat(f.fileno()).st_size
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                             b"Content-Length: %d\r\nConnection: close\r\n\r\n" % size)
                conn.sendfile(f)
