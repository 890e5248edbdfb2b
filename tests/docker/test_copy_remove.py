"""Copy and remove with docker semantics, over the REST API of a real server, and the failure paths in-process.

Copy (``actions/associate/``): a manifest brings its blobs, a list its manifests and their blobs, a tag
the image it names (the copy is the target's tag); all or nothing; the target auto-publishes. Remove
(``actions/unassociate/``): Pulp 2's recursion (tags, manifests of a list nothing else names, blobs no
remaining manifest uses); the repository auto-publishes; what nothing holds or serves is an orphan.
The cases of pulp-smash's ``docker/api_v2/test_copy.py`` (copy every tag, manifest or list: the same
counts in both repositories) are here with local images.
"""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import imagegen
import pytest
from conduit_double import ConduitDouble
from tarballs import DATA
from test_import_upload import assert_finished, content_files, counts, units, upload

from pulp_docker.common import kinds
from pulp_docker.common.error_codes import DockerError
from pulp_docker.common.tarball import spool_in_memory, walk
from pulp_docker.plugins.importers.copy import copy_units
from pulp_docker.plugins.ingest import ingest
from pulp_docker.plugins.ingest.tags import apply_tag
from pulp_docker.plugins.models import Blob, Manifest, ManifestList, Tag
from pulp_platform.storage import ContentStore

FACTS = json.loads((DATA / "FACTS.json").read_text())
V2S2, OCI = FACTS["skopeo-v2s2.tar"], FACTS["skopeo-oci.tar"]
V2S2_DIGEST, OCI_DIGEST = V2S2["manifest_digest_of_file_bytes"], OCI["manifest_digest_of_file_bytes"]
WEB = "docker_web_distributor_name_cli"
MANIFEST_ACCEPT = ", ".join(["application/vnd.docker.distribution.manifest.v2+json",
                             "application/vnd.docker.distribution.manifest.list.v2+json",
                             "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json"])
LIST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.list.v2+json"


# -- helpers ----------------------------------------------------------------------------------------
def new_repo(server, *, auto_publish: bool = True) -> str:
    repo_id = f"cr-{uuid.uuid4().hex[:10]}"
    server.create_repo(repo_id, distributors=[{
        "distributor_id": WEB, "distributor_type_id": "docker_distributor_web",
        "distributor_config": {"repo-registry-id": repo_id}, "auto_publish": auto_publish}])
    return repo_id


def copy(server, target: str, source: str, criteria: dict) -> dict:
    """``actions/associate/``; the final task."""
    response = server.api("POST", f"repositories/{target}/actions/associate/",
                          json={"source_repo_id": source, "criteria": criteria})
    assert response.status_code == 202, response.text
    return server.wait_task(response.json())


def remove(server, repo_id: str, criteria: dict) -> dict:
    """``actions/unassociate/``; the final task."""
    response = server.api("POST", f"repositories/{repo_id}/actions/unassociate/", json={"criteria": criteria})
    assert response.status_code == 202, response.text
    return server.wait_task(response.json())


def publish(server, repo_id: str) -> None:
    response = server.api("POST", f"repositories/{repo_id}/actions/publish/", json={"id": WEB})
    assert server.wait_task(response.json())["state"] == "finished"


def by_digest(type_id: str, digest: str) -> dict:
    return {"type_ids": [type_id], "filters": {"unit": {"digest": digest}}}


def by_tag(name: str) -> dict:
    return {"type_ids": ["docker_tag"], "filters": {"unit": {"name": name}}}


def copied(task: dict) -> list[tuple[str, str]]:
    """(type id, digest or tag name@repo) of every unit the task reports."""
    result = assert_finished(task)
    return sorted((u["type_id"], u["unit_key"].get("digest") or f"{u['unit_key']['name']}@{u['unit_key']['repo_id']}")
                  for u in result["units_successful"])


def served(server, repo: str, reference: str) -> str | None:
    """The digest the registry serves for ``/v2/<repo>/manifests/<reference>``, None on 404."""
    response = server.api("GET", f"/v2/{repo}/manifests/{reference}", auth=None, headers={"Accept": MANIFEST_ACCEPT})
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return response.headers["Docker-Content-Digest"]


