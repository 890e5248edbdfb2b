"""Pushes by the real clients: skopeo (from dir:, oci:, docker-archive:), podman, buildah and docker.

Each pushed image pulls back byte-identical (the manifest skopeo reads from us is the one the client
wrote; for docker, the image id is the built one) and runs with ``docker run --network none``. The
repository a push creates is a Pulp repository like any other.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from engines import Built, Engine, Podman, Skopeo, need, repo_units, sha256_bytes, tar_dir

pytestmark = pytest.mark.slow
CREDS = "admin:admin"


def _name(kind: str) -> str:
    return f"pushed/{kind}-{uuid.uuid4().hex[:8]}"


def _raw(skopeo: Skopeo, registry: str, ref: str) -> bytes:
    """The manifest's exact bytes as our registry serves them."""
    return subprocess.run([skopeo.exe, "inspect", "--raw", "--tls-verify=false", f"docker://{registry}/{ref}"],
                          capture_output=True, check=True).stdout


def _pulls_and_runs(engine: Engine, registry: str, ref: str, built: Built, expected_id: str | None = None) -> None:
    remote = f"{registry}/{ref}"
    engine.rmi(remote)
    engine.pull(remote)
    if expected_id is not None:
        assert engine.image_id(remote) == expected_id
    assert engine.run_image(remote).strip() == built.message
    engine.rmi(remote)


def _repository_of(server: Any, name: str) -> str:
    repo_id = name.replace("/", "-")
    assert server.api("GET", f"repositories/{repo_id}/").status_code == 200
    return repo_id


@pytest.mark.parametrize("transport", ["dir", "oci", "docker-archive"])
def test_skopeo_pushes(pulp_server, engine, images, skopeo, registry, tmp_path, transport: str) -> None:
    built = images["a"]
    if transport == "docker-archive":
        source = f"docker-archive:{engine.save(tmp_path / 'a.tar', built.ref)}"
        wrote = None
    else:
        folder = tmp_path / transport
        skopeo.copy(f"docker-daemon:{built.ref}", f"{transport}:{folder}" + (":one" if transport == "oci" else ""))
        source = f"{transport}:{folder}" + (":one" if transport == "oci" else "")
        wrote = None  # the engine's layers are uncompressed: skopeo compresses them as it pushes
    name = _name(f"skopeo-{transport}")
    skopeo.copy(source, f"docker://{registry}/{name}:1", "--dest-creds", CREDS)
    served = _raw(skopeo, registry, f"{name}:1")
    if wrote is not None:
        assert served == wrote  # byte for byte what skopeo wrote
    again = tmp_path / "back"
    skopeo.copy(f"docker://{registry}/{name}:1", f"dir:{again}")
    assert (again / "manifest.json").read_bytes() == served
    expected = built.id if transport in ("dir", "docker-archive") else json.loads(served)["config"]["digest"]
    _pulls_and_runs(engine, registry, f"{name}:1", built, expected)
    kinds = sorted({u["unit_type_id"] for u in repo_units(pulp_server, _repository_of(pulp_server, name))})
    assert kinds == ["docker_blob", "docker_manifest", "docker_tag"]


def test_skopeo_push_of_a_dir_keeps_its_manifest_bytes(skopeo, registry, tmp_path) -> None:
    """A dir whose layers are already compressed (the fixture) is pushed as it is: the same bytes come back."""
    import tarfile

    folder = tmp_path / "fixture"
    with tarfile.open(Path(__file__).resolve().parent.parent / "data" / "skopeo-v2s2.tar") as tar:
        tar.extractall(folder, filter="data")
    name = _name("skopeo-fixture")
    skopeo.copy(f"dir:{folder}", f"docker://{registry}/{name}:1", "--dest-creds", CREDS)
    assert _raw(skopeo, registry, f"{name}:1") == (folder / "manifest.json").read_bytes()
    back = tmp_path / "back"
    skopeo.copy(f"docker://{registry}/{name}:1", f"dir:{back}")
    for blob in folder.iterdir():
        if len(blob.name) == 64:
            assert (back / blob.name).read_bytes() == blob.read_bytes()


def test_anonymous_push_is_refused(engine, images, skopeo, registry, tmp_path) -> None:
    folder = tmp_path / "dir"
    skopeo.copy(f"docker-daemon:{images['a'].ref}", f"dir:{folder}")
    result = subprocess.run([skopeo.exe, "copy", "--dest-tls-verify=false", f"dir:{folder}",
                             f"docker://{registry}/{_name('anon')}:1"], capture_output=True, text=True)
    assert result.returncode != 0
    assert "authentication required" in result.stderr or "unauthorized" in result.stderr.lower()


