"""Logins: the same bcrypt work for unknown users, 429 after repeated failures, the admin password at start-up.

Rate limits are tried on a server of their own (the shared one must not lock its tests out); clients at
different addresses are sockets bound to other loopback addresses (127.0.0.2, 127.0.0.3, ...).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import bcrypt
import mongoengine
import pytest
from starlette.testclient import TestClient

from pulp_platform import db
from pulp_platform.errors import InvalidValue

PULP_SERVER = Path(sys.executable).parent / "pulp-server"
API = "/pulp/api/v2/"


def basic(login: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


def call(server, method: str, path: str, credentials: tuple[str, str], source: str) -> tuple[int, dict, dict]:
    """One request from the loopback address ``source``; (status, headers, JSON body)."""
    url = urlsplit(server.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60, source_address=(source, 0))
    try:
        connection.request(method, path, headers={"Authorization": basic(*credentials)})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def assert_throttled_pulp(status: int, headers: dict, body: dict, scope: str) -> None:
    assert status == 429, body
    assert 1 <= int(headers["retry-after"]) <= 600
    assert body["http_status"] == 429 and body["error"]["code"] == "PLP0000"
    assert f"Too many failed logins {scope}" in body["error_message"]


def assert_throttled_registry(status: int, headers: dict, body: dict) -> None:
    assert status == 429, body
    assert int(headers["retry-after"]) >= 1
    assert [e["code"] for e in body["errors"]] == ["TOOMANYREQUESTS"]


# -- the same work whether or not the user exists --------------------------------------------------

@pytest.fixture
def in_process_app(pulp_server) -> Iterator[TestClient]:
    """The API app in this process, on the shared server's database (no lifespan: no reaper thread)."""
    from pulp_platform.webapi.app import create_app

    db.connect(pulp_server.mongo_uri)
    try:
        yield TestClient(create_app(pulp_server.settings, pulp_server.mongo_uri))
    finally:
        mongoengine.disconnect()


@pytest.fixture
def checkpw_calls(monkeypatch) -> list[bytes]:
    """Records every ``bcrypt.checkpw`` (the real one still runs)."""
    calls: list[bytes] = []
    real = bcrypt.checkpw

    def counting(password: bytes, hashed: bytes) -> bool:
        calls.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counting)
    return calls


@pytest.mark.parametrize("login, password", [
    ("no-such-user", "whatever"), ("admin", "not-the-password"), ("bad\nlogin", "x"), ("x" * 300, "y")],
    ids=["unknown-user", "wrong-password", "invalid-login", "overlong-login"])
def test_a_failed_login_costs_one_bcrypt_check_whether_or_not_the_user_exists(in_process_app, checkpw_calls,
                                                                              login, password):
    response = in_process_app.get(API + "repositories/", headers={"Authorization": basic(login, password)})
    assert response.status_code == 401
    assert len(checkpw_calls) == 1
    assert checkpw_calls[0].startswith(b"$2b$12$")  # the cost of the real hashes


def test_a_login_without_a_user_fails_even_if_the_dummy_check_passes(in_process_app, monkeypatch):
    # The dummy check is only there for its cost: its answer must not count.
    monkeypatch.setattr(bcrypt, "checkpw", lambda password, hashed: True)
    response = in_process_app.get(API + "repositories/", headers={"Authorization": basic("ghost", "x")})
    assert response.status_code == 401


def test_a_password_over_72_bytes_is_401_on_login_and_400_to_store():
    from pulp_platform.webapi.auth import hash_password

    with pytest.raises(InvalidValue) as raised:
        hash_password("x" * 73)
    assert raised.value.http_status == 400 and "72" in raised.value.description


def test_an_overlong_password_is_a_plain_401(pulp_server):
    response = pulp_server.api("GET", "repositories/", auth=("admin", "é" * 40))
    assert response.status_code == 401 and response.json()["error"]["code"] == "PLP0025"


# -- rate limits --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def limited_server(start_pulp_server):
    return start_pulp_server(workers=0, login_failures_per_client=3, login_failures_per_user=3,
                             login_failure_window=600)


