"""``pulp-admin docker repo copy|remove …`` against the real server, through a proxy that records what
pulp-admin sends: Pulp 2's request bodies (``associate``/``unassociate`` with criteria), its output, the
v1 ``image`` refusals, ``--bg`` and ``--json``; then the docker semantics of the results (a manifest
brings its blobs, a tag its manifest), which the importer provides.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from admin_runner import Admin
from tarballs import DATA
from tcp_proxy import RecordingProxy

from pulp_admin_client import units
from pulp_docker.extensions.admin.copy_remove import unit_text

FACTS = json.loads((DATA / "FACTS.json").read_text())["skopeo-v2s2.tar"]
DIGEST = FACTS["manifest_digest_of_file_bytes"]
BLOBS = sorted(f"sha256:{name}" for name in FACTS["blob_files"])


@pytest.fixture
def proxy(admin: Admin, docker_server: Any):
    """pulp-admin talks to the server through a recording proxy."""
    recorder = RecordingProxy(docker_server.url)
    admin.configure(host="127.0.0.1", port=recorder.port)
    yield recorder
    recorder.close()


@pytest.fixture
def source(admin: Admin, docker_server: Any) -> str:
    """A repository holding skopeo-v2s2.tar's image, tagged ``latest``."""
    name = f"src-{uuid.uuid4().hex[:8]}"
    admin.ok("docker", "repo", "create", "--repo-id", name)
    admin.ok("docker", "repo", "uploads", "upload", "--repo-id", name, "-f", str(DATA / "skopeo-v2s2.tar"),
             "--tag", "latest")
    return name


def content(admin: Admin, repo_id: str, kind: str) -> list[str]:
    """What a repository holds of one kind: tag names, or digests."""
    found = admin.json("docker", "repo", "search", kind, "--repo-id", repo_id)
    return sorted(u["metadata"]["name" if kind == "tag" else "digest"] for u in found)


def test_copy_sends_pulp2s_associate_body_and_prints_the_copied_units(admin: Admin, source, repo_id, proxy):
    out = admin.ok("docker", "repo", "copy", "manifest", "--from-repo-id", source, "--to-repo-id", repo_id)
    assert proxy.bodies("POST", f"/repositories/{repo_id}/actions/associate/") == [
        {"source_repo_id": source, "criteria": {"type_ids": ["docker_manifest"]}, "override_config": {}}]
    assert out.splitlines()[0] == "Copied:"
    assert f"  {DIGEST}" in out.splitlines()
    assert content(admin, repo_id, "manifest") == [DIGEST]


def test_criteria_options_compose_pulp2s_unit_filters(admin: Admin, source, repo_id, proxy):
    out = admin.ok("docker", "repo", "copy", "tag", "-f", source, "-t", repo_id, "--str-eq", "name=latest",
                   "--int-eq", "schema_version=2", "--match", "manifest_digest=^sha256:", "--in", "name=latest,1.0",
                   "--not", "name=^old", "--gt", "schema_version=1", "--gte", "schema_version=2",
                   "--lt", "schema_version=3", "--lte", "schema_version=2")
    (body,) = proxy.bodies("POST", f"/repositories/{repo_id}/actions/associate/")
    assert body["criteria"] == {"type_ids": ["docker_tag"], "filters": {"unit": {"$and": [
        {"name": "latest"}, {"schema_version": 2}, {"manifest_digest": {"$regex": "^sha256:"}},
        {"name": {"$in": ["latest", "1.0"]}}, {"name": {"$not": {"$regex": "^old"}}},
        {"schema_version": {"$gt": 1}}, {"schema_version": {"$gte": 2}}, {"schema_version": {"$lt": 3}},
        {"schema_version": {"$lte": 2}}]}}}
    assert "  latest" in out.splitlines()
    assert "latest" in content(admin, repo_id, "tag")

    # One option alone is the clause itself; --filters replaces the options.
    admin.ok("docker", "repo", "copy", "tag", "-f", source, "-t", repo_id, "--str-eq", "name=latest")
    admin.ok("docker", "repo", "copy", "tag", "-f", source, "-t", repo_id, "--str-eq", "name=x",
             "--filters", '{"name": {"$regex": "^lat"}}')
    criteria = [b["criteria"] for b in proxy.bodies("POST", f"/repositories/{repo_id}/actions/associate/")[1:]]
    assert criteria == [{"type_ids": ["docker_tag"], "filters": {"unit": {"name": "latest"}}},
                        {"type_ids": ["docker_tag"], "filters": {"unit": {"name": {"$regex": "^lat"}}}}]