def test_docker_login_push_pull_run(pulp_server, engine, images, registry) -> None:
    built = images["b"]
    name = _name("docker")
    engine.docker("login", registry, "-u", "admin", "--password-stdin", input=b"admin\n")
    remote = f"{registry}/{name}:1"
    engine.docker("tag", built.ref, remote)
    engine.docker("push", remote)
    digest = [d for d in engine.repo_digests(remote) if d.startswith(f"{registry}/{name}@")]
    assert digest, engine.repo_digests(remote)
    _pulls_and_runs(engine, registry, f"{name}:1", built, built.id)
    tags = [u for u in repo_units(pulp_server, _repository_of(pulp_server, name)) if u["unit_type_id"] == "docker_tag"]
    assert [t["metadata"]["name"] for t in tags] == ["1"]


def test_podman_push(engine, images, podman: Podman, registry, skopeo, tmp_path) -> None:
    built = images["a"]
    podman.load(engine.save(tmp_path / "a.tar", built.ref))
    name = _name("podman")
    podman.podman("push", "--tls-verify=false", "--creds", CREDS, built.ref, f"{registry}/{name}:1")
    served = _raw(skopeo, registry, f"{name}:1")
    assert json.loads(served)["config"]["digest"]
    pulled = tmp_path / "back"
    skopeo.copy(f"docker://{registry}/{name}:1", f"dir:{pulled}")
    assert sha256_bytes((pulled / "manifest.json").read_bytes()) == sha256_bytes(served)
    # podman converts to OCI (a new config): docker's image id is then the served config's digest.
    _pulls_and_runs(engine, registry, f"{name}:1", built, json.loads(served)["config"]["digest"])


def test_buildah_push(engine, images, podman: Podman, registry, skopeo, tmp_path) -> None:
    buildah = need("buildah")
    built = images["b"]
    archive = engine.save(tmp_path / "b.tar", built.ref)
    env = {**podman.env, "BUILDAH_ISOLATION": "chroot"}
    storage = ["--root", str(podman.dir / "root"), "--runroot", str(podman.dir / "run"), "--storage-driver", "vfs"]
    name = _name("buildah")
    subprocess.run([buildah, *storage, "pull", "-q", f"docker-archive:{archive}"], env=env, check=True,
                   capture_output=True)
    subprocess.run([buildah, *storage, "push", "--tls-verify=false", "--creds", CREDS, built.ref,
                    f"docker://{registry}/{name}:1"], env=env, check=True, capture_output=True)
    served = _raw(skopeo, registry, f"{name}:1")
    pulled = tmp_path / "back"
    skopeo.copy(f"docker://{registry}/{name}:1", f"dir:{pulled}")
    assert (pulled / "manifest.json").read_bytes() == served
    _pulls_and_runs(engine, registry, f"{name}:1", built, json.loads(served)["config"]["digest"])


def test_an_oci_layout_tarball_pushed_by_skopeo_from_a_tarred_dir(engine, images, skopeo, registry,
                                                                  tmp_path) -> None:
    """The tarball kinds and push meet: an ``oci:`` dir pushed, pulled back to a dir, tarred: the same manifest."""
    folder = tmp_path / "layout"
    skopeo.copy(f"docker-daemon:{images['a'].ref}", f"oci:{folder}:one")
    name = _name("layout")
    skopeo.copy(f"oci:{folder}:one", f"docker://{registry}/{name}:one", "--dest-creds", CREDS)
    back = tmp_path / "back"
    skopeo.copy(f"docker://{registry}/{name}:one", f"oci:{back}:one")
    assert tar_dir(back, tmp_path / "back.tar").stat().st_size > 0
    index = json.loads((folder / "index.json").read_text())["manifests"][0]["digest"]
    assert json.loads((back / "index.json").read_text())["manifests"][0]["digest"] == index
    assert os.path.exists(Path(back) / "blobs" / "sha256" / index.split(":")[1])


def test_a_synced_image_pulls_and_runs(pulp_server, start_pulp_server, engine, images, registry) -> None:
    """docker push to an upstream server of ours, sync it into a mirror here, docker pull the mirror, run it."""
    upstream = start_pulp_server()
    up_host = upstream.url.split("://", 1)[1]
    built = images["a"]
    engine.docker("login", up_host, "-u", "admin", "--password-stdin", input=b"admin\n")
    engine.docker("tag", built.ref, f"{up_host}/src/app:1")
    engine.docker("push", f"{up_host}/src/app:1")
    engine.rmi(f"{up_host}/src/app:1")
    repo_id = f"rt-sync-{uuid.uuid4().hex[:8]}"
    pulp_server.create_repo(repo_id, importer_config={"feed": upstream.url, "upstream_name": "src/app"})
    reply = pulp_server.api("POST", f"repositories/{repo_id}/actions/sync/", json={})
    task = pulp_server.wait_task(reply.json(), timeout=300)
    assert task["state"] == "finished", task["error"]
    _pulls_and_runs(engine, registry, f"{repo_id}:1", built, built.id)
