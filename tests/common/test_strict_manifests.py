"""Parser differentials: documents Python's json would take but registry clients refuse are refused here.

Each case is a manifest (or archive metadata) a Go client (docker, containerd, skopeo) cannot read or
reads differently: UTF-16, a byte order mark, NaN, ``2.0`` for ``schemaVersion``, ``777.0`` for a size,
a name ending in a newline. The parser, the readers and the reference grammars each refuse them with a
coded error that says why; the well-formed twin of each case is accepted, so none passes by accident.
"""

from __future__ import annotations

import io
import json
import tarfile

import pytest
from archives import Image, descriptor, docker_archive, layer_tar, oci_layout, oci_manifest, sha256
from tarballs import member, tar_with

from pulp_docker.common import kinds, manifest, references
from pulp_docker.common import media_types as mt
from pulp_docker.common.error_codes import DockerError
from pulp_docker.common.tarball import spool_in_memory, walk

LAYER = {"mediaType": mt.DOCKER_LAYER, "size": 777, "digest": "sha256:" + "a" * 64}
CONFIG = {"mediaType": mt.DOCKER_CONFIG, "size": 7, "digest": "sha256:" + "b" * 64}


def _doc(**changes) -> dict:
    return {"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST_V2, "config": CONFIG, "layers": [LAYER], **changes}


GOOD = json.dumps(_doc()).encode()


def _refused(data: bytes, code: str = "DKR1034") -> str:
    with pytest.raises(DockerError) as info:
        manifest.parse(data)
    assert info.value.code == code, info.value.description
    return info.value.description


def test_the_well_formed_manifest_parses() -> None:
    parsed = manifest.parse(GOOD)
    assert parsed.media_type == mt.DOCKER_MANIFEST_V2 and parsed.layers[0].size == 777


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_are_refused(encoding: str) -> None:
    assert "not UTF-8" in _refused(GOOD.decode().encode(encoding))


def test_a_utf8_byte_order_mark_is_refused() -> None:
    assert "byte order mark" in _refused(b"\xef\xbb\xbf" + GOOD)


def test_invalid_utf8_is_refused() -> None:
    data = json.dumps(_doc(annotations={"a": "\xe9"}), ensure_ascii=False).encode("latin-1")
    assert "not UTF-8" in _refused(data)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_nan_and_infinity_are_refused(number: str) -> None:
    data = GOOD.replace(b'"schemaVersion": 2,', f'"schemaVersion": 2, "x": {number},'.encode())
    assert number.lstrip("-") in _refused(data)


@pytest.mark.parametrize("version", ["2.0", "true", '"2"', "3", "null"])
def test_schema_version_must_be_the_integer_2(version: str) -> None:
    data = GOOD.replace(b'"schemaVersion": 2', f'"schemaVersion": {version}'.encode())
    assert "schemaVersion" in _refused(data)


@pytest.mark.parametrize("version", ["1.0", "true"])
def test_schema1_version_must_be_the_integer_1(version: str) -> None:
    doc = {"schemaVersion": 1, "name": "a", "tag": "b", "fsLayers": [{"blobSum": "sha256:" + "a" * 64}]}
    data = json.dumps(doc).encode()
    assert manifest.parse(data).schema_version == 1
    assert "schemaVersion" in _refused(data.replace(b'"schemaVersion": 1', f'"schemaVersion": {version}'.encode()))


@pytest.mark.parametrize("size", ["777.0", "7.77e2", "true", "-1", str(2**63)])
def test_a_size_must_be_an_int64(size: str) -> None:
    data = GOOD.replace(b'"size": 777', f'"size": {size}'.encode())
    assert "layers/0/size" in _refused(data)


def test_a_manifest_list_entry_size_must_be_an_integer() -> None:
    entry = {"mediaType": mt.DOCKER_MANIFEST_V2, "size": 777, "digest": "sha256:" + "c" * 64,
             "platform": {"os": "linux", "architecture": "amd64"}}
    data = json.dumps({"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST_LIST, "manifests": [entry]}).encode()
    assert manifest.parse(data).manifests[0].size == 777
    assert "manifests/0/size" in _refused(data.replace(b'"size": 777', b'"size": 777.0'))


def test_duplicate_keys_are_refused() -> None:
    data = GOOD.replace(b'"schemaVersion": 2,', b'"schemaVersion": 2, "schemaVersion": 2,')
    assert "twice" in _refused(data)


@pytest.mark.parametrize("depth", [40, 100_000])
def test_nesting_is_bounded(depth: int) -> None:
    data = GOOD.replace(b'"schemaVersion": 2,', b'"schemaVersion": 2, "x": ' + b"[" * depth + b"]" * depth + b",")
    assert "nested" in _refused(data)


def test_a_lone_surrogate_is_refused() -> None:
    data = json.dumps(_doc(annotations={"a": "\ud800"})).encode()
    assert "surrogate" in _refused(data)


def test_annotations_must_map_strings_to_strings() -> None:
    assert manifest.parse(json.dumps(_doc(annotations={"a": "1"})).encode()).annotations == {"a": "1"}
    assert "annotations" in _refused(json.dumps(_doc(annotations={"a": 1})).encode())


def test_a_manifest_larger_than_4_mib_is_refused() -> None:
    data = json.dumps(_doc(annotations={"a": "x" * (4 * 1024 * 1024)})).encode()
    assert "larger than" in _refused(data)


def test_an_index_with_layers_is_refused() -> None:
    doc = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [], "layers": [LAYER]}
    assert "both manifests and layers" in _refused(json.dumps(doc).encode())


def test_a_declared_media_type_must_fit_the_document() -> None:
    assert _refused(json.dumps(_doc(mediaType=mt.OCI_INDEX)).encode(), "DKR1035")
    schema1 = {"schemaVersion": 1, "mediaType": mt.DOCKER_MANIFEST_V2, "fsLayers": [{"blobSum": LAYER["digest"]}]}
    assert "schema 1" in _refused(json.dumps(schema1).encode(), "DKR1035")


def test_the_digest_of_a_lenient_document_is_that_of_its_bytes() -> None:
    # manifest_digest (the push path's) reads strictly too: a schema 1 document with a BOM is not schema 1.
    doc = {"schemaVersion": 1, "fsLayers": [{"blobSum": LAYER["digest"]}], "signatures": [{"protected": "x"}]}
    data = b"\xef\xbb\xbf" + json.dumps(doc).encode()
    assert manifest.manifest_digest(data) == manifest.sha256_digest(data)


# -- names: tags, digests, repositories, members --------------------------------------------------------

@pytest.mark.parametrize("good, bad", [("1.0", "1.0\n"), ("latest", "latest\r"), ("v1", "v\x001")])
def test_a_tag_with_a_control_character_is_refused(good: str, bad: str) -> None:
    assert references.is_tag(good) and not references.is_tag(bad)


def test_digests_and_repository_names_with_a_final_newline_are_refused() -> None:
    digest = "sha256:" + "a" * 64
    assert references.is_sha256_digest(digest) and not references.is_sha256_digest(digest + "\n")
    assert references.is_repository_name("ns/app") and not references.is_repository_name("ns/app\n")
    assert "layers/0/digest" in _refused(GOOD.replace(digest.encode(), digest.encode() + b"\\n"))


def _walk(data: bytes):
    return walk(io.BytesIO(data), spool_in_memory, upload_size=len(data))


@pytest.mark.parametrize("name", ["a" * 64 + "\n", "blobs/sha256/x\x1b[2J", "a\tb", "x\x85"])
def test_a_member_name_with_a_control_character_is_refused(name: str) -> None:
    assert _walk(tar_with([(member("ok"), b"1")])).files
    with pytest.raises(DockerError) as info:
        _walk(tar_with([(member(name), b"1")]))
    assert info.value.code == "DKR1031" and "control character" in info.value.description


def test_a_link_target_with_a_control_character_is_refused() -> None:
    with pytest.raises(DockerError) as info:
        _walk(tar_with([(member("a"), b"1"), (member("b", tarfile.SYMTYPE, "a\n"), None)]))
    assert info.value.code == "DKR1031"


def test_an_archive_tag_ending_in_a_newline_is_no_tag() -> None:
    source = kinds.open_source(_walk(docker_archive([Image([layer_tar({"a": b"1"})], ["app:1.0\n"])])))
    [top] = source.top_manifests()
    assert top.tags == ("1.0\n",) and not references.is_tag(top.tags[0])  # the ingest refuses it (DKR1039)


# -- archive metadata ----------------------------------------------------------------------------------

def _layout(size) -> bytes:
    data, blobs = oci_manifest(Image([layer_tar({"a": b"1"})]))
    blobs[sha256(data)] = data
    entry = descriptor(data, mt.OCI_MANIFEST, "1.0")
    index = json.dumps({"schemaVersion": 2, "manifests": [{**entry, "size": "SIZE"}]})
    members = [("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'),
               ("index.json", index.replace('"SIZE"', size(len(data))).encode())]
    members += [(f"blobs/sha256/{digest[7:]}", blob) for digest, blob in blobs.items()]
    return tar_with([(member(name), blob) for name, blob in members])


def test_an_oci_index_entry_size_must_be_an_integer() -> None:
    assert kinds.open_source(_walk(_layout(str))).top_manifests()[0].size
    with pytest.raises(DockerError) as info:
        kinds.open_source(_walk(_layout(lambda n: f"{n}.0")))
    assert info.value.code == "DKR1033" and "size" in info.value.description


def test_an_oci_index_json_with_nan_is_refused() -> None:
    data, blobs = oci_manifest(Image([layer_tar({"a": b"1"})]))
    entry = {**descriptor(data, mt.OCI_MANIFEST, "1.0"), "annotations": {"x": "NAN"}}
    tarball = oci_layout([entry], {**blobs, sha256(data): data})
    kinds.open_source(_walk(tarball))
    with pytest.raises(DockerError) as info:
        kinds.open_source(_walk(tarball.replace(b'"NAN"', b"NaN  ")))
    assert info.value.code == "DKR1033" and "NaN" in info.value.description


def test_a_docker_archive_config_with_nan_is_refused() -> None:
    image = Image([layer_tar({"a": b"1"})], ["app:1"])
    good = docker_archive([image])
    kinds.open_source(_walk(good))
    bad = good.replace(b'"architecture": "amd64"', b'"architecture": NaN    ')
    assert bad != good
    with pytest.raises(DockerError) as info:
        kinds.open_source(_walk(bad))
    assert info.value.code == "DKR1033" and "NaN" in info.value.description
