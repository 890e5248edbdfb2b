"""Images copied from one repository to another over REST, pulled back by the real clients.

A manifest, a manifest list, a tag and a criteria copy go into fresh repositories of the shared server;
``skopeo copy docker://… dir:`` gets back exactly the bytes that were uploaded (every manifest and
blob file), and a private ``dockerd`` pulls a copied tag and runs it (slow).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from pathlib import Path

import imagegen
import pytest
from engines import Skopeo, build_image, import_tarball, new_repo_id, tar_dir
from tarballs import DATA, members_of

FACTS = json.loads((DATA / "FACTS.json").read_text())
V2S2_DIGEST = FACTS["skopeo-v2s2.tar"]["manifest_digest_of_file_bytes"]


@pytest.fixture(scope="module")
def skopeo_cli() -> Skopeo:
    """skopeo on its own (no engine needed to pull from a registry)."""
    return Skopeo()


def copy(server, target: str, source: str, criteria: dict) -> dict:
    """Create ``target`` (auto-publishing) and copy into it over REST; the task's result."""
    server.create_repo(target)
    response = server.api("POST", f"repositories/{target}/actions/associate/",
                          json={"source_repo_id": source, "criteria": criteria})
    assert response.status_code == 202, response.text
    task = server.wait_task(response.json())
    assert task["state"] == "finished", task.get("error")
    return task["result"]


def pulled(skopeo: Skopeo, reference: str, out: Path, *options: str) -> dict[str, bytes]:
    """``skopeo copy docker://reference dir:out``; every file it wrote, by name."""
    skopeo.copy(f"docker://{reference}", f"dir:{out}", *options)
    return {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}


def fresh(tmp_path: Path) -> Path:
    return tmp_path / uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def source(pulp_server) -> str:
    """A repository holding the skopeo v2s2 fixture as ``1.0`` and the OCI one as ``oci``."""
    repo_id = new_repo_id("copysrc")
    assert import_tarball(pulp_server, repo_id, DATA / "skopeo-v2s2.tar", "1.0")["state"] == "finished"
    upload_id = pulp_server.upload_file(DATA / "skopeo-oci.tar")
    task = pulp_server.import_upload(repo_id, upload_id, "docker_manifest", unit_metadata={"tag": "oci"})
    assert task["state"] == "finished", task
    return repo_id


COPIES = {
    # name: (criteria, reference to pull from the target, fixture it must equal)
    "manifest": ({"type_ids": ["docker_manifest"], "filters": {"unit": {"digest": V2S2_DIGEST}}},
                 f"@{V2S2_DIGEST}", "skopeo-v2s2.tar"),
    "tag": ({"type_ids": ["docker_tag"], "filters": {"unit": {"name": "1.0"}}}, ":1.0", "skopeo-v2s2.tar"),
    "criteria": ({"type_ids": ["docker_tag"], "filters": {"unit": {"name": {"$regex": "^oc"}}}}, ":oci",
                 "skopeo-oci.tar"),
}


@pytest.mark.parametrize("kind", sorted(COPIES))
def test_a_copy_pulls_back_byte_identical(pulp_server, registry, skopeo_cli, source, tmp_path, kind: str) -> None:
    criteria, reference, fixture = COPIES[kind]
    target = new_repo_id(f"copy-{kind}")
    copy(pulp_server, target, source, criteria)
    files = pulled(skopeo_cli, f"{registry}/{target}{reference}", fresh(tmp_path))
    assert files == members_of(fixture)
    assert files == pulled(skopeo_cli, f"{registry}/{source}{reference}", fresh(tmp_path))


def test_a_copied_manifest_list_pulls_back_every_platform(pulp_server, registry, skopeo_cli, tmp_path) -> None:
    image = tmp_path / "multi"
    digest = imagegen.make_image(image, 32 * 1024, platforms=["linux/amd64", "linux/arm64"], seed=8800)
    repo_id = new_repo_id("copylist")
    task = import_tarball(pulp_server, repo_id, imagegen.tar_dir(image, tmp_path / "multi.tar"), "m")
    assert task["state"] == "finished", task
    expected = {p.name: p.read_bytes() for p in image.iterdir()}

    by_digest = new_repo_id("copylist-d")
    copy(pulp_server, by_digest, repo_id, {"type_ids": ["docker_manifest_list"],
                                           "filters": {"unit": {"digest": digest}}})
    assert pulled(skopeo_cli, f"{registry}/{by_digest}@{digest}", fresh(tmp_path), "--all") == expected
    by_tag = new_repo_id("copylist-t")
    copy(pulp_server, by_tag, repo_id, {"type_ids": ["docker_tag"], "filters": {"unit": {"name": "m"}}})
    assert pulled(skopeo_cli, f"{registry}/{by_tag}:m", fresh(tmp_path), "--all") == expected


@pytest.mark.slow
def test_a_copied_tag_pulls_and_runs_with_docker(engine, pulp_server, registry, tmp_path) -> None:
    built = build_image(engine, "rt-copy", "1")
    folder = Path(tempfile.mkdtemp(prefix="copy-", dir=tmp_path))
    shutil.rmtree(folder)
    Skopeo(engine).copy(f"docker-daemon:{built.ref}", f"dir:{folder}")
    source = new_repo_id("copyrun")
    assert import_tarball(pulp_server, source, tar_dir(folder, tmp_path / "image.tar"), "1")["state"] == "finished"
    target = new_repo_id("copyrun-t")
    copy(pulp_server, target, source, {"type_ids": ["docker_tag"], "filters": {"unit": {"name": "1"}}})

    engine.rmi(built.id)
    assert not engine.has_image(built.id)
    reference = f"{registry}/{target}:1"
    engine.pull(reference)
    assert engine.image_id(reference) == built.id
    assert engine.run_image(reference).strip() == built.message