def blob_bytes(server, repo: str, digest: str) -> bytes | None:
    response = server.api("GET", f"/v2/{repo}/blobs/{digest}", auth=None)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return response.content


def tags(server, repo_id: str) -> dict[str, str]:
    return {t["name"]: t["manifest_digest"] for t in units(server, repo_id, "docker_tag")}


def v2s2_blobs() -> list[str]:
    return sorted([V2S2["config"], *V2S2["layers"]])


@pytest.fixture(scope="module")
def multi(tmp_path_factory) -> dict:
    """A two-platform manifest list tarball (blobs unique to it) and its digests."""
    work = tmp_path_factory.mktemp("multi")
    digest = imagegen.make_image(work / "dir", 16 * 1024, platforms=["linux/amd64", "linux/arm64"], seed=7100)
    doc = json.loads((work / "dir" / "manifest.json").read_bytes())
    instances = {entry["platform"]["architecture"]: entry for entry in doc["manifests"]}
    return {"tar": imagegen.tar_dir(work / "dir", work / "multi.tar"), "digest": digest, "entries": instances,
            "amd64": instances["amd64"]["digest"], "arm64": instances["arm64"]["digest"],
            "blobs": {arch: _instance_blobs(work / "dir", entry["digest"]) for arch, entry in instances.items()}}


def _instance_blobs(folder: Path, digest: str) -> list[str]:
    doc = json.loads((folder / f"{digest.split(':', 1)[1]}.manifest.json").read_bytes())
    return sorted([doc["config"]["digest"], *(layer["digest"] for layer in doc["layers"])])


def unique_image(tmp_path: Path) -> tuple[Path, str, list[str]]:
    """A small image sharing no blob with anything else: (tarball, manifest digest, blob digests)."""
    folder = tmp_path / f"img-{uuid.uuid4().hex[:6]}"
    digest = imagegen.make_image(folder, 8192, small_layers=1, seed=uuid.uuid4().int % 10**6 + 10**6)
    doc = json.loads((folder / "manifest.json").read_bytes())
    blobs = sorted([doc["config"]["digest"], *(layer["digest"] for layer in doc["layers"])])
    return imagegen.tar_dir(folder, tmp_path / f"{folder.name}.tar"), digest, blobs


def upload_tag(server, repo_id: str, tmp_path: Path, name: str, digest: str) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    task = server.import_upload(repo_id, server.upload_file(empty), "docker_tag", {"name": name},
                                {"name": name, "manifest_digest": digest})
    assert_finished(task)


def only_list(server, repo_id: str, tmp_path: Path, entries: list[dict], tag: str) -> str:
    """Upload a manifest list of ``entries`` (instances the repository holds) as a JSON file; its digest."""
    data = json.dumps({"schemaVersion": 2, "mediaType": LIST_MEDIA_TYPE, "manifests": entries}).encode()
    path = tmp_path / f"list-{uuid.uuid4().hex[:6]}.json"
    path.write_bytes(data)
    result = assert_finished(upload(server, tmp_path, repo_id, path, tag=tag, unit_type_id="docker_manifest_list"))
    return result["details"]["unit"]["unit_key"]["digest"]


@pytest.fixture
def source(pulp_server, tmp_path, multi) -> str:
    """A repository holding the v2s2 image (tag ``1.0``), the OCI one (``oci``, same blobs) and the list (``m``)."""
    repo_id = new_repo(pulp_server)
    assert_finished(upload(pulp_server, tmp_path, repo_id, DATA / "skopeo-v2s2.tar", tag="1.0"))
    assert_finished(upload(pulp_server, tmp_path, repo_id, DATA / "skopeo-oci.tar", tag="oci"))
    assert_finished(upload(pulp_server, tmp_path, repo_id, multi["tar"], tag="m", unit_type_id="docker_manifest_list"))
    return repo_id


