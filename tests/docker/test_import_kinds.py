"""Every tarball kind through the real server: what is stored and served, the names applied, bad input.

The real tools' own tarballs (docker save, podman save, skopeo) are in tests/realtools; here the
fixtures and hand-made archives (tests/archives.py) pin down digests, tags and failures exactly.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import uuid

import pytest
import requests
import zstandard
from archives import Image, descriptor, docker_archive, layer_tar, oci_layout, oci_manifest, sha256, single_oci_layout
from leftovers import staging_leftovers
from tarballs import DATA, cut_in_last_member, member, tar_with, without_end_of_archive
from test_import_upload import assert_finished, content_files, counts, new_repo, units, upload

from pulp_docker.common import kinds
from pulp_docker.common.tarball import spool_in_memory, walk

FACTS = json.loads((DATA / "FACTS.json").read_text())
COMPRESS = {"gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress,
            "zstd": lambda d: zstandard.ZstdCompressor().compress(d)}


def _built_manifest(data: bytes) -> bytes:
    source = kinds.open_source(walk(io.BytesIO(data), spool_in_memory, upload_size=len(data)))
    return source.top_manifests()[0].data


def _served(server, repo_id: str, reference: str) -> requests.Response:
    return requests.get(f"{server.url}/v2/{repo_id}/manifests/{reference}", timeout=30, headers={
        "Accept": "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json,"
                  " application/vnd.oci.image.index.v1+json"})


def test_docker_archive_fixture_imports_with_its_repotag(pulp_server, tmp_path) -> None:
    repo_id = new_repo(pulp_server)
    data = (DATA / "docker-archive.tar").read_bytes()
    result = assert_finished(upload(pulp_server, tmp_path, repo_id, data))
    built = _built_manifest(data)
    assert result["summary"]["manifest_digest"] == sha256(built)
    assert result["summary"]["tags"] == ["1.0"]
    assert result["details"]["kind"] == "docker-archive"
    assert result["details"]["images"] == [{"digest": sha256(built), "type_id": "docker_manifest", "tags": ["1.0"]}]
    served = _served(pulp_server, repo_id, "1.0")
    assert served.status_code == 200 and served.content == built
    assert served.headers["Docker-Content-Digest"] == sha256(built)
    config = FACTS["skopeo-v2s2.tar"]["config"]
    assert json.loads(served.content)["config"]["digest"] == config  # the image id is kept
    blob = requests.get(f"{pulp_server.url}/v2/{repo_id}/blobs/{config}", timeout=30)
    assert sha256(blob.content) == config


def test_the_same_archive_always_gives_the_same_digest(pulp_server, tmp_path) -> None:
    data = (DATA / "docker-archive.tar").read_bytes()
    first = assert_finished(upload(pulp_server, tmp_path, new_repo(pulp_server), data))
    second = assert_finished(upload(pulp_server, tmp_path, new_repo(pulp_server), gzip.compress(data)))
    assert first["summary"]["manifest_digest"] == second["summary"]["manifest_digest"]


def test_oci_archive_fixture_keeps_its_manifest_digest(pulp_server, tmp_path) -> None:
    repo_id = new_repo(pulp_server)
    result = assert_finished(upload(pulp_server, tmp_path, repo_id, DATA / "oci-archive.tar"))
    digest = FACTS["skopeo-oci.tar"]["manifest_digest_of_file_bytes"]
    assert result["summary"]["manifest_digest"] == digest and result["summary"]["tags"] == ["1.0"]
    assert _served(pulp_server, repo_id, "1.0").headers["Docker-Content-Digest"] == digest


def test_an_explicit_tag_replaces_the_archives_names(pulp_server, tmp_path) -> None:
    repo_id = new_repo(pulp_server)
    result = assert_finished(upload(pulp_server, tmp_path, repo_id, DATA / "oci-archive.tar", tag="mine"))
    assert result["summary"]["tags"] == ["mine"] and result["summary"]["tag"] == "mine"
    assert [t["name"] for t in units(pulp_server, repo_id, "docker_tag")] == ["mine"]


def test_a_docker_save_of_several_images_tags_each(pulp_server, tmp_path) -> None:
    base = layer_tar({"base": b"shared base"})
    one = Image([base, layer_tar({"one": b"1"})], ["app:1.0", "app:latest"], "one")
    two = Image([base, layer_tar({"two": b"2"})], ["other/app:2.0"], "two")
    repo_id = new_repo(pulp_server)
    result = assert_finished(upload(pulp_server, tmp_path, repo_id, docker_archive([one, two])))
    assert result["summary"]["manifest_digest"] is None and result["summary"]["images"] == 2
    assert sorted(result["summary"]["tags"]) == ["1.0", "2.0", "latest"]
    assert counts(pulp_server, repo_id) == {"docker_blob": 5, "docker_manifest": 2, "docker_tag": 3}
    for image, tag in ((one, "latest"), (two, "2.0")):
        assert json.loads(_served(pulp_server, repo_id, tag).content)["config"]["digest"] == image.image_id


def test_a_tag_is_refused_for_an_archive_of_several_images(pulp_server, tmp_path) -> None:
    images = [Image([layer_tar({"a": b"1"})], ["a:1"], "1"), Image([layer_tar({"b": b"2"})], ["b:2"], "2")]
    repo_id = new_repo(pulp_server)
    task = upload(pulp_server, tmp_path, repo_id, docker_archive(images), tag="x")
    assert task["state"] == "error" and task["error"]["code"] == "DKR1041"
    assert "2 images" in task["error"]["description"]
    assert counts(pulp_server, repo_id) == {}


@pytest.mark.parametrize("compressor", sorted(COMPRESS))
def test_compressed_tarballs_of_every_kind_import(pulp_server, tmp_path, compressor: str) -> None:
    for name in ("docker-archive.tar", "oci-archive.tar", "skopeo-v2s2.tar"):
        plain = (DATA / name).read_bytes()
        expected = assert_finished(upload(pulp_server, tmp_path, new_repo(pulp_server), plain))
        result = assert_finished(upload(pulp_server, tmp_path, new_repo(pulp_server), COMPRESS[compressor](plain)))
        assert result["summary"]["manifest_digest"] == expected["summary"]["manifest_digest"]
    assert not staging_leftovers(pulp_server)


def test_an_oci_index_of_two_platforms_imports_with_every_manifest(pulp_server, tmp_path) -> None:
    blobs: dict[str, bytes] = {}
    entries = []
    for arch in ("amd64", "arm64"):
        data, image_blobs = oci_manifest(Image([layer_tar({"arch": arch.encode()})], label=arch))
        blobs.update(image_blobs)
        blobs[sha256(data)] = data
        entries.append(descriptor(data, "application/vnd.oci.image.manifest.v1+json",
                                  platform={"os": "linux", "architecture": arch}))
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": entries}).encode()
    blobs[sha256(index)] = index
    repo_id = new_repo(pulp_server)
    tarball = oci_layout([descriptor(index, "application/vnd.oci.image.index.v1+json", "multi")], blobs)
    result = assert_finished(upload(pulp_server, tmp_path, repo_id, tarball))
    assert result["details"]["manifests"] == [e["digest"] for e in entries] + [sha256(index)]
    assert result["summary"]["tags"] == ["multi"]
    assert _served(pulp_server, repo_id, "multi").content == index


def test_manifest_list_upload_of_manifests_the_repository_holds(pulp_server, tmp_path) -> None:
    """Pulp 2's ``-f list.json``: a list whose instances are in the repository imports on its own."""
    repo_id = new_repo(pulp_server)
    images = [Image([layer_tar({"arch": arch.encode()})], label=arch) for arch in ("amd64", "arm64")]
    entries = []
    for image, arch in zip(images, ("amd64", "arm64"), strict=True):
        tarball, digest = single_oci_layout(image, ref=arch)
        assert_finished(upload(pulp_server, tmp_path, repo_id, tarball))
        size = len(_served(pulp_server, repo_id, arch).content)
        entries.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": size,
                        "platform": {"os": "linux", "architecture": arch}})
    listing = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                          "manifests": entries}, indent=2).encode()
    path = tmp_path / "list.json"
    path.write_bytes(listing)
    result = assert_finished(upload(pulp_server, tmp_path, repo_id, path, tag="multi",
                                    unit_type_id="docker_manifest_list"))
    assert result["summary"]["manifest_digest"] == sha256(listing)
    assert result["details"]["manifests_present"] == [e["digest"] for e in entries]
    assert _served(pulp_server, repo_id, "multi").content == listing
    # A list naming a manifest the repository lacks is refused and names what is missing.
    missing = "sha256:" + "ab" * 32
    bad = json.dumps({"schemaVersion": 2, "manifests": [{**entries[0], "digest": missing}]}).encode()
    other = new_repo(pulp_server)
    task = upload(pulp_server, tmp_path, other, bad)
    assert task["state"] == "error" and task["error"]["code"] == "DKR1037"
    assert missing in task["error"]["description"]
    assert counts(pulp_server, other) == {}


