"""The ingest path's failure handling, in-process, with a test double of the conduit.

What these hold: a failure part-way takes back every association and moved tag (the rollback is not
a no-op), never deletes a file or unit another import relies on, and an instance manifest whose bytes
do not hash to the digest its list names is refused with nothing stored.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import imagegen
import pytest
from archives import Image, docker_archive, layer_tar
from conduit_double import ConduitDouble

from pulp_docker.common import kinds
from pulp_docker.common.error_codes import DockerError
from pulp_docker.common.tarball import spool_in_memory, walk
from pulp_docker.plugins.ingest import ingest
from pulp_docker.plugins.models import Blob, Manifest, ManifestList, Tag
from pulp_platform.storage import ContentStore

DATA = Path(__file__).parent.parent / "data"


def _source(data: bytes):
    return kinds.open_source(walk(io.BytesIO(data), spool_in_memory, upload_size=len(data)))


def _files(store: ContentStore) -> set[str]:
    return set(store.digests())


def _run(conduit: ConduitDouble, data: bytes, tag: str | None = None) -> dict:
    with conduit.store.staging() as staging:
        return ingest(_source(data), conduit, staging, tag=tag)


@pytest.fixture
def store(tmp_path) -> ContentStore:
    return ContentStore(tmp_path / "content")


def test_an_import_stores_and_associates_everything(store) -> None:
    conduit = ConduitDouble("r1", store)
    report = _run(conduit, (DATA / "skopeo-v2s2.tar").read_bytes(), tag="1.0")
    held = list(conduit.held_units())
    assert sorted(type(u).__name__ for u in held) == ["Blob"] * 4 + ["Manifest", "Tag"]
    assert _files(store) >= {u.digest for u in held if isinstance(u, Blob)}
    assert report["summary"]["tags"] == ["1.0"]
    assert not any(store.tmp.iterdir())


def test_an_image_list_is_associated_in_one_batch_blobs_then_instances_then_the_list(store, tmp_path) -> None:
    """A reader sees a prefix of the ordered batch: never a manifest before its blobs, nor a list before
    its instances. The tag comes after the batch."""
    image = tmp_path / "multi"
    imagegen.make_image(image, 16 * 1024, platforms=["linux/amd64", "linux/arm64"])
    conduit = ConduitDouble("r1", store)
    _run(conduit, imagegen.tar_dir(image, tmp_path / "multi.tar").read_bytes(), tag="multi")
    batches = [units for method, units in conduit.calls if method == "associate_all"]
    kinds_in_order = [[type(unit).__name__ for unit in units] for units in batches]
    blobs = sum(1 for unit in conduit.held_units() if isinstance(unit, Blob))
    assert blobs >= 4
    assert kinds_in_order[0] == ["Blob"] * blobs + ["Manifest", "Manifest", "ManifestList"]
    assert len(batches) == 1
    methods = [(method, type(arg).__name__) for method, arg in conduit.calls if method.startswith("associate")]
    assert methods[-1] == ("associate", "Tag")  # the tag is applied once the batch is in
    assert {unit.digest for unit in batches[0][blobs:blobs + 2]} == {
        entry["digest"] for entry in json.loads((image / "manifest.json").read_bytes())["manifests"]}


@pytest.mark.parametrize("failing", ["Blob", "Manifest", "Tag"])
def test_a_failure_while_storing_takes_back_every_association(store, failing: str) -> None:
    conduit = ConduitDouble("r1", store)
    conduit.fail_on("associate", lambda unit: type(unit).__name__ == failing
                    and (failing != "Blob" or len([c for c in conduit.calls if c[0] == "associate"]) > 2))
    with pytest.raises(RuntimeError):
        _run(conduit, (DATA / "skopeo-v2s2.tar").read_bytes(), tag="1.0")
    assert list(conduit.held_units()) == []
    unassociated = [c for c in conduit.calls if c[0] == "unassociate"]
    assert unassociated, "the rollback removed nothing"
    assert not any(store.tmp.iterdir())


def test_a_failed_import_keeps_files_and_units_another_import_found_in_place(store) -> None:
    """Import A fails after import B, into another repository, found A's files and units in place."""
    units_by_key: dict = {}
    held: dict = {}
    a = ConduitDouble("repo-a", store, units_by_key=units_by_key, held=held)
    b = ConduitDouble("repo-b", store, units_by_key=units_by_key, held=held)
    data = (DATA / "skopeo-v2s2.tar").read_bytes()

    def b_imports_then_a_fails(unit) -> bool:
        if isinstance(unit, Manifest):
            _run(b, data, tag="b")  # B's commits find every file already there
            return True
        return False

    a.fail_on("associate", b_imports_then_a_fails)
    with pytest.raises(RuntimeError):
        _run(a, data, tag="a")
    assert list(a.held_units()) == []
    b_units = list(b.held_units())
    assert len(b_units) == 6
    for unit in b_units:
        if isinstance(unit, Blob | Manifest):
            assert store.path(unit.digest if isinstance(unit, Blob) else _file_digest(store, unit)).is_file()
        assert units_by_key[ConduitDouble._key(unit)] is unit


