"""Authentication: Basic everywhere but status/, login tokens, and 401 bodies."""

from __future__ import annotations

import requests
from platform_helpers import assert_error


def test_status_needs_no_credentials(pulp_server):
    response = requests.get(pulp_server.api_url("status/"), timeout=30)
    assert response.status_code == 200
    status = response.json()
    assert status["database_connection"] == {"connected": True}
    assert status["messaging_connection"] == {"connected": True}
    assert status["versions"]["platform_version"]
    assert status["known_workers"] and all(w["last_heartbeat"] for w in status["known_workers"])


def test_missing_or_wrong_credentials_are_401(pulp_server):
    for path in ("repositories/", "tasks/", "content/uploads/", "plugins/types/"):
        body = assert_error(pulp_server.api("GET", path, auth=None), 401, "PLP0025")
        assert body["error_message"] == "Authentication failed."
    assert_error(pulp_server.api("GET", "repositories/", auth=("admin", "wrong")), 401, "PLP0025")
    assert_error(pulp_server.api("GET", "repositories/", auth=("nobody", "admin")), 401, "PLP0025")
    assert_error(pulp_server.api("GET", "repositories/", auth=None, headers={"Authorization": "Basic !!!"}),
                 401, "PLP0025")
    assert_error(pulp_server.api("GET", "repositories/", auth=None, headers={"Authorization": "Bearer nope"}),
                 401, "PLP0025")
    # Nothing is created without credentials.
    assert_error(pulp_server.api("POST", "content/uploads/", auth=None), 401, "PLP0025")
    assert_error(pulp_server.api("PUT", "content/uploads/6d1b0cd6-2b7e-4a3e-9a55-2a1c0d1f0000/0/", auth=None,
                                 data=b"x"), 401, "PLP0025")


def test_login_token_authenticates(pulp_server):
    assert_error(pulp_server.api("POST", "actions/login/", auth=("admin", "wrong")), 401, "PLP0025")
    response = pulp_server.api("POST", "actions/login/")
    assert response.status_code == 200, response.text
    token = response.json()["key"]
    assert response.json()["certificate"] == token
    bearer = {"Authorization": f"Bearer {token}"}
    assert pulp_server.api("GET", "repositories/", auth=None, headers=bearer).status_code == 200
    assert_error(pulp_server.api("GET", "repositories/", auth=None, headers={"Authorization": f"Bearer {token}x"}),
                 401, "PLP0025")
