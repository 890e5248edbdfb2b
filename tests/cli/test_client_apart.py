"""pulp-admin apart from the server: its import boundary, and an installation of its own.

Pulp 2 shipped pulp-admin-client separately from the server. Ours is ``client_admin/`` (the core),
``extensions_admin/`` (the docker commands) and ``common/`` (pure shared code), each with its own
``setup.py``; none of them may need the database, the task queue or the web stack.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from admin_runner import Admin, server_address

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
CLIENT_FOLDERS = ("client_admin", "common", "extensions_admin")
SERVER_MODULES = ("mongoengine", "pymongo", "celery", "kombu", "starlette", "uvicorn", "httpx", "bcrypt",
                  "pulp_platform", "pulp_docker.plugins")


def test_the_client_imports_nothing_of_the_server() -> None:
    """Every module of the client core and of the docker extension, imported together, pulls in no
    server framework and no server code."""
    code = f"""
import importlib, pkgutil, sys
import pulp_admin_client, pulp_docker.extensions.admin
for package in (pulp_admin_client, pulp_docker.extensions.admin):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
importlib.import_module("pulp_admin_client.admin").root.get_command(None, "docker")
bad = sorted(m for m in sys.modules if any(m == s or m.startswith(s + ".") for s in {SERVER_MODULES!r}))
loaded = sorted(m for m in sys.modules if m.startswith(("pulp_admin_client.", "pulp_docker.extensions.")))
print(bad, len(loaded))
sys.exit(1 if bad or len(loaded) < 10 else 0)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv holding only the three client folders' distributions and their dependencies.

    The folders are copied first, so the build writes nothing into the checkout."""
    work = tmp_path_factory.mktemp("client-apart")
    for folder in CLIENT_FOLDERS:
        shutil.copytree(ROOT / folder, work / folder, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info",
                                                                                     "build"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                              *(str(work / f) for f in CLIENT_FOLDERS)],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    return venv


@pytest.mark.slow
def test_the_client_installs_alone_without_the_servers_dependencies(client_venv: Path) -> None:
    python = str(client_venv / "bin" / "python")
    freeze = subprocess.run([python, "-m", "pip", "freeze"], capture_output=True, text=True, check=True).stdout
    names = {line.split("==")[0].split(" @ ")[0].lower().replace("_", "-") for line in freeze.splitlines()}
    assert {"pulp-admin-client", "pulp-docker-common", "pulp-docker-admin-extensions", "click"} <= names, names
    assert not names & {"mongoengine", "pymongo", "celery", "starlette", "uvicorn", "pulp-docker"}, names
    for module in ("pulp_platform", "mongoengine", "pulp_docker.plugins"):
        # cwd away from the checkout: ``python -c`` puts the working directory on sys.path.
        probe = subprocess.run([python, "-c", f"import {module}"], capture_output=True, text=True, cwd=client_venv)
        assert probe.returncode != 0 and "ModuleNotFoundError" in probe.stderr, (module, probe.stderr)
    version = subprocess.run([str(client_venv / "bin" / "pulp-admin"), "--version"], capture_output=True,
                             text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("pulp-admin, version "), version


@pytest.mark.slow
def test_the_client_installed_alone_uploads_and_searches(client_venv: Path, docker_server, tmp_path: Path) -> None:
    """The separately installed pulp-admin drives the real server: create, upload with a tag, search."""
    host, port = server_address(docker_server)
    home = tmp_path / "home"
    home.mkdir()
    admin = Admin(home, host, port, tuple(docker_server.auth), binary=client_venv / "bin" / "pulp-admin")
    repo_id = f"apart-{uuid.uuid4().hex[:8]}"
    admin.ok("docker", "repo", "create", "--repo-id", repo_id)
    admin.ok("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f", str(DATA / "skopeo-v2s2.tar"),
             "--tag", "1.0")
    facts = json.loads((DATA / "FACTS.json").read_text())
    tags = admin.json("docker", "repo", "search", "tag", "--repo-id", repo_id)
    assert [(t["metadata"]["name"], t["metadata"]["manifest_digest"]) for t in tags] == \
        [("1.0", facts["skopeo-v2s2.tar"]["manifest_digest_of_file_bytes"])], tags
    admin.ok("docker", "repo", "delete", "--repo-id", repo_id)