def _single_image(multi: Path, digest: str, out: Path) -> Path:
    """The skopeo dir of one instance of a multi-arch dir: its manifest as manifest.json, its blobs."""
    shutil.copytree(multi, out)
    instance = out / f"{digest[7:]}.manifest.json"
    (out / "manifest.json").write_bytes(instance.read_bytes())
    for extra in out.glob("*.manifest.json"):
        extra.unlink()
    return out


def _file_digest(store: ContentStore, unit) -> str:
    return "sha256:" + unit.storage_path.rsplit("/", 1)[1]


def test_a_failed_import_puts_a_moved_tag_back(store) -> None:
    conduit = ConduitDouble("r1", store)
    first = Image([layer_tar({"a": b"1"})], ["app:stable"], "first")
    _run(conduit, docker_archive([first]))
    [before] = conduit.units(Tag)
    old_target = before.manifest_digest
    second = Image([layer_tar({"b": b"2"})], ["app:stable", "app:new"], "second")
    conduit.fail_on("associate", lambda unit: isinstance(unit, Tag) and unit.name == "new")
    with pytest.raises(RuntimeError):
        _run(conduit, docker_archive([second]))
    tags = conduit.units(Tag)
    assert [(t.name, t.manifest_digest) for t in tags] == [("stable", old_target)]


def test_an_instance_manifest_that_does_not_hash_to_its_list_entry_is_refused(store, tmp_path) -> None:
    image = tmp_path / "multi"
    imagegen.make_image(image, 16 * 1024, platforms=["linux/amd64", "linux/arm64"])
    listed = json.loads((image / "manifest.json").read_bytes())["manifests"]
    first, second = (image / f"{entry['digest'][7:]}.manifest.json" for entry in listed)
    a, b = first.read_bytes(), second.read_bytes()
    first.write_bytes(b)  # each file now holds the other instance's bytes
    second.write_bytes(a)
    conduit = ConduitDouble("r1", store)
    with pytest.raises(DockerError) as info:
        _run(conduit, imagegen.tar_dir(image, tmp_path / "swapped.tar").read_bytes())
    codes = {e.code for e in info.value.sub_errors} or {info.value.code}
    assert codes == {"DKR1017"}
    assert list(conduit.held_units()) == []
    assert _files(store) == set() and not any(store.tmp.iterdir())


def test_an_index_entry_whose_manifest_bytes_differ_is_refused(store) -> None:
    from archives import descriptor, oci_layout, oci_manifest, sha256

    data, blobs = oci_manifest(Image([layer_tar({"a": b"1"})]))
    entry = descriptor(data, "application/vnd.oci.image.manifest.v1+json", "1.0")
    blobs[sha256(data)] = data + b" "  # the blob under that name holds other bytes
    conduit = ConduitDouble("r1", store)
    with pytest.raises(DockerError) as info:
        _run(conduit, oci_layout([entry], blobs))
    assert info.value.code == "DKR1042"
    assert list(conduit.held_units()) == [] and _files(store) == set()


def test_a_tag_for_an_archive_of_several_images_is_refused_before_anything_is_staged(store) -> None:
    one, two = Image([layer_tar({"a": b"1"})], ["a:1"], "1"), Image([layer_tar({"b": b"2"})], ["b:2"], "2")
    conduit = ConduitDouble("r1", store)
    with pytest.raises(DockerError) as info:
        _run(conduit, docker_archive([one, two]), tag="x")
    assert info.value.code == "DKR1041"
    assert "2 images" in info.value.description
    assert list(conduit.held_units()) == [] and _files(store) == set()


def test_a_list_upload_needs_its_manifests_in_the_repository(store, tmp_path) -> None:
    from pulp_docker.common.manifest_file import ManifestFileSource

    image = tmp_path / "multi"
    imagegen.make_image(image, 16 * 1024, platforms=["linux/amd64", "linux/arm64"])
    list_bytes = (image / "manifest.json").read_bytes()
    conduit = ConduitDouble("r1", store)
    with store.staging() as staging, pytest.raises(DockerError) as info:
        ingest(ManifestFileSource(list_bytes), conduit, staging)
    assert {e.code for e in info.value.sub_errors} == {"DKR1037"}
    assert all(entry["digest"] in info.value.description for entry in json.loads(list_bytes)["manifests"])
    # With both instances in the repository, the list alone imports.
    for entry in json.loads(list_bytes)["manifests"]:
        instance = _single_image(image, entry["digest"], tmp_path / entry["digest"][7:])
        _run(conduit, imagegen.tar_dir(instance, tmp_path / f"{entry['digest'][7:]}.tar").read_bytes())
    with store.staging() as staging:
        report = ingest(ManifestFileSource(list_bytes), conduit, staging, tag="multi")
    assert report["details"]["manifests_present"] == [e["digest"] for e in json.loads(list_bytes)["manifests"]]
    assert [type(u) for u in conduit.units(ManifestList)] == [ManifestList]