def _oci_bad(case: str) -> bytes:
    image = Image([layer_tar({"a": b"1" * 3000})])
    data, blobs = oci_manifest(image)
    layer = json.loads(data)["layers"][0]["digest"]
    blobs[sha256(data)] = data
    entry = descriptor(data, "application/vnd.oci.image.manifest.v1+json", "1.0")
    if case == "missing blob":
        return oci_layout([entry], {k: v for k, v in blobs.items() if k != layer})
    if case == "wrong digest":
        return oci_layout([entry], {**blobs, layer: b"tampered"})
    if case == "bad tag name":
        return oci_layout([descriptor(data, "application/vnd.oci.image.manifest.v1+json", "bad tag!")], blobs)
    if case == "truncated":
        return cut_in_last_member(oci_layout([entry], blobs))
    return oci_layout([entry], blobs)


def _docker_bad(case: str) -> bytes:
    image = Image([layer_tar({"a": b"1" * 3000}), layer_tar({"b": b"2"})], ["app:1"])
    if case == "missing blob":
        return docker_archive([image], skip={f"{sha256(image.layers[1])[7:39]}/layer.tar"})
    if case == "wrong digest":
        data = docker_archive([image])
        return data.replace(b"1" * 3000, b"x" * 3000)  # same size, other bytes: the diff id no longer holds
    if case == "bad json":
        return tar_with([(member("manifest.json"), b"[{\"Config\": ")])
    if case == "no end-of-archive":
        return without_end_of_archive(docker_archive([image]))
    return docker_archive([image])