# -- copy -------------------------------------------------------------------------------------------
def test_copying_a_manifest_brings_its_blobs(pulp_server, source) -> None:
    target = new_repo(pulp_server)
    files = content_files(pulp_server)
    task = copy(pulp_server, target, source, by_digest("docker_manifest", V2S2_DIGEST))
    assert copied(task) == sorted([("docker_manifest", V2S2_DIGEST)] + [("docker_blob", d) for d in v2s2_blobs()])
    assert counts(pulp_server, target) == {"docker_blob": 4, "docker_manifest": 1}
    assert content_files(pulp_server) == files  # a copy writes no file
    # Auto-published: the copy is pullable by digest, every blob byte for byte.
    assert served(pulp_server, target, V2S2_DIGEST) == V2S2_DIGEST
    for digest in v2s2_blobs():
        assert blob_bytes(pulp_server, target, digest) == blob_bytes(pulp_server, source, digest) is not None
    assert served(pulp_server, target, "1.0") is None  # a manifest comes without its tags


def test_copying_a_manifest_list_brings_its_manifests_and_their_blobs(pulp_server, source, multi) -> None:
    target = new_repo(pulp_server)
    task = copy(pulp_server, target, source, by_digest("docker_manifest_list", multi["digest"]))
    blobs = multi["blobs"]["amd64"] + multi["blobs"]["arm64"]
    assert copied(task) == sorted([("docker_manifest_list", multi["digest"]), ("docker_manifest", multi["amd64"]),
                                   ("docker_manifest", multi["arm64"])] + [("docker_blob", d) for d in blobs])
    assert counts(pulp_server, target) == {"docker_manifest_list": 1, "docker_manifest": 2, "docker_blob": 10}
    for digest in (multi["digest"], multi["amd64"], multi["arm64"]):
        assert served(pulp_server, target, digest) == digest
    assert all(blob_bytes(pulp_server, target, d) for d in blobs)


def test_copying_a_tag_brings_its_image_and_the_copy_is_the_targets(pulp_server, source) -> None:
    target = new_repo(pulp_server)
    task = copy(pulp_server, target, source, by_tag("1.0"))
    assert copied(task) == sorted([("docker_tag", f"1.0@{target}"), ("docker_manifest", V2S2_DIGEST)]
                                  + [("docker_blob", d) for d in v2s2_blobs()])
    [tag] = units(pulp_server, target, "docker_tag")
    assert (tag["name"], tag["repo_id"], tag["manifest_digest"]) == ("1.0", target, V2S2_DIGEST)
    assert counts(pulp_server, target) == {"docker_blob": 4, "docker_manifest": 1, "docker_tag": 1}
    assert [t["repo_id"] for t in units(pulp_server, source, "docker_tag") if t["name"] == "1.0"] == [source]
    assert served(pulp_server, target, "1.0") == V2S2_DIGEST


def test_copying_a_tag_of_a_list_brings_the_list_and_all_under_it(pulp_server, source, multi) -> None:
    target = new_repo(pulp_server)
    assert_finished(copy(pulp_server, target, source, by_tag("m")))
    assert counts(pulp_server, target) == {"docker_manifest_list": 1, "docker_manifest": 2, "docker_blob": 10,
                                           "docker_tag": 1}
    assert tags(pulp_server, target) == {"m": multi["digest"]}
    assert served(pulp_server, target, "m") == multi["digest"]


def test_copying_onto_a_tag_of_the_same_name_moves_it(pulp_server, source, tmp_path) -> None:
    target = new_repo(pulp_server)
    assert_finished(upload(pulp_server, tmp_path, target, DATA / "skopeo-oci.tar", tag="1.0"))
    assert served(pulp_server, target, "1.0") == OCI_DIGEST
    assert_finished(copy(pulp_server, target, source, by_tag("1.0")))
    assert tags(pulp_server, target) == {"1.0": V2S2_DIGEST}
    assert counts(pulp_server, target) == {"docker_blob": 4, "docker_manifest": 2, "docker_tag": 1}
    assert served(pulp_server, target, "1.0") == V2S2_DIGEST


