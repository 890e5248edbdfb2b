"""Every reader and the manifest parser against the real skopeo/umoci fixtures, with no server."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from tarballs import member, retar, tar_with, truncated

from pulp_docker.common import kinds, manifest, media_types
from pulp_docker.common.error_codes import DockerError
from pulp_docker.common.tarball import spool_in_memory, walk

DATA = Path(__file__).parent.parent / "data"
FACTS = json.loads((DATA / "FACTS.json").read_text())
SKOPEO_FIXTURES = [name for name in FACTS]


def _read(data: bytes):
    """Read a tarball held in memory (spooled in memory: the readers never see the difference)."""
    return kinds.open_source(walk(io.BytesIO(data), spool_in_memory, upload_size=len(data)))


def _blob_hashes(source) -> dict[str, tuple[str, int]]:
    """Claimed digest -> (sha256 of the bytes the source serves, size)."""
    found = {}
    for digest in source.blobs:
        data = source.get_blob(digest).read()
        found[digest] = (f"sha256:{hashlib.sha256(data).hexdigest()}", len(data))
    return found


@pytest.mark.parametrize("name", SKOPEO_FIXTURES)
def test_skopeo_fixture_reads_with_facts(name: str) -> None:
    facts = FACTS[name]
    source = _read((DATA / name).read_bytes())
    assert source.kind == kinds.SKOPEO_DIR
    assert source.version == "1.1"
    [top] = source.top_manifests()
    assert manifest.sha256_digest(top.data) == facts["manifest_digest_of_file_bytes"]
    assert sorted(d.split(":")[1] for d in source.blobs) == sorted(facts["blob_files"])
    for digest, (actual, _size) in _blob_hashes(source).items():
        assert actual == digest
    parsed = manifest.parse(top.data)
    assert parsed.schema_version == facts["schemaVersion"]
    if facts["schemaVersion"] == 2:
        assert parsed.digest == facts["manifest_digest_of_file_bytes"]
        assert parsed.config.digest == facts["config"]
        assert [layer.digest for layer in parsed.layers] == facts["layers"]
        expected = facts["mediaType"] or media_types.OCI_MANIFEST
        assert parsed.media_type == expected


def test_schema1_digest_is_over_the_payload_without_signatures() -> None:
    source = _read((DATA / "skopeo-v2s1.tar").read_bytes())
    data = source.top_manifests()[0].data
    parsed = manifest.parse(data)
    doc = json.loads(data)
    assert parsed.media_type == media_types.DOCKER_MANIFEST_V1_SIGNED
    # The payload is the manifest without its signatures block; the file digest differs from it.
    unsigned = {k: v for k, v in doc.items() if k != "signatures"}
    payload = manifest.schema1_payload(data, doc)
    assert json.loads(payload) == unsigned
    assert parsed.digest == manifest.sha256_digest(payload) != FACTS["skopeo-v2s1.tar"]["manifest_digest_of_file_bytes"]
    assert {b.digest.split(":")[1] for b in parsed.blobs} == set(FACTS["skopeo-v2s1.tar"]["blob_files"])


@pytest.mark.parametrize("variant", ["top-folder", "gzip", "no-version", "v1.0-names"])
def test_layout_variants_read_the_same_image(variant: str) -> None:
    expected = _read((DATA / "skopeo-v2s2.tar").read_bytes())
    if variant == "top-folder":
        data = retar("skopeo-v2s2.tar", lambda n: f"myimage/{n}")
    elif variant == "gzip":
        data = retar("skopeo-v2s2.tar", lambda n: n, compress=True)
    elif variant == "no-version":
        data = retar("skopeo-v2s2.tar", lambda n: n, skip={"version"})
    else:
        data = retar("skopeo-v2s2.tar", lambda n: f"{n}.tar" if len(n) == 64 else n)
    source = _read(data)
    assert source.top_manifests() == expected.top_manifests()
    assert _blob_hashes(source) == _blob_hashes(expected)
    assert source.version == (None if variant == "no-version" else "1.1")


@pytest.mark.parametrize("members,reason", [
    ([(member("../manifest.json"), b"{}")], "'..'"),
    ([(member("/etc/manifest.json"), b"{}")], "absolute path"),
    ([(member("manifest.json"), b"{}"), (member("manifest.json"), b"{}")], "more than once"),
    ([(member("manifest.json"), b"{}"), (member("dev", tarfile.CHRTYPE), None)], "not a regular file"),
    ([(member("manifest.json"), b"{}"), (member("x", tarfile.SYMTYPE, "/etc/passwd"), None)], "links"),
])
def test_unsafe_members_are_refused(members, reason: str) -> None:
    with pytest.raises(DockerError) as info:
        _read(tar_with(members))
    assert info.value.code == "DKR1031"
    assert reason in info.value.description


@pytest.mark.parametrize("data", [b"", b"not a tar at all" * 100, truncated("skopeo-v2s2.tar"),
                                  gzip.compress(truncated("skopeo-v2s2.tar"))])
def test_not_a_tar_or_truncated(data: bytes) -> None:
    with pytest.raises(DockerError) as info:
        _read(data)
    assert info.value.code == "DKR1030"


@pytest.mark.parametrize("doc,code", [
    (b"{not json", "DKR1034"),
    (b"[]", "DKR1034"),
    (json.dumps({"schemaVersion": 2, "mediaType": "application/x-nonsense", "config": {}, "layers": []}).encode(),
     "DKR1035"),
    (json.dumps({"schemaVersion": 2, "mediaType": media_types.DOCKER_MANIFEST_V2, "layers": []}).encode(), "DKR1034"),
    (json.dumps({"schemaVersion": 2, "mediaType": media_types.DOCKER_MANIFEST_V2,
                 "config": {"mediaType": media_types.DOCKER_CONFIG, "digest": "md5:abc", "size": 1},
                 "layers": []}).encode(), "DKR1034"),
])
def test_bad_manifests(doc: bytes, code: str) -> None:
    with pytest.raises(DockerError) as info:
        manifest.parse(doc)
    assert info.value.code == code


def test_common_imports_no_server_frameworks() -> None:
    """common/ is pure: shared by the client, it must not pull in the database or the web stack."""
    import subprocess
    import sys

    code = ("import sys, pulp_docker.common.kinds, pulp_docker.common.manifest, pulp_docker.common.constants;"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('mongoengine', 'pymongo', 'celery', 'starlette',"
            " 'pulp_platform')]; print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