def test_nothing_matching_says_so(admin: Admin, source, repo_id):
    out = admin.ok("docker", "repo", "copy", "tag", "-f", source, "-t", repo_id, "--str-eq", "name=absent")
    assert out.strip() == "Nothing found that matches the given criteria."
    assert content(admin, repo_id, "tag") == []


def test_after_and_before_pick_units_by_when_they_were_added(admin: Admin, source, repo_id, proxy):
    """The server keeps ``created`` as a date, so the client picks the units in range and names them by id."""
    out = admin.ok("docker", "repo", "copy", "tag", "-f", source, "-t", repo_id, "--after", "2999-01-01")
    assert out.strip() == "Nothing found that matches the given criteria."
    (tag,) = admin.json("docker", "repo", "search", "tag", "--repo-id", source)
    out = admin.ok("docker", "repo", "copy", "tag", "-f", source, "-t", repo_id, "-a", "2000-01-01T00:00:00Z",
                   "-b", "2999-01-01")
    assert "  latest" in out.splitlines()
    sent = [b["criteria"] for b in proxy.bodies("POST", f"/repositories/{repo_id}/actions/associate/")]
    assert sent == [{"type_ids": ["docker_tag"], "filters": {"unit": {"_id": {"$in": []}}}},
                    {"type_ids": ["docker_tag"], "filters": {"unit": {"_id": {"$in": [tag["unit_id"]]}}}}]
    result = admin.run("docker", "repo", "copy", "tag", "-f", source, "-t", repo_id, "--after", "yesterday")
    assert result.returncode == 2 and "ISO 8601" in result.stderr


def test_remove_sends_unassociate_and_prints_the_removed_units(admin: Admin, source, proxy):
    out = admin.ok("docker", "repo", "remove", "tag", "--repo-id", source, "--str-eq=name=latest")
    assert proxy.bodies("POST", f"/repositories/{source}/actions/unassociate/") == [
        {"criteria": {"type_ids": ["docker_tag"], "filters": {"unit": {"name": "latest"}}}}]
    assert out.splitlines() == ["Units Removed:", "  latest"]
    assert content(admin, source, "tag") == []
    assert content(admin, source, "manifest") == [DIGEST]  # removing a tag leaves its manifest


def test_remove_wants_criteria_and_sends_nothing_without(admin: Admin, source, proxy):
    admin.fails("docker", "repo", "remove", "manifest", "--repo-id", source, code=2,
                says="say which units to remove")
    assert proxy.bodies("POST", "/actions/unassociate/") == []
    assert content(admin, source, "manifest") == [DIGEST]


def test_v1_image_commands_fail_with_one_line(admin: Admin, source, repo_id, proxy):
    for args in (["copy", "image", "--from-repo-id", source, "--to-repo-id", repo_id],
                 ["remove", "image", "--repo-id", source, "--str-eq", "image_id=abc"],
                 ["search", "image", "--repo-id", source]):
        admin.fails("docker", "repo", *args, code=65, says="Docker v1 images (docker_image) are not supported")
    assert [r for r in proxy.requests if "/actions/" in r[1]] == []


def test_missing_repositories_are_named(admin: Admin, source, docker_server):
    admin.fails("docker", "repo", "copy", "manifest", "--from-repo-id", "nope", "--to-repo-id", source, code=65,
                says="repository 'nope' does not exist")
    admin.fails("docker", "repo", "copy", "manifest", "--from-repo-id", source, "--to-repo-id", "nope", code=65,
                says="repository 'nope' does not exist")
    admin.fails("docker", "repo", "remove", "tag", "--repo-id", "nope", "--str-eq", "name=x", code=65,
                says="repository 'nope' does not exist")


def test_bg_returns_at_once_with_the_task_id(admin: Admin, source, repo_id, docker_server):
    out = admin.ok("docker", "repo", "copy", "manifest", "-f", source, "-t", repo_id, "--bg")
    assert out.splitlines()[0] == "The request has been queued on the server."
    task_id = re.search(r"^Task (\S+) is running in the background", out, re.M).group(1)
    assert docker_server.wait_task(task_id)["state"] == "finished"
    assert content(admin, repo_id, "manifest") == [DIGEST]


