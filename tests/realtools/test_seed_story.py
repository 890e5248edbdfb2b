"""The seed story, verbatim: docker build, skopeo to a dir, tar, pulp-admin upload, docker pull and run."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from cli.admin_runner import Admin, server_address
from engines import build_image, run

pytestmark = pytest.mark.slow


@pytest.fixture
def admin(pulp_server, tmp_path: Path) -> Admin:
    """The installed pulp-admin with its own HOME, pointed at the shared server."""
    host, port = server_address(pulp_server)
    home = tmp_path / "home"
    home.mkdir()
    return Admin(home, host, port, tuple(pulp_server.auth))


def test_seed_story(engine, skopeo, admin, registry, tmp_path: Path) -> None:
    """The built image comes back through pulp with the same id, and runs."""
    built = build_image(engine, "rt-seed", "1.0")
    folder = Path(tempfile.mkdtemp(prefix="seed-", dir=tmp_path))
    shutil.rmtree(folder)
    skopeo.copy(f"docker-daemon:{built.ref}", f"dir:{folder}")
    tarball = tmp_path / "image.tar"
    run("tar", "-C", folder, "-cf", tarball, ".")

    repo_id = f"rt-seed-{uuid.uuid4().hex[:8]}"
    admin.ok("docker", "repo", "create", "--repo-id", repo_id)
    out = admin.ok("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f", str(tarball), "--tag", "1.0")
    assert "1.0" in out, out

    engine.rmi(built.id)
    assert not engine.has_image(built.id)
    pulled = f"{registry}/{repo_id}:1.0"
    engine.pull(pulled)
    assert engine.image_id(pulled) == built.id
    assert engine.run_image(pulled).strip() == built.message
