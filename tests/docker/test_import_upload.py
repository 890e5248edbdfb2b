"""Uploading image tarballs through the REST API of a real server, and what ends up stored."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
import tarfile
import threading
import uuid
from pathlib import Path

import imagegen
import pytest
from leftovers import staging_leftovers
from tarballs import (
    DATA,
    cut_in_last_member,
    docker_v1_image,
    member,
    members_of,
    retar,
    tar_with,
    truncated,
    without_end_of_archive,
)

FACTS = json.loads((DATA / "FACTS.json").read_text())


def new_repo(server) -> str:
    repo_id = f"r-{uuid.uuid4().hex[:10]}"
    server.create_repo(repo_id)
    return repo_id


def upload(server, tmp_path: Path, repo_id: str, data: bytes | Path, tag: str | None = None,
           unit_type_id: str = "docker_manifest") -> dict:
    """Upload bytes (or a file) and import it; returns the finished or failed task."""
    path = data if isinstance(data, Path) else tmp_path / f"{uuid.uuid4().hex}.tar"
    if not isinstance(data, Path):
        path.write_bytes(data)
    upload_id = server.upload_file(path)
    metadata = {"tag": tag} if tag else {}
    try:
        return server.import_upload(repo_id, upload_id, unit_type_id, {}, metadata)
    finally:
        server.api("DELETE", f"content/uploads/{upload_id}/")


def units(server, repo_id: str, type_id: str) -> list[dict]:
    response = server.api("POST", f"repositories/{repo_id}/search/units/",
                          json={"criteria": {"type_ids": [type_id]}})
    assert response.status_code == 200, response.text
    return [row["metadata"] for row in response.json()]


def counts(server, repo_id: str) -> dict:
    return server.api("GET", f"repositories/{repo_id}/").json()["content_unit_counts"]


def content_files(server) -> set[str]:
    root = server.data_dir / "content"
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def assert_finished(task: dict) -> dict:
    assert task["state"] == "finished", json.dumps(task.get("error"), indent=1)
    assert task["error"] is None and task["exception"] is None and task["traceback"] is None
    return task["result"]


def expected_digest(name: str) -> str:
    facts = FACTS[name]
    if facts["schemaVersion"] == 1:
        # Registries give a signed schema 1 manifest the digest of its payload, signatures cut out.
        from pulp_docker.common.manifest import manifest_digest

        return manifest_digest(members_of(name)["manifest.json"])
    return facts["manifest_digest_of_file_bytes"]


@pytest.mark.parametrize("name", sorted(FACTS))
def test_fixture_imports_with_tag(pulp_server, tmp_path, name: str) -> None:
    repo_id = new_repo(pulp_server)
    task = upload(pulp_server, tmp_path, repo_id, DATA / name, tag="1.0")
    result = assert_finished(task)
    digest = expected_digest(name)
    unit = result["details"]["unit"]
    assert unit["type_id"] == "docker_manifest"
    assert unit["unit_key"] == {"digest": digest}
    assert result["details"]["tag"]["manifest_digest"] == digest

    files = members_of(name)
    blobs = {b["digest"]: b for b in units(pulp_server, repo_id, "docker_blob")}
    assert sorted(d.split(":")[1] for d in blobs) == sorted(FACTS[name]["blob_files"])
    for digest_, blob in blobs.items():
        stored = (pulp_server.data_dir / "content" / blob["_storage_path"]).read_bytes()
        assert stored == files[digest_.split(":")[1]]
        assert blob["size"] == len(stored)
    [manifest] = units(pulp_server, repo_id, "docker_manifest")
    assert manifest["digest"] == digest
    assert manifest["schema_version"] == FACTS[name]["schemaVersion"]
    # The exact bytes of the tar's manifest.json are kept, never re-serialised.
    assert (pulp_server.data_dir / "content" / manifest["_storage_path"]).read_bytes() == files["manifest.json"]
    if FACTS[name]["schemaVersion"] == 2:
        assert manifest["config_layer"] == FACTS[name]["config"]
        assert [layer["blob_sum"] for layer in manifest["fs_layers"]] == FACTS[name]["layers"]
    [tag] = units(pulp_server, repo_id, "docker_tag")
    assert (tag["name"], tag["manifest_digest"], tag["repo_id"]) == ("1.0", digest, repo_id)
    assert counts(pulp_server, repo_id) == {"docker_blob": len(blobs), "docker_manifest": 1, "docker_tag": 1}


VARIANTS = {
    "gzip": lambda: retar("skopeo-v2s2.tar", compress=True),
    "top-folder": lambda: retar("skopeo-v2s2.tar", lambda n: f"image/{n}"),
    "no-version": lambda: retar("skopeo-v2s2.tar", skip={"version"}),
    "v1.0-names": lambda: retar("skopeo-v2s2.tar", lambda n: f"{n}.tar" if len(n) == 64 else n),
    "stray-files": lambda: retar("skopeo-v2s2.tar", add=[(member("README.txt"), b"hello"),
                                                         (member("notes/x.json"), b"{}")]),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_layout_variants_import(pulp_server, tmp_path, variant: str) -> None:
    repo_id = new_repo(pulp_server)
    result = assert_finished(upload(pulp_server, tmp_path, repo_id, VARIANTS[variant](), tag="v"))
    assert result["details"]["unit"]["unit_key"]["digest"] == FACTS["skopeo-v2s2.tar"]["manifest_digest_of_file_bytes"]
    assert counts(pulp_server, repo_id) == {"docker_blob": 4, "docker_manifest": 1, "docker_tag": 1}


def test_no_tag_requested_applies_none(pulp_server, tmp_path) -> None:
    repo_id = new_repo(pulp_server)
    result = assert_finished(upload(pulp_server, tmp_path, repo_id, DATA / "skopeo-v2s2.tar"))
    assert result["details"]["tag"] is None
    assert "docker_tag" not in counts(pulp_server, repo_id)


def test_blobs_already_in_the_repository_may_be_left_out(pulp_server, tmp_path) -> None:
    repo_id = new_repo(pulp_server)
    assert_finished(upload(pulp_server, tmp_path, repo_id, DATA / "skopeo-v2s2.tar"))
    only_manifest = tar_with([(member("manifest.json"), members_of("skopeo-v2s2.tar")["manifest.json"])])
    result = assert_finished(upload(pulp_server, tmp_path, repo_id, only_manifest, tag="again"))
    assert result["details"]["blobs_imported"] == []
    assert len(result["details"]["blobs_present"]) == 4
    # Another repository does not hold them: the same tarball is refused there, naming a layer.
    other = new_repo(pulp_server)
    task = upload(pulp_server, tmp_path, other, only_manifest)
    assert task["state"] == "error"
    assert task["error"]["code"] in ("DKR1018", "DKR1040")
    assert "DKR1018" in json.dumps(task["error"])
    assert counts(pulp_server, other) == {}


def test_same_tarball_twice_is_idempotent(pulp_server, tmp_path) -> None:
    repo_id = new_repo(pulp_server)
    first = assert_finished(upload(pulp_server, tmp_path, repo_id, DATA / "skopeo-v2s2.tar", tag="x"))
    files = content_files(pulp_server)
    second = assert_finished(upload(pulp_server, tmp_path, repo_id, DATA / "skopeo-v2s2.tar", tag="x"))
    assert first["details"]["unit"]["unit_key"] == second["details"]["unit"]["unit_key"]
    assert len(first["details"]["blobs_imported"]) == 4
    assert second["details"]["blobs_imported"] == [] and len(second["details"]["blobs_present"]) == 4
    assert counts(pulp_server, repo_id) == {"docker_blob": 4, "docker_manifest": 1, "docker_tag": 1}
    assert content_files(pulp_server) == files


def test_tag_moves_to_the_newest_manifest(pulp_server, tmp_path) -> None:
    repo_id = new_repo(pulp_server)
    assert_finished(upload(pulp_server, tmp_path, repo_id, DATA / "skopeo-v2s2.tar", tag="stable"))
    assert_finished(upload(pulp_server, tmp_path, repo_id, DATA / "skopeo-oci.tar", tag="stable"))
    tags = units(pulp_server, repo_id, "docker_tag")
    assert [(t["name"], t["manifest_digest"]) for t in tags] == [
        ("stable", FACTS["skopeo-oci.tar"]["manifest_digest_of_file_bytes"])]


def test_concurrent_images_sharing_blobs_into_two_repositories(pulp_server, tmp_path) -> None:
    repos = [new_repo(pulp_server), new_repo(pulp_server)]
    images = [DATA / "skopeo-v2s2.tar", DATA / "skopeo-oci.tar"]
    tasks: list[dict] = []

    def run(repo_id: str, image: Path) -> None:
        tasks.append(upload(pulp_server, tmp_path, repo_id, image))

    threads = [threading.Thread(target=run, args=(r, i)) for r in repos for i in images]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for task in tasks:
        assert_finished(task)
    for repo_id in repos:
        assert counts(pulp_server, repo_id) == {"docker_blob": 4, "docker_manifest": 2}
    # However many imports raced, each blob is held once (one unit per key, one association each).
    all_blobs = pulp_server.api("POST", f"repositories/{repos[0]}/search/units/",
                                json={"criteria": {"type_ids": ["docker_blob"]}}).json()
    digests = [row["metadata"]["digest"] for row in all_blobs]
    assert len(digests) == len(set(digests)) == 4


def test_manifest_list_with_instances(pulp_server, tmp_path) -> None:
    image = tmp_path / "multi"
    digest = imagegen.make_image(image, 64 * 1024, platforms=["linux/amd64", "linux/arm64"])
    tarball = imagegen.tar_dir(image, tmp_path / "multi.tar")
    repo_id = new_repo(pulp_server)
    result = assert_finished(upload(pulp_server, tmp_path, repo_id, tarball, tag="multi",
                                    unit_type_id="docker_manifest_list"))
    assert result["details"]["unit"] == {**result["details"]["unit"], "type_id": "docker_manifest_list",
                                         "unit_key": {"digest": digest}}
    # Every manifest imported: the two instances, then the list itself.
    assert len(result["details"]["manifests"]) == 3 and result["details"]["manifests"][-1] == digest
    [listed] = units(pulp_server, repo_id, "docker_manifest_list")
    assert {m["arch"] for m in listed["manifests"]} == {"amd64", "arm64"}
    assert listed["amd64_digest"] in result["details"]["manifests"]
    [tag] = units(pulp_server, repo_id, "docker_tag")
    assert (tag["manifest_type"], tag["manifest_digest"]) == ("list", digest)
    assert counts(pulp_server, repo_id) == {"docker_manifest_list": 1, "docker_manifest": 2,
                                            "docker_blob": 10, "docker_tag": 1}


@pytest.mark.skipif(not shutil.which("skopeo"), reason="skopeo is not installed")
@pytest.mark.parametrize("fmt", ["v2s1", "oci", "v2s2"])
def test_images_written_by_skopeo(pulp_server, tmp_path, fmt: str) -> None:
    source = tmp_path / "source"
    imagegen.make_image(source, 256 * 1024, small_layers=1)
    out = tmp_path / "skopeo-dir"
    subprocess.run(["skopeo", "copy", "--format", fmt, f"dir:{source}", f"dir:{out}"], check=True,
                   capture_output=True)
    with tarfile.open(tmp_path / "image.tar", "w") as tar:  # the users' `tar -C dir -cf x.tar .`
        tar.add(out, arcname=".")
    repo_id = new_repo(pulp_server)
    result = assert_finished(upload(pulp_server, tmp_path, repo_id, tmp_path / "image.tar", tag=fmt))
    from pulp_docker.common.manifest import manifest_digest

    data = (out / "manifest.json").read_bytes()
    assert result["details"]["unit"]["unit_key"]["digest"] == manifest_digest(data)
    assert result["details"]["unit"]["metadata"]["schema_version"] == (1 if fmt == "v2s1" else 2)


def _manifest_doc() -> dict:
    return json.loads(members_of("skopeo-v2s2.tar")["manifest.json"])


def _with_manifest(doc: dict) -> bytes:
    return retar("skopeo-v2s2.tar", replace={"manifest.json": json.dumps(doc).encode()})


def _wrong_size() -> bytes:
    doc = _manifest_doc()
    doc["layers"][0]["size"] += 1
    return _with_manifest(doc)


def _unknown_media_type() -> bytes:
    doc = _manifest_doc()
    doc["mediaType"] = "application/vnd.example.nonsense+json"
    return _with_manifest(doc)


def _wrong_digest() -> bytes:
    layer = FACTS["skopeo-v2s2.tar"]["layers"][0].split(":")[1]
    return retar("skopeo-v2s2.tar", replace={layer: b"tampered layer bytes"})


BAD_INPUTS = {
    "missing blob": (lambda: retar("skopeo-v2s2.tar", skip={FACTS["skopeo-v2s2.tar"]["layers"][1][7:]}), "DKR1018"),
    "wrong digest": (_wrong_digest, "DKR1017"),
    "wrong size": (_wrong_size, "DKR1036"),
    "bad json": (lambda: retar("skopeo-v2s2.tar", replace={"manifest.json": b"{\"schemaVersion\": 2,"}), "DKR1034"),
    "unknown media type": (_unknown_media_type, "DKR1035"),
    "traversal": (lambda: retar("skopeo-v2s2.tar", add=[(member("../../etc/cron.d/x"), b"boom")]), "DKR1031"),
    "absolute": (lambda: retar("skopeo-v2s2.tar", add=[(member("/etc/passwd"), b"boom")]), "DKR1031"),
    "symlink": (lambda: retar("skopeo-v2s2.tar", add=[(member("evil", tarfile.SYMTYPE, "/etc/shadow"), None)]),
                "DKR1031"),
    "hardlink": (lambda: retar("skopeo-v2s2.tar", add=[(member("evil", tarfile.LNKTYPE, "manifest.json"), None)]),
                 "DKR1031"),
    "device": (lambda: retar("skopeo-v2s2.tar", add=[(member("dev", tarfile.CHRTYPE), None)]), "DKR1031"),
    "duplicate member": (lambda: retar("skopeo-v2s2.tar", add=[(member("manifest.json"), b"{}")]), "DKR1031"),
    "truncated tar": (lambda: truncated("skopeo-v2s2.tar"), "DKR1030"),
    "not a tar": (lambda: b"this is not a tarball\n" * 1000, "DKR1030"),
    "empty file": (lambda: b"", "DKR1030"),
    "docker v1 image": (docker_v1_image, "DKR1032"),
    "no end-of-archive blocks": (lambda: without_end_of_archive((DATA / "skopeo-v2s2.tar").read_bytes()), "DKR1030"),
    "cut inside an ignored member": (
        lambda: cut_in_last_member(retar("skopeo-v2s2.tar", add=[(member("README.txt"), b"ignored " * 4096)])),
        "DKR1030"),
    "cut inside an ignored member, gzipped": (
        lambda: gzip.compress(cut_in_last_member(retar("skopeo-v2s2.tar",
                                                       add=[(member("README.txt"), b"ignored " * 4096)]))),
        "DKR1030"),
    "no manifest": (lambda: retar("skopeo-v2s2.tar", skip={"manifest.json"}), "DKR1033"),
    "bad tag name": (lambda: (DATA / "skopeo-v2s2.tar").read_bytes(), "DKR1039"),
}


@pytest.fixture(scope="module")
def unrelated_image(tmp_path_factory) -> Path:
    """A small image sharing no blob with the fixtures."""
    work = tmp_path_factory.mktemp("unrelated")
    imagegen.make_image(work / "dir", 8192, small_layers=1, seed=4242)
    return imagegen.tar_dir(work / "dir", work / "unrelated.tar")


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_fails_and_leaves_nothing(pulp_server, tmp_path, unrelated_image: Path, case: str) -> None:
    build, code = BAD_INPUTS[case]
    repo_id = new_repo(pulp_server)
    # A repository that already holds an image: a failed import must leave it exactly as it was.
    assert_finished(upload(pulp_server, tmp_path, repo_id, unrelated_image, tag="keep"))
    before_counts, before_files = counts(pulp_server, repo_id), content_files(pulp_server)
    tag = "bad tag!" if case == "bad tag name" else "new"
    task = upload(pulp_server, tmp_path, repo_id, build(), tag=tag)
    assert task["state"] == "error"
    assert task["error"]["code"] == code, task["error"]
    assert task["error"]["description"]
    assert counts(pulp_server, repo_id) == before_counts
    assert content_files(pulp_server) == before_files
    assert not staging_leftovers(pulp_server)


def test_several_problems_are_reported_together(pulp_server, tmp_path) -> None:
    layers = FACTS["skopeo-v2s2.tar"]["layers"]
    data = retar("skopeo-v2s2.tar", skip={layers[1][7:]}, replace={layers[0][7:]: b"tampered"})
    task = upload(pulp_server, tmp_path, new_repo(pulp_server), data)
    assert task["error"]["code"] == "DKR1040"
    assert {e["code"] for e in task["error"]["sub_errors"]} == {"DKR1017", "DKR1018"}
    assert layers[0] in task["error"]["description"] and layers[1] in task["error"]["description"]


def test_tag_import_and_its_errors(pulp_server, tmp_path) -> None:
    repo_id = new_repo(pulp_server)
    digest = FACTS["skopeo-v2s2.tar"]["manifest_digest_of_file_bytes"]
    assert_finished(upload(pulp_server, tmp_path, repo_id, DATA / "skopeo-v2s2.tar"))
    empty = tmp_path / "empty"
    empty.write_bytes(b"")

    def tag(unit_key: dict, metadata: dict) -> dict:
        upload_id = pulp_server.upload_file(empty)
        return pulp_server.import_upload(repo_id, upload_id, "docker_tag", unit_key, metadata)

    result = assert_finished(tag({"name": "a", "repo_id": repo_id}, {"name": "a", "manifest_digest": digest}))
    assert result["details"]["tag"]["manifest_digest"] == digest
    assert_finished(tag({"name": "b"}, {"name": "b", "digest": digest}))  # Pulp 2's alias
    assert sorted(t["name"] for t in units(pulp_server, repo_id, "docker_tag")) == ["a", "b"]
    missing = tag({"name": "c"}, {"name": "c", "manifest_digest": "sha256:" + "0" * 64})
    assert missing["error"]["code"] == "DKR1010"
    no_digest = tag({"name": "d"}, {"name": "d"})
    assert no_digest["error"]["code"] == "DKR1019"
    assert sorted(t["name"] for t in units(pulp_server, repo_id, "docker_tag")) == ["a", "b"]


def test_docker_image_type_is_decided_by_content(pulp_server, tmp_path) -> None:
    """Pulp 2's client sent docker_image for `docker save` tarballs; the tarball's content decides."""
    repo_id = new_repo(pulp_server)
    saved = assert_finished(upload(pulp_server, tmp_path, repo_id, DATA / "docker-archive.tar",
                                   unit_type_id="docker_image"))
    assert saved["details"]["kind"] == "docker-archive"
    assert saved["details"]["unit"]["type_id"] == "docker_manifest"
    v1 = upload(pulp_server, tmp_path, repo_id, docker_v1_image(), unit_type_id="docker_image")
    assert v1["state"] == "error" and v1["error"]["code"] == "DKR1032"
    assert "Docker v1 image" in v1["error"]["description"]
    result = assert_finished(upload(pulp_server, tmp_path, repo_id, DATA / "skopeo-v2s2.tar",
                                    unit_type_id="docker_image"))
    assert result["details"]["unit"]["type_id"] == "docker_manifest"


def test_unsupported_unit_type(pulp_server, tmp_path) -> None:
    task = upload(pulp_server, tmp_path, new_repo(pulp_server), DATA / "skopeo-v2s2.tar", unit_type_id="docker_blob")
    assert task["state"] == "error" and task["error"]["code"] == "DKR1038"


def test_content_files_are_content_addressed(pulp_server, tmp_path) -> None:
    repo_id = new_repo(pulp_server)
    assert_finished(upload(pulp_server, tmp_path, repo_id, DATA / "skopeo-v2s2.tar"))
    for blob in units(pulp_server, repo_id, "docker_blob"):
        path = pulp_server.data_dir / "content" / blob["_storage_path"]
        assert f"sha256:{hashlib.sha256(path.read_bytes()).hexdigest()}" == blob["digest"]
        assert path.name == blob["digest"].split(":")[1]