def test_failures_from_one_address_are_429_there_only(limited_server):
    server, attacker, other = limited_server, "127.0.0.2", "127.0.0.3"
    for i in range(3):  # three different unknown users: only the address's count reaches the limit
        assert call(server, "GET", API + "repositories/", (f"guess{i}", "x"), attacker)[0] == 401
    # Now even the right password is refused from there, before it is looked at.
    assert_throttled_pulp(*call(server, "GET", API + "repositories/", ("admin", "admin"), attacker),
                          "from this address")
    assert_throttled_pulp(*call(server, "POST", API + "actions/login/", ("admin", "admin"), attacker),
                          "from this address")
    # Another client logs in, which resets nothing of the first one's.
    assert call(server, "GET", API + "repositories/", ("admin", "admin"), other)[0] == 200
    assert_throttled_pulp(*call(server, "GET", API + "repositories/", ("admin", "admin"), attacker),
                          "from this address")
    # The registry's Basic logins and its token endpoint count the same, in the registry's error format.
    assert_throttled_registry(*call(server, "GET", "/v2/", ("admin", "admin"), attacker))
    assert_throttled_registry(*call(server, "GET", "/v2/token?service=x&scope=registry:catalog:*",
                                    ("admin", "admin"), attacker))
    assert call(server, "GET", "/v2/", ("admin", "admin"), other)[0] == 200


def test_failures_for_one_user_name_are_429_from_any_address(limited_server):
    server = limited_server
    # A name with no user is counted like one with a user, so a 429 does not tell them apart.
    for source in ("127.0.0.4", "127.0.0.5"):
        assert call(server, "GET", API + "repositories/", ("ghost", "x"), source)[0] == 401
    assert call(server, "GET", "/v2/token?service=x", ("ghost", "y"), "127.0.0.6")[0] == 401  # registry counts
    assert_throttled_pulp(*call(server, "GET", API + "repositories/", ("ghost", "z"), "127.0.0.7"),
                          "for this user")
    assert_throttled_registry(*call(server, "GET", "/v2/", ("ghost", "z"), "127.0.0.7"))
    # Other users from that address are not affected.
    assert call(server, "GET", API + "repositories/", ("admin", "admin"), "127.0.0.7")[0] == 200


# -- the admin password at start-up ------------------------------------------------------------------

def run_cli(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    config = tmp_path / "server.conf"
    config.write_text("[server]\n")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PULP_")}
    return subprocess.run([str(PULP_SERVER), "run", "--data-dir", str(tmp_path / "data"), "--bind", "127.0.0.1:0",
                           *args], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                          env={**clean, "PULP_CONFIG": str(config), **(env or {})})


def assert_one_line_error(result: subprocess.CompletedProcess, *texts: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: bad configuration: "), result.stderr
    assert all(text in lines[0] for text in texts), lines[0]


def test_an_admin_password_over_72_bytes_stops_start_up_with_one_line(tmp_path):
    assert_one_line_error(run_cli(tmp_path, "--admin-password", "p" * 73), "admin_password", "73 bytes", "72")
    assert_one_line_error(run_cli(tmp_path, env={"PULP_ADMIN_PASSWORD": "ü" * 37}), "admin_password", "74 bytes")
    assert not (tmp_path / "data" / "db").exists()  # refused before the database started


def test_a_bad_admin_username_stops_start_up_with_one_line(tmp_path):
    assert_one_line_error(run_cli(tmp_path, env={"PULP_ADMIN_USERNAME": "ad min"}), "admin_username")


def test_admin_password_file_problems_are_one_line(tmp_path):
    missing = tmp_path / "nope"
    assert_one_line_error(run_cli(tmp_path, "--admin-password-file", str(missing)), "cannot read", str(missing))
    assert_one_line_error(run_cli(tmp_path, "--admin-password-file", str(tmp_path)), "cannot read", "directory")
    empty = tmp_path / "empty"
    empty.write_text("")
    assert_one_line_error(run_cli(tmp_path, "--admin-password-file", str(empty)), "is empty")
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    assert_one_line_error(run_cli(tmp_path, "--admin-password-file", str(secret), "--admin-password", "other"),
                          "both set")
    secret.write_text("q" * 80 + "\n")
    assert_one_line_error(run_cli(tmp_path, "--admin-password-file", str(secret)), "admin_password", "80 bytes")


def test_the_admin_password_can_come_from_a_file(start_pulp_server, tmp_path):
    secret = tmp_path / "admin-password"
    secret.write_text("from-a-file\n")
    server = start_pulp_server(workers=0, admin_password_file=str(secret))
    assert server.api("GET", "repositories/", auth=("admin", "from-a-file")).status_code == 200
    assert server.api("GET", "repositories/", auth=("admin", "admin")).status_code == 401
    assert "from-a-file" not in " ".join(server.process.args)
