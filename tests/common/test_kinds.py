"""The docker-archive and OCI-layout readers, compression, and truncation, with no server.

The fixtures are skopeo's and umoci's; the hand-made archives (tests/archives.py) cover several
images, shared layers and broken entries. End-to-end with docker, podman and skopeo: tests/realtools.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
from pathlib import Path

import pytest
import zstandard
from archives import Image, descriptor, docker_archive, layer_tar, oci_layout, oci_manifest, sha256, single_oci_layout
from tarballs import cut_in_last_member, docker_v1_image, without_end_of_archive

from pulp_docker.common import kinds, manifest, media_types
from pulp_docker.common.error_codes import DockerError
from pulp_docker.common.tarball import looks_like_tarball, spool_in_memory, walk

DATA = Path(__file__).parent.parent / "data"
COMPRESSORS = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


def _read(data: bytes, tmp_path: Path | None = None):
    """Read from memory, or (``tmp_path``) from a real file, so plain tars take the in-place path."""
    if tmp_path is None:
        return kinds.open_source(walk(io.BytesIO(data), spool_in_memory, upload_size=len(data)))
    path = tmp_path / f"upload-{len(_OPEN)}.tar"
    path.write_bytes(data)
    handle = open(path, "rb")  # noqa: SIM115 - in-place handles read it after walk returns
    _OPEN.append(handle)
    return kinds.open_source(walk(handle, spool_in_memory, upload_size=len(data)))


_OPEN: list = []  # uploads the in-place handles of the sources above read from


def _error(data: bytes) -> DockerError:
    with pytest.raises(DockerError) as info:
        _read(data)
    return info.value


def _served(source, digest: str) -> bytes:
    reader = source.get_blob(digest)
    assert reader is not None, digest
    return reader.read()


def test_docker_archive_fixture_builds_a_schema2_manifest_over_the_layers_as_they_are(tmp_path) -> None:
    source = _read((DATA / "docker-archive.tar").read_bytes(), tmp_path)
    assert source.kind == kinds.DOCKER_ARCHIVE
    [top] = source.top_manifests()
    assert top.tags == ("1.0",)  # RepoTags docker.io/fixture/app:1.0
    parsed = manifest.parse(top.data)
    assert parsed.media_type == media_types.DOCKER_MANIFEST_V2
    # The config is kept byte for byte: its digest, docker's image id, is the one the archive names.
    assert parsed.config.digest == "sha256:2cf70c20a5181276548efd61c0aa8b316fecaaa55ae691e407c4d3182b52aad6"
    config = json.loads(_served(source, parsed.config.digest))
    assert [layer.digest for layer in parsed.layers] == config["rootfs"]["diff_ids"]
    for layer in parsed.layers:
        data = _served(source, layer.digest)
        assert sha256(data) == layer.digest and len(data) == layer.size
        assert layer.media_type == media_types.DOCKER_LAYER_UNCOMPRESSED


def test_docker_archive_manifest_is_deterministic_and_canonical() -> None:
    image = Image([layer_tar({"a": b"1"}), layer_tar({"b": b"2"})], ["app:1.0"])
    first = _read(docker_archive([image])).top_manifests()[0].data
    again = _read(docker_archive([image], links=True)).top_manifests()[0].data
    assert first == again
    doc = json.loads(first)
    assert first == json.dumps(doc, indent=3).encode()  # as docker's registry client writes it
    assert list(doc) == ["schemaVersion", "mediaType", "config", "layers"]


def test_docker_archive_of_several_images_sharing_layers() -> None:
    base = layer_tar({"base": b"shared"})
    one = Image([base, layer_tar({"one": b"1"})], ["registry.example/app:1.0", "app:latest"], "one")
    two = Image([base, layer_tar({"two": b"2"})], ["app:2.0"], "two")
    source = _read(docker_archive([one, two]))
    tops = source.top_manifests()
    assert [t.tags for t in tops] == [("1.0", "latest"), ("2.0",)]
    configs = [manifest.parse(t.data).config.digest for t in tops]
    assert configs == [one.image_id, two.image_id]
    assert _served(source, sha256(base)) == base


def test_skopeo_style_docker_archive_follows_layer_links() -> None:
    image = Image([layer_tar({"a": b"1"})], ["x:y"])
    source = _read(docker_archive([image], links=True))
    parsed = manifest.parse(source.top_manifests()[0].data)
    assert _served(source, parsed.layers[0].digest) == image.layers[0]


@pytest.mark.parametrize("case,reason", [
    ("missing layer", "does not hold"),
    ("missing config", "does not hold"),
    ("layer count", "diff_ids"),
    ("not a list of images", "not a list of images"),
    ("config without diff_ids", "rootfs.diff_ids"),
])
def test_bad_docker_archives_are_refused_clearly(case: str, reason: str) -> None:
    image = Image([layer_tar({"a": b"1"}), layer_tar({"b": b"2"})], ["app:1"])
    layer_path = f"{sha256(image.layers[1])[7:39]}/layer.tar"
    entry = {"Config": f"{image.image_id[7:]}.json", "RepoTags": ["app:1"],
             "Layers": [f"{sha256(layer)[7:39]}/layer.tar" for layer in image.layers]}
    data = {
        "missing layer": lambda: docker_archive([image], skip={layer_path}),
        "missing config": lambda: docker_archive([image], skip={entry["Config"]}),
        "layer count": lambda: docker_archive([image], entries=[{**entry, "Layers": entry["Layers"][:1]}]),
        "not a list of images": lambda: docker_archive([image], entries=[]),
        "config without diff_ids": lambda: docker_archive([Image([], ["a:b"])], entries=[
            {**entry, "Config": "manifest.json"}]),
    }[case]()
    error = _error(data)
    assert error.code == "DKR1033"
    assert reason in error.description


def test_oci_archive_fixture_keeps_the_manifest_and_its_digest(tmp_path) -> None:
    source = _read((DATA / "oci-archive.tar").read_bytes(), tmp_path)
    assert source.kind == kinds.OCI_LAYOUT
    [top] = source.top_manifests()
    assert top.tags == ("1.0",)
    assert top.digest == manifest.sha256_digest(top.data) == FACTS_OCI
    parsed = manifest.parse(top.data)
    for blob in parsed.blobs:
        assert sha256(_served(source, blob.digest)) == blob.digest


FACTS_OCI = json.loads((DATA / "FACTS.json").read_text())["skopeo-oci.tar"]["manifest_digest_of_file_bytes"]


def test_oci_layout_with_a_nested_index_of_two_platforms() -> None:
    amd, arm = Image([layer_tar({"a": b"amd"})], label="amd"), Image([layer_tar({"a": b"arm"})], label="arm")
    blobs: dict[str, bytes] = {}
    entries = []
    for image, arch in ((amd, "amd64"), (arm, "arm64")):
        data, image_blobs = oci_manifest(image)
        blobs.update(image_blobs)
        blobs[sha256(data)] = data
        entries.append(descriptor(data, media_types.OCI_MANIFEST, platform={"os": "linux", "architecture": arch}))
    index = json.dumps({"schemaVersion": 2, "mediaType": media_types.OCI_INDEX, "manifests": entries}).encode()
    blobs[sha256(index)] = index
    source = _read(oci_layout([descriptor(index, media_types.OCI_INDEX, "multi")], blobs))
    [top] = source.top_manifests()
    parsed = manifest.parse(top.data)
    assert top.tags == ("multi",) and parsed.digest == sha256(index)
    assert [m.architecture for m in parsed.manifests] == ["amd64", "arm64"]
    for entry in parsed.manifests:
        assert sha256(source.get_manifest(entry.digest)) == entry.digest


def test_oci_layout_with_two_refs_to_one_image_and_full_reference_names() -> None:
    data, blobs = oci_manifest(Image([layer_tar({"a": b"1"})]))
    blobs[sha256(data)] = data
    entries = [descriptor(data, media_types.OCI_MANIFEST, "1.0"),
               descriptor(data, media_types.OCI_MANIFEST, "localhost/app:stable")]
    [top] = _read(oci_layout(entries, blobs)).top_manifests()
    assert top.tags == ("1.0", "stable")


@pytest.mark.parametrize("case,reason", [
    ("index names a missing manifest", "not in blobs/"),
    ("bad layout version", "version"),
    ("index is not json", "not valid JSON"),
    ("index lists nothing", "lists no images"),
])
def test_bad_oci_layouts_are_refused_clearly(case: str, reason: str) -> None:
    data, blobs = oci_manifest(Image([layer_tar({"a": b"1"})]))
    entry = descriptor(data, media_types.OCI_MANIFEST, "1.0")
    tarball = {
        "index names a missing manifest": lambda: oci_layout([entry], blobs),
        "bad layout version": lambda: oci_layout([entry], {**blobs, sha256(data): data}).replace(
            b'{"imageLayoutVersion": "1.0.0"}', b'{"imageLayoutVersion": "9.9.9"}'),
        "index is not json": lambda: oci_layout([entry], blobs).replace(b'{"schemaVersion": 2,',
                                                                         b'{"schemaVersion"  2,'),
        "index lists nothing": lambda: oci_layout([], blobs),
    }[case]()
    error = _error(tarball)
    assert error.code == "DKR1033"
    assert reason in error.description


@pytest.mark.parametrize("compressor", sorted(COMPRESSORS))
@pytest.mark.parametrize("fixture", ["skopeo-v2s2.tar", "docker-archive.tar", "oci-archive.tar"])
def test_every_kind_reads_the_same_when_compressed(tmp_path, compressor: str, fixture: str) -> None:
    plain = (DATA / fixture).read_bytes()
    expected = _read(plain, tmp_path)
    source = _read(COMPRESSORS[compressor](plain), tmp_path)
    assert source.kind == expected.kind
    assert source.top_manifests() == expected.top_manifests()
    for digest in expected.blobs:
        assert sha256(_served(source, digest)) == sha256(_served(expected, digest))


@pytest.mark.parametrize("compressor", ["none", *sorted(COMPRESSORS)])
@pytest.mark.parametrize("cut", ["no end-of-archive", "inside the last member", "inside a header"])
def test_truncated_tars_are_refused(tmp_path, compressor: str, cut: str) -> None:
    tarball, _digest = single_oci_layout(Image([layer_tar({"a": b"1" * 5000})]))
    cutter = {"no end-of-archive": without_end_of_archive, "inside the last member": cut_in_last_member,
              # A member's header cut after 100 of its 512 bytes.
              "inside a header": lambda data: without_end_of_archive(data) + data[:100]}[cut]
    data = cutter(tarball)
    if compressor != "none":
        data = COMPRESSORS[compressor](data)
    path = tmp_path / "cut.tar"
    path.write_bytes(data)
    with open(path, "rb") as handle, pytest.raises(DockerError) as info:
        walk(handle, spool_in_memory, upload_size=len(data))
    assert info.value.code == "DKR1030"


def test_docker_v1_images_are_refused_by_name() -> None:
    error = _error(docker_v1_image())
    assert error.code == "DKR1032"
    assert "Docker v1 image" in error.description


def test_a_manifest_json_upload_is_recognised() -> None:
    from pulp_docker.common.manifest_file import ManifestFileSource, looks_like_json

    data = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    assert looks_like_json(b"\n  " + data) and not looks_like_json((DATA / "skopeo-v2s2.tar").read_bytes()[:64])
    [top] = ManifestFileSource(data).top_manifests()
    assert top.data == data


@pytest.mark.parametrize("fixture", sorted(p.name for p in DATA.glob("*.tar")))
@pytest.mark.parametrize("compressor", [None, *COMPRESSORS])
def test_every_tarball_kind_is_recognised_from_its_head(fixture: str, compressor: str | None) -> None:
    data = (DATA / fixture).read_bytes()
    if compressor:
        data = COMPRESSORS[compressor](data)
    assert looks_like_tarball(data[:4096])


@pytest.mark.parametrize("head", [b'{"schemaVersion": 2}', b"plain text\n" * 100, bytes(512), b"\x1f"],
                         ids=["manifest", "text", "zeros", "short"])
def test_what_is_no_tarball_is_not_recognised(head: bytes) -> None:
    assert not looks_like_tarball(head)


class _Arriving:
    """An ``Arriving`` source over bytes (what has arrived is all there is)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.reads, self.position = data, 0, 0

    def read_at(self, offset: int, n: int) -> bytes:
        self.reads += 1
        return self.data[offset:offset + n]

    # What ``compression`` sniffs the magic with.
    def tell(self) -> int:
        return self.position

    def seek(self, position: int) -> int:
        self.position = position
        return position

    def read(self, n: int) -> bytes:
        data = self.data[self.position:self.position + n]
        self.position += len(data)
        return data


def test_an_arriving_tar_is_read_by_position_and_spooled() -> None:
    data = (DATA / "oci-archive.tar").read_bytes()
    arriving = _Arriving(data)
    source = kinds.open_source(walk(arriving, spool_in_memory, upload_size=lambda: len(data)))  # type: ignore[arg-type]
    assert arriving.reads > 0 and arriving.position == 0  # by position, after the magic was sniffed
    [top] = source.top_manifests()
    assert top.digest == FACTS_OCI
    for blob in manifest.parse(top.data).blobs:
        assert sha256(_served(source, blob.digest)) == blob.digest


def test_an_arriving_tar_cut_inside_a_member_is_truncated() -> None:
    data = cut_in_last_member((DATA / "skopeo-v2s2.tar").read_bytes())
    with pytest.raises(DockerError) as caught:
        walk(_Arriving(data), spool_in_memory, upload_size=lambda: len(data))  # type: ignore[arg-type]
    assert caught.value.code == "DKR1030"