@pytest.mark.parametrize("type_id", ["docker_tag", "docker_manifest", "docker_manifest_list"])
def test_copying_every_unit_of_a_type_gives_the_same_count(pulp_server, source, type_id: str) -> None:
    """pulp-smash's CopyV2ContentTestCase: ``{"filters": {}, "type_ids": [type_id]}``."""
    target = new_repo(pulp_server)
    assert_finished(copy(pulp_server, target, source, {"filters": {}, "type_ids": [type_id]}))
    assert counts(pulp_server, target)[type_id] == counts(pulp_server, source)[type_id]


def test_copying_everything_copies_the_repository(pulp_server, source) -> None:
    target = new_repo(pulp_server)
    assert_finished(copy(pulp_server, target, source, {}))
    assert counts(pulp_server, target) == counts(pulp_server, source)
    assert {name: served(pulp_server, target, name) for name in ("1.0", "oci", "m")} == tags(pulp_server, source)


def test_copy_by_criteria_filters_on_unit_fields(pulp_server, source) -> None:
    target = new_repo(pulp_server)
    oci_only = {"type_ids": ["docker_manifest"],
                "filters": {"unit": {"media_type": "application/vnd.oci.image.manifest.v1+json"}}}
    assert ("docker_manifest", OCI_DIGEST) in copied(copy(pulp_server, target, source, oci_only))
    assert [m["digest"] for m in units(pulp_server, target, "docker_manifest")] == [OCI_DIGEST]
    two_tags = {"type_ids": ["docker_tag"], "filters": {"unit": {"name": {"$in": ["1.0", "oci"]}}}}
    assert_finished(copy(pulp_server, target, source, two_tags))
    assert tags(pulp_server, target) == {"1.0": V2S2_DIGEST, "oci": OCI_DIGEST}
    assert counts(pulp_server, target) == {"docker_blob": 4, "docker_manifest": 2, "docker_tag": 2}
    nothing = copy(pulp_server, target, source, by_tag("no-such-tag"))
    assert assert_finished(nothing) == {"units_successful": []}


def test_copying_an_image_the_source_holds_incompletely_fails_and_changes_nothing(pulp_server, tmp_path) -> None:
    """A blob removed on its own (Pulp 2 allowed it) leaves its manifest unpullable: copying it is refused."""
    broken = new_repo(pulp_server)
    assert_finished(upload(pulp_server, tmp_path, broken, DATA / "skopeo-v2s2.tar", tag="1.0"))
    assert_finished(remove(pulp_server, broken, by_digest("docker_blob", V2S2["layers"][1])))
    assert counts(pulp_server, broken) == {"docker_blob": 3, "docker_manifest": 1, "docker_tag": 1}
    target = new_repo(pulp_server)
    assert_finished(upload(pulp_server, tmp_path, target, DATA / "skopeo-oci.tar", tag="1.0"))
    before = (counts(pulp_server, target), tags(pulp_server, target))
    task = copy(pulp_server, target, broken, by_tag("1.0"))
    assert task["state"] == "error"
    assert task["error"]["code"] == "DKR1018", task["error"]
    assert V2S2["layers"][1] in task["error"]["description"] and broken in task["error"]["description"]
    assert (counts(pulp_server, target), tags(pulp_server, target)) == before
    assert served(pulp_server, target, "1.0") == OCI_DIGEST


def test_copying_units_the_importer_does_not_take_is_refused(pulp_server, tmp_path) -> None:
    files_repo = f"cr-files-{uuid.uuid4().hex[:8]}"
    pulp_server.create_repo(files_repo, importer_type_id="test_importer", distributors=[])
    text = tmp_path / "f.txt"
    text.write_text("a test file")
    assert_finished(pulp_server.import_upload(files_repo, pulp_server.upload_file(text), "test_file",
                                              {"name": f"f-{uuid.uuid4().hex[:6]}"}))
    target = new_repo(pulp_server)
    task = copy(pulp_server, target, files_repo, {})
    assert task["state"] == "error"
    assert task["error"]["code"] == "PLP0015" and "test_file" in task["error"]["description"], task["error"]
    assert counts(pulp_server, target) == {}