def test_json_prints_the_tasks_units(admin: Admin, source, repo_id):
    report = admin.json("docker", "repo", "copy", "tag", "-f", source, "-t", repo_id, "--str-eq", "name=latest")
    assert report["state"] == "finished" and report["units_failed"] == []
    assert {"type_id": "docker_tag", "name": "latest"} in [
        {"type_id": u["type_id"], "name": u["unit_key"].get("name")} for u in report["units_successful"]]


def test_many_units_are_counted_per_type(capsys):
    """Beyond Pulp 2's display maximum (100), the units are counted per type, as in Pulp 2's recipes."""
    many = [{"type_id": "docker_blob", "unit_key": {"digest": f"sha256:{i:064x}"}} for i in range(93)]
    many += [{"type_id": "docker_manifest", "unit_key": {"digest": f"sha256:{i:064x}"}} for i in range(15)]
    units.print_outcome({"result": {"units_successful": many}}, "Copied:", unit_text, False)
    assert capsys.readouterr().out.splitlines() == ["Copied:", "  docker_blob: 93", "  docker_manifest: 15"]
    few = many[:2] + many[-1:] + [{"type_id": "docker_tag", "unit_key": {"name": "latest", "repo_id": "r"}}]
    units.print_outcome({"result": {"units_successful": few}}, "Copied:", unit_text, False)
    assert capsys.readouterr().out.splitlines() == [
        "Copied:", " docker_blob:", f"  sha256:{0:064x}", f"  sha256:{1:064x}", " docker_manifest:",
        f"  sha256:{14:064x}", " docker_tag:", "  latest"]


# -- docker semantics: the importer's copy and remove (a manifest brings its blobs, a tag its manifest) --------


def test_copying_a_manifest_brings_its_blobs(admin: Admin, source, repo_id):
    out = admin.ok("docker", "repo", "copy", "manifest", "--from-repo-id", source, "--to-repo-id", repo_id)
    assert content(admin, repo_id, "blob") == BLOBS
    assert content(admin, repo_id, "tag") == []  # Pulp 2: tags are not carried by a manifest copy
    assert all(f"  {digest}" in out.splitlines() for digest in BLOBS), out


def test_copying_a_tag_brings_its_manifest_and_blobs(admin: Admin, source, repo_id, docker_server):
    admin.ok("docker", "repo", "copy", "tag", "--from-repo-id", source, "--to-repo-id", repo_id,
             "--str-eq", "name=latest")
    assert content(admin, repo_id, "tag") == ["latest"]
    assert content(admin, repo_id, "manifest") == [DIGEST]
    assert content(admin, repo_id, "blob") == BLOBS
    # The copy is a whole image: it pulls from the destination's registry name.
    admin.ok("docker", "repo", "publish", "run", "--repo-id", repo_id)
    reply = docker_server.api("GET", f"/v2/{repo_id}/manifests/latest",
                              headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    assert reply.status_code == 200 and reply.headers.get("Docker-Content-Digest") == DIGEST


def test_removing_a_manifest_takes_its_blobs_no_other_manifest_uses(admin: Admin, source):
    admin.ok("docker", "repo", "remove", "manifest", "--repo-id", source, "--str-eq", f"digest={DIGEST}")
    assert content(admin, source, "manifest") == []
    assert content(admin, source, "blob") == []


def test_search_takes_the_same_criteria_and_pulp2s_display_options(admin: Admin, source):
    admin.ok("docker", "repo", "tag", "--repo-id", source, "--tag-name", "beta", "--digest", DIGEST)
    names = [u["metadata"]["name"] for u in admin.json("docker", "repo", "search", "tag", "--repo-id", source,
                                                       "--sort", "name,descending", "--fields", "name")]
    assert names == ["latest", "beta"]
    found = admin.json("docker", "repo", "search", "tag", "--repo-id", source, "--match", "name=^b", "--limit", "1")
    assert [u["metadata"]["name"] for u in found] == ["beta"]
    assert admin.json("docker", "repo", "search", "tag", "--repo-id", source, "--after", "2999-01-01") == []
    assert len(admin.json("docker", "repo", "search", "tag", "--repo-id", source, "--before", "2999-01-01")) == 2
    assert "Name:" in admin.ok("docker", "repo", "search", "tag", "--repo-id", source, "-d", "--str-eq", "name=beta")
