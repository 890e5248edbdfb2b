"""Fixtures running the installed ``pulp-admin`` as a subprocess against the real server (``pulp_server``).

Each test gets its own HOME with a ``~/.pulp/admin.conf`` pointing at the server (``scheme = http``),
so logins and upload records never leak between tests or into the real home.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from admin_runner import Admin, server_address


@pytest.fixture
def admin(pulp_server: Any, tmp_path: Path) -> Admin:
    host, port = server_address(pulp_server)
    home = tmp_path / "home"
    home.mkdir()
    return Admin(home, host, port, tuple(pulp_server.auth))


@pytest.fixture
def docker_server(pulp_server: Any) -> Any:
    """The server, failing the test loudly if the docker importer is not installed in it."""
    importers = pulp_server.api("GET", "plugins/importers/").json()
    ids = {i.get("id") for i in importers}
    if "docker_importer" not in ids:
        pytest.fail(f"the docker importer is not installed in the server (importers: {sorted(ids)}); "
                    "these tests need it")
    return pulp_server


@pytest.fixture
def repo_id(admin: Admin, docker_server: Any) -> str:
    """A fresh docker repository, created with pulp-admin."""
    name = f"r-{uuid.uuid4().hex[:10]}"
    admin.ok("docker", "repo", "create", "--repo-id", name)
    return name