# -- remove -----------------------------------------------------------------------------------------
def test_removing_a_manifest_takes_its_tags_and_the_blobs_no_other_manifest_uses(pulp_server, tmp_path) -> None:
    repo_id = new_repo(pulp_server)
    assert_finished(upload(pulp_server, tmp_path, repo_id, DATA / "skopeo-v2s2.tar", tag="a"))
    assert_finished(upload(pulp_server, tmp_path, repo_id, DATA / "skopeo-oci.tar", tag="b"))
    upload_tag(pulp_server, repo_id, tmp_path, "a2", V2S2_DIGEST)
    assert served(pulp_server, repo_id, "a") == V2S2_DIGEST

    # The OCI manifest uses the same four blobs: they stay.
    task = remove(pulp_server, repo_id, by_digest("docker_manifest", V2S2_DIGEST))
    assert copied(task) == sorted([("docker_manifest", V2S2_DIGEST), ("docker_tag", f"a@{repo_id}"),
                                   ("docker_tag", f"a2@{repo_id}")])
    assert counts(pulp_server, repo_id) == {"docker_blob": 4, "docker_manifest": 1, "docker_tag": 1}
    assert tags(pulp_server, repo_id) == {"b": OCI_DIGEST}
    # Republished (auto-publish): the removed tags and manifest are no longer served.
    assert served(pulp_server, repo_id, "a") is None and served(pulp_server, repo_id, V2S2_DIGEST) is None
    assert served(pulp_server, repo_id, "b") == OCI_DIGEST

    task = remove(pulp_server, repo_id, by_digest("docker_manifest", OCI_DIGEST))
    assert copied(task) == sorted([("docker_manifest", OCI_DIGEST), ("docker_tag", f"b@{repo_id}")]
                                  + [("docker_blob", d) for d in v2s2_blobs()])
    assert counts(pulp_server, repo_id) == {}
    assert blob_bytes(pulp_server, repo_id, V2S2["layers"][0]) is None


def test_removing_a_tag_leaves_its_manifest(pulp_server, tmp_path) -> None:
    repo_id = new_repo(pulp_server)
    assert_finished(upload(pulp_server, tmp_path, repo_id, DATA / "skopeo-v2s2.tar", tag="a"))
    task = remove(pulp_server, repo_id, by_tag("a"))
    assert copied(task) == [("docker_tag", f"a@{repo_id}")]
    assert counts(pulp_server, repo_id) == {"docker_blob": 4, "docker_manifest": 1}
    response = pulp_server.api("GET", f"/v2/{repo_id}/manifests/a", auth=None)
    assert response.status_code == 404 and response.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    assert served(pulp_server, repo_id, V2S2_DIGEST) == V2S2_DIGEST


def test_removing_a_list_takes_the_manifests_no_other_list_or_tag_names(pulp_server, tmp_path, multi) -> None:
    repo_id = new_repo(pulp_server)
    assert_finished(upload(pulp_server, tmp_path, repo_id, multi["tar"], tag="m", unit_type_id="docker_manifest_list"))
    amd64_only = only_list(pulp_server, repo_id, tmp_path, [multi["entries"]["amd64"]], tag="m2")
    upload_tag(pulp_server, repo_id, tmp_path, "arm", multi["arm64"])
    assert counts(pulp_server, repo_id) == {"docker_manifest_list": 2, "docker_manifest": 2, "docker_blob": 10,
                                            "docker_tag": 3}

    # amd64 is named by the other list, arm64 by a tag: both stay.
    task = remove(pulp_server, repo_id, by_digest("docker_manifest_list", multi["digest"]))
    assert copied(task) == sorted([("docker_manifest_list", multi["digest"]), ("docker_tag", f"m@{repo_id}")])
    assert counts(pulp_server, repo_id) == {"docker_manifest_list": 1, "docker_manifest": 2, "docker_blob": 10,
                                            "docker_tag": 2}
    assert served(pulp_server, repo_id, "m") is None and served(pulp_server, repo_id, "m2") == amd64_only

    # The last list takes amd64 (nothing else names it) and its blobs; arm64 was never in it.
    task = remove(pulp_server, repo_id, by_digest("docker_manifest_list", amd64_only))
    assert copied(task) == sorted([("docker_manifest_list", amd64_only), ("docker_tag", f"m2@{repo_id}"),
                                   ("docker_manifest", multi["amd64"])]
                                  + [("docker_blob", d) for d in multi["blobs"]["amd64"]])
    assert counts(pulp_server, repo_id) == {"docker_manifest": 1, "docker_blob": 5, "docker_tag": 1}
    assert sorted(b["digest"] for b in units(pulp_server, repo_id, "docker_blob")) == multi["blobs"]["arm64"]
    assert served(pulp_server, repo_id, "arm") == multi["arm64"]


