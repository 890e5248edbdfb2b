"""``pulp-server`` itself: start-up refusals are one line on stderr; a Redis broker works."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

PULP_SERVER = Path(sys.executable).parent / "pulp-server"


def _run(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PULP_")}
    return subprocess.run([str(PULP_SERVER), *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env={**clean, **(env or {})})


def _one_line_error(result: subprocess.CompletedProcess, text: str) -> None:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and text in lines[0], result.stderr


def test_missing_config_file(tmp_path):
    result = _run("run", "--data-dir", str(tmp_path), "--config", str(tmp_path / "nope.conf"))
    _one_line_error(result, "config file not found")
    assert not (tmp_path / "db").exists()


def test_unknown_setting_in_config_file(tmp_path):
    config = tmp_path / "server.conf"
    config.write_text("[server]\nno_such_setting = 1\n")
    _one_line_error(_run("run", "--data-dir", str(tmp_path / "d"), "--config", str(config)), "no_such_setting")


def test_second_server_on_one_data_dir_is_refused(pulp_server):
    result = _run("run", "--data-dir", str(pulp_server.data_dir), "--bind", "127.0.0.1:0",
                  env={"PULP_CONFIG": str(pulp_server.data_dir.parent / "server.conf")})
    _one_line_error(result, "another pulp-server run is using")


def test_busy_port_is_refused_and_everything_stops(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = tmp_path / "server.conf"
        config.write_text("[server]\n")
        result = _run("run", "--data-dir", str(tmp_path / "d"), "--bind", f"127.0.0.1:{port}",
                      env={"PULP_CONFIG": str(config)})
    _one_line_error(result, "cannot listen on")
    assert not (tmp_path / "d" / "run" / "server.json").exists()


def test_worker_without_a_database_is_refused(tmp_path):
    config = tmp_path / "server.conf"
    config.write_text("[server]\n")
    result = _run("worker", "--data-dir", str(tmp_path), env={"PULP_CONFIG": str(config)})
    _one_line_error(result, "no mongo_uri configured")


@pytest.fixture
def redis_url(tmp_path):
    """A redis-server of our own on loopback (Debian's package), stopped afterwards."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed (devel/test installs it)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([server, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(20)


def test_redis_broker(start_pulp_server, redis_url, tmp_path):
    server = start_pulp_server(broker_url=redis_url)
    assert server.api("GET", "status/").json()["messaging_connection"] == {"connected": True}
    server.create_repo("redis-repo", importer_type_id="test_importer", distributors=[])
    (tmp_path / "f").write_text("through redis")
    task = server.import_upload("redis-repo", server.upload_file(tmp_path / "f"), "test_file",
                                unit_key={"name": "r"})
    assert task["state"] == "finished", task
    assert not (server.data_dir / "celery" / "broker.sqlite").exists()


def test_ctrl_c_stops_everything_in_order(tmp_path):
    """A terminal's Ctrl-C (SIGINT to the whole process group) leaves no process behind, quickly."""
    config = tmp_path / "server.conf"
    config.write_text("[server]\n")
    data_dir = tmp_path / "d"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULP_")}
    with open(tmp_path / "log", "wb") as log:
        # Two workers: one inside `run`, one a child process.
        run = subprocess.Popen([str(PULP_SERVER), "run", "--data-dir", str(data_dir), "--bind", "127.0.0.1:0",
                                "--workers", "2"],
                               env={**env, "PULP_CONFIG": str(config)}, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        info = data_dir / "run" / "server.json"
        deadline = time.monotonic() + 60
        while not info.exists():
            assert run.poll() is None and time.monotonic() < deadline, (tmp_path / "log").read_text()
            time.sleep(0.1)
        assert json.loads(info.read_text())["pid"] == run.pid
        children = psutil.Process(run.pid).children(recursive=True)
        assert len(children) == 2  # the database and the second worker
        os.killpg(run.pid, signal.SIGINT)
        run.wait(60)
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert alive == [], alive
        assert "pulp-server stopped" in (tmp_path / "log").read_text()
        # A worker that had to be killed would have been logged.
        assert "killing it" not in (tmp_path / "log").read_text()
        assert not info.exists()
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()


def test_api_role_alone_shares_database_broker_and_storage(pulp_server, tmp_path):
    """`pulp-server api` next to a `run`: it finds the database in run/server.json, queues to the same workers."""
    env = {**pulp_server.env}
    api = subprocess.Popen([str(PULP_SERVER), "api", "--data-dir", str(pulp_server.data_dir),
                            "--bind", "127.0.0.1:0"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
    try:
        line = api.stdout.readline()
        assert line.startswith("Listening on http://127.0.0.1:"), line
        url = line.split()[-1] + "/pulp/api/v2/"

        def call(method, path, **kwargs):
            return requests.request(method, url + path, auth=pulp_server.auth, timeout=60, **kwargs)

        deadline = time.monotonic() + 30
        while True:
            try:
                if call("GET", "status/").status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.1)
        repo_id = f"api-{os.getpid()}-{int(time.time() * 1000)}"
        created = call("POST", "repositories/", json={"id": repo_id, "importer_type_id": "test_importer"})
        assert created.status_code == 201, created.text
        # The repository is visible through the other API process: one database.
        assert pulp_server.api("GET", f"repositories/{repo_id}/").status_code == 200
        upload_id = call("POST", "content/uploads/").json()["upload_id"]
        assert call("PUT", f"content/uploads/{upload_id}/0/", data=b"via api").status_code == 200
        response = call("POST", f"repositories/{repo_id}/actions/import_upload/",
                        json={"upload_id": upload_id, "unit_type_id": "test_file", "unit_key": {"name": "a"}})
        assert response.status_code == 202, response.text
        # ...run by the `run`'s worker: one broker, one upload directory.
        task = pulp_server.wait_task(response.json())
        assert task["state"] == "finished", task
    finally:
        api.send_signal(signal.SIGTERM)
        assert api.wait(30) == 0