BAD = {
    ("oci", "missing blob"): (lambda: _oci_bad("missing blob"), "DKR1018"),
    ("oci", "wrong digest"): (lambda: _oci_bad("wrong digest"), "DKR1017"),
    ("oci", "bad tag name"): (lambda: _oci_bad("bad tag name"), "DKR1039"),
    ("oci", "truncated"): (lambda: _oci_bad("truncated"), "DKR1030"),
    ("oci", "truncated, zstd"): (lambda: COMPRESS["zstd"](_oci_bad("truncated")), "DKR1030"),
    ("docker-archive", "missing layer"): (lambda: _docker_bad("missing blob"), "DKR1033"),
    ("docker-archive", "wrong digest"): (lambda: _docker_bad("wrong digest"), "DKR1017"),
    ("docker-archive", "wrong digest, gzip"): (lambda: gzip.compress(_docker_bad("wrong digest")), "DKR1017"),
    # Not valid JSON, so not recognisably a docker-archive list: refused as the manifest it claims to be.
    ("docker-archive", "bad json"): (lambda: _docker_bad("bad json"), "DKR1034"),
    ("docker-archive", "no end-of-archive"): (lambda: _docker_bad("no end-of-archive"), "DKR1030"),
    ("manifest json", "not a manifest"): (lambda: b'{"hello": "world"}', "DKR1034"),
}


@pytest.mark.parametrize("case", sorted(BAD), ids=lambda c: f"{c[0]}: {c[1]}")
def test_bad_input_of_every_kind_leaves_nothing(pulp_server, tmp_path, case) -> None:
    build, code = BAD[case]
    repo_id = new_repo(pulp_server)
    before = content_files(pulp_server)
    task = upload(pulp_server, tmp_path, repo_id, build())
    assert task["state"] == "error", task
    assert task["error"]["code"] == code, task["error"]
    assert counts(pulp_server, repo_id) == {}
    assert content_files(pulp_server) == before
    assert not staging_leftovers(pulp_server)


def test_every_applied_tag_and_manifest_is_in_the_report(pulp_server, tmp_path) -> None:
    image = Image([layer_tar({uuid.uuid4().hex: b"x"})], ["a:one", "b:two"])
    result = assert_finished(upload(pulp_server, tmp_path, new_repo(pulp_server), docker_archive([image])))
    assert [t["name"] for t in result["details"]["tags"]] == ["one", "two"]
    assert result["details"]["manifests"] == [result["summary"]["manifest_digest"]]