def test_removing_a_list_nothing_else_names_empties_the_repository(pulp_server, tmp_path, multi) -> None:
    repo_id = new_repo(pulp_server)
    assert_finished(upload(pulp_server, tmp_path, repo_id, multi["tar"], tag="m", unit_type_id="docker_manifest_list"))
    task = remove(pulp_server, repo_id, by_tag("m"))
    assert copied(task) == [("docker_tag", f"m@{repo_id}")]  # a tag goes alone
    task = remove(pulp_server, repo_id, by_digest("docker_manifest_list", multi["digest"]))
    assert len(copied(task)) == 1 + 2 + 10
    assert counts(pulp_server, repo_id) == {}


def test_removal_does_not_touch_other_repositories(pulp_server, source, multi) -> None:
    target = new_repo(pulp_server)
    assert_finished(copy(pulp_server, target, source, {}))
    before = counts(pulp_server, source)
    assert_finished(remove(pulp_server, target, {}))
    assert counts(pulp_server, target) == {}
    assert counts(pulp_server, source) == before
    assert served(pulp_server, source, "m") == multi["digest"] and served(pulp_server, target, "m") is None


# -- orphans ----------------------------------------------------------------------------------------
def test_removed_units_become_orphans_and_served_files_survive_their_removal(start_pulp_server, tmp_path) -> None:
    server = start_pulp_server()  # its own server: orphans are global
    # ``kept`` publishes by hand: it serves what it last published after it drops it.
    kept = new_repo(server, auto_publish=False)
    assert_finished(upload(server, tmp_path, kept, DATA / "skopeo-v2s2.tar", tag="1.0"))
    publish(server, kept)
    work = new_repo(server)
    assert_finished(copy(server, work, kept, by_tag("1.0")))
    tarball, unique_digest, unique_blobs = unique_image(tmp_path)
    assert_finished(upload(server, tmp_path, work, tarball, tag="u"))

    assert_finished(remove(server, kept, {}))
    assert_finished(remove(server, work, by_digest("docker_manifest", V2S2_DIGEST)))
    assert_finished(remove(server, work, by_digest("docker_manifest", unique_digest)))
    assert counts(server, kept) == counts(server, work) == {}
    assert served(server, work, "1.0") is None and served(server, work, "u") is None

    def orphans(type_id: str) -> list[str]:
        rows = server.api("GET", f"content/orphans/{type_id}/").json()
        return sorted(row.get("digest") or f"{row['name']}@{row['repo_id']}" for row in rows)

    # The blobs and manifest ``kept`` still serves are not orphans; the unique image's are.
    assert orphans("docker_blob") == unique_blobs
    assert orphans("docker_manifest") == [unique_digest]
    assert orphans("docker_tag") == sorted([f"1.0@{kept}", f"1.0@{work}", f"u@{work}"])
    store = server.data_dir / "content"
    unique_files = [store / "sha256" / d[7:9] / d[7:] for d in unique_blobs]
    assert all(path.is_file() for path in unique_files), unique_files

    removed = server.wait_task(server.api("DELETE", "content/orphans/").json())
    assert removed["result"]["docker_blob"] == 3 and removed["result"]["content_files"] == 4, removed
    assert not any(path.exists() for path in unique_files)
    assert orphans("docker_blob") == orphans("docker_manifest") == orphans("docker_tag") == []
    for digest in v2s2_blobs():  # still served by ``kept``'s publication, file and all
        assert blob_bytes(server, kept, digest) == (store / "sha256" / digest[7:9] / digest[7:]).read_bytes()
    assert served(server, kept, "1.0") == V2S2_DIGEST


# -- failure paths, in-process --------------------------------------------------------------------
def _ingest(conduit: ConduitDouble, data: bytes, tag: str) -> None:
    with conduit.store.staging() as staging:
        ingest(kinds.open_source(walk(io.BytesIO(data), spool_in_memory, upload_size=len(data))), conduit,
               staging, tag=tag)


@pytest.fixture
def doubles(tmp_path) -> tuple[ConduitDouble, ConduitDouble]:
    """A source repository holding the v2s2 image (tag ``1.0``) and the OCI one (``oci``); an empty target."""
    store = ContentStore(tmp_path / "content")
    units_by_key: dict = {}
    held: dict = {}
    src = ConduitDouble("src", store, units_by_key=units_by_key, held=held)
    dst = ConduitDouble("dst", store, units_by_key=units_by_key, held=held)
    _ingest(src, (DATA / "skopeo-v2s2.tar").read_bytes(), "1.0")
    _ingest(src, (DATA / "skopeo-oci.tar").read_bytes(), "oci")
    return src, dst


def _calls(conduit: ConduitDouble, method: str) -> list:
    return [arg for name, arg in conduit.calls if name == method]


@pytest.mark.parametrize("failing", ["Blob", "Manifest", "Tag"])
def test_a_failure_mid_copy_leaves_nothing_in_the_target(doubles, failing: str) -> None:
    src, dst = doubles
    before = set(src.held)
    files = set(src.store.digests())
    dst.fail_on("associate", lambda unit: type(unit).__name__ == failing
                and (failing != "Blob" or len(_calls(dst, "associate")) > 2))
    with pytest.raises(RuntimeError):
        copy_units(dst, src, list(src.units(Tag, name="1.0")))
    assert list(dst.held_units()) == []
    assert _calls(dst, "unassociate"), "the rollback removed nothing"
    assert set(src.held) == before and set(src.store.digests()) == files


def test_a_failing_tag_save_mid_copy_puts_the_moved_tag_back(doubles) -> None:
    src, dst = doubles
    oci = src.units(Manifest, digest=OCI_DIGEST).first()
    copy_units(dst, src, [oci])
    apply_tag(dst, "1.0", oci)  # the target's "1.0" names the OCI image
    held_before = set(dst.held)
    saves: list = []
    # Copying "1.0" (the v2s2 image) moves the target's "1.0"; saving "oci" next fails.
    dst.fail_on("save_unit", lambda unit: isinstance(unit, Tag) and not saves.append(unit) and len(saves) == 2)
    with pytest.raises(RuntimeError):
        copy_units(dst, src, [*src.units(Tag, name="1.0"), *src.units(Tag, name="oci")])
    assert set(dst.held) == held_before  # the v2s2 manifest, new to the target, was taken back
    assert {t.name: t.manifest_digest for t in dst.units(Tag)} == {"1.0": OCI_DIGEST}


def test_a_copy_missing_pieces_reports_them_all_and_touches_nothing(doubles) -> None:
    src, dst = doubles
    for unit in list(src.units(Blob, digest__in=V2S2["layers"][:2])):
        src.unassociate(unit)
    dangling = Tag(name="gone", repo_id="src", schema_version=2, manifest_type="list",
                   manifest_digest="sha256:" + "1" * 64)
    with pytest.raises(DockerError) as raised:
        copy_units(dst, src, [*src.units(Tag, name="1.0"), dangling])
    assert raised.value.code == "DKR1040"
    assert sorted(e.code for e in raised.value.sub_errors) == ["DKR1010", "DKR1018", "DKR1018"]
    assert _calls(dst, "associate") == _calls(dst, "save_unit") == []


def test_copy_lists_each_unit_once_in_association_order(doubles) -> None:
    src, dst = doubles
    result = copy_units(dst, src, [*src.units(Tag), *src.units(Manifest), *src.units(Blob)])
    kinds_in_order = [type(u).__name__ for u in result]
    assert kinds_in_order == ["Blob"] * 4 + ["Manifest"] * 2 + ["Tag"] * 2
    assert {u.repo_id for u in result if isinstance(u, Tag)} == {"dst"}
    assert not [u for u in result if isinstance(u, ManifestList)]
