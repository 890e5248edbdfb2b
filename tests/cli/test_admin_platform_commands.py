"""Pulp 2's platform commands in pulp-admin's core, against the real server: ``repo list``, ``repo tasks``,
``orphan list|remove``, the docker ``repo list`` views, and ``--bg`` on the commands that wait for a task.
"""

from __future__ import annotations

import random
import re
import uuid
from pathlib import Path
from typing import Any

import imagegen
import pytest
from admin_runner import Admin
from tarballs import DATA


def plain_repo(server: Any) -> str:
    """A repository of no plugin's type (no docker note), made through the REST API."""
    name = f"plain-{uuid.uuid4().hex[:8]}"
    reply = server.api("POST", "repositories/", json={"id": name, "display_name": "Plain One"})
    assert reply.status_code == 201, reply.text
    return name


def task_id_of(out: str) -> str:
    return re.search(r"^Task (\S+) is running in the background", out, re.M).group(1)


def test_repo_list_shows_every_repository_as_pulp2_did(admin: Admin, repo_id, docker_server):
    plain = plain_repo(docker_server)
    out = admin.ok("repo", "list")
    assert out.startswith("+" + "-" * 70 + "+\n" + " " * 30 + "Repositories\n")
    assert f"Id:                  {plain}\nDisplay Name:        Plain One\n" in out
    assert f"Id:                  {repo_id}\n" in out
    listed = {r["id"] for r in admin.json("repo", "list")}
    assert {plain, repo_id} <= listed

    summary = admin.ok("repo", "list", "--summary").splitlines()
    width = max(len(line.split("  ")[0]) for line in summary)
    assert f"{plain.ljust(width)}  Plain One" in summary
    fields = admin.ok("repo", "list", "--fields", "display_name")
    assert f"Id:           {plain}\nDisplay Name: Plain One\n" in fields and "Description" not in fields
    details = admin.ok("repo", "list", "--details")
    assert "Importers:" in details and "Importer Type Id:     docker_importer" in details
    result = admin.run("repo", "list", "--summary", "--details")
    assert result.returncode == 2 and result.stderr.strip() == \
        "error: the summary and details views cannot be used together"


def test_docker_repo_list_keeps_to_docker_repositories_unless_all(admin: Admin, repo_id, docker_server):
    plain = plain_repo(docker_server)
    out = admin.ok("docker", "repo", "list")
    assert "Docker Repositories" in out and f"Id:                  {repo_id}" in out and plain not in out
    everything = admin.ok("docker", "repo", "list", "--all")
    docker_part, other_part = everything.split("Other Pulp Repositories")
    assert repo_id in docker_part and plain not in docker_part
    assert f"Id:           {plain}\nDisplay Name: Plain One" in other_part and repo_id not in other_part
    assert plain in {r["id"] for r in admin.json("docker", "repo", "list", "--all")}
    assert plain not in {r["id"] for r in admin.json("docker", "repo", "list")}
    # One line per repository, id and display name in columns as wide as the longest id on the server.
    assert [repo_id, repo_id] in [line.split() for line in admin.ok("docker", "repo", "list", "-s").splitlines()]


def test_repo_tasks_lists_the_tasks_of_one_repository(admin: Admin, repo_id, docker_server):
    admin.ok("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f", str(DATA / "skopeo-v2s2.tar"))
    other = f"{repo_id}-other"
    admin.ok("docker", "repo", "create", "--repo-id", other)
    admin.ok("docker", "repo", "publish", "run", "--repo-id", other)
    found = admin.json("repo", "tasks", "list", "--repo-id", repo_id)
    assert found and all(f"pulp:repository:{repo_id}" in t["tags"] for t in found)
    assert "pulp:action:import_upload" in {tag for t in found for tag in t["tags"]}
    out = admin.ok("repo", "tasks", "list", "--repo-id", repo_id)
    assert "Operations:  import_upload\nResources:   " in out and f"{repo_id} (repository)" in out
    assert "State:       Successful" in out and "publish" not in out
    task_id = found[0]["task_id"]
    assert re.search(rf"^Task Id: +{task_id}$", admin.ok("repo", "tasks", "details", "--task-id", task_id), re.M)
    admin.fails("repo", "tasks", "list", "--repo-id", "nope", code=65, says="repository 'nope' does not exist")


@pytest.fixture
def orphaned(admin: Admin, tmp_path: Path) -> dict[str, Any]:
    """A unique image uploaded into a repository that is then deleted: its manifest and blobs are orphans."""
    image = tmp_path / "image"
    digest = imagegen.make_image(image, 8 * 1024, small_layers=1, seed=random.randrange(1 << 30))
    repo = f"orph-{uuid.uuid4().hex[:8]}"
    admin.ok("docker", "repo", "create", "--repo-id", repo)
    (result,) = admin.json("docker", "repo", "uploads", "upload", "--repo-id", repo, "-f", str(image))
    admin.ok("docker", "repo", "delete", "--repo-id", repo)
    blobs = sorted(result["blobs_imported"])
    return {"digest": digest, "blobs": blobs}


def orphan_digests(admin: Admin, type_id: str) -> set[str]:
    return {o.get("digest") for o in admin.json("orphan", "list", "--type", type_id)}


def test_orphan_list_counts_per_type_and_details_one_type(admin: Admin, orphaned):
    counts = admin.json("orphan", "list")
    assert counts["docker_manifest"]["count"] >= 1 and counts["docker_blob"]["count"] >= len(orphaned["blobs"])
    out = admin.ok("orphan", "list")
    assert "Summary" in out and re.search(r"^Docker Manifest: +\d+$", out, re.M)
    total = int(re.search(r"^Total: +(\d+)$", out, re.M).group(1))
    assert total == sum(v["count"] for v in counts.values())
    assert orphaned["digest"] in orphan_digests(admin, "docker_manifest")
    details = admin.ok("orphan", "list", "--type", "docker_manifest", "--details")
    assert "Digest:" in details and orphaned["digest"] in details and re.search(r"^Docker Manifest: +\d+", details,
                                                                                  re.M)
    assert "details flag ignored" in admin.ok("orphan", "list", "--details")
    admin.fails("orphan", "list", "--type", "nope", code=65, says="content type 'nope' does not exist")


def test_orphan_remove_by_type_one_unit_or_all(admin: Admin, orphaned, docker_server):
    (manifest,) = [o for o in admin.json("orphan", "list", "--type", "docker_manifest")
                   if o["digest"] == orphaned["digest"]]
    admin.fails("orphan", "remove", "--type", "docker_manifest", "--unit-id", "not-an-orphan", code=65,
                says="no orphaned docker_manifest unit has the id 'not-an-orphan'")
    assert orphaned["digest"] in orphan_digests(admin, "docker_manifest")
    # One unit by its id: that manifest goes, its orphaned blobs (another type) stay.
    out = admin.ok("orphan", "remove", "--type", "docker_manifest", "--unit-id", manifest["_id"])
    assert out.startswith("Task Succeeded\n") and re.search(r"^  Docker Manifest: +1$", out, re.M), out
    assert orphaned["digest"] not in orphan_digests(admin, "docker_manifest")
    assert set(orphaned["blobs"]) <= orphan_digests(admin, "docker_blob")

    out = admin.ok("orphan", "remove", "--type", "docker_blob")
    assert out.startswith("Task Succeeded\n") and re.search(r"^  Docker Blob: +[1-9]\d*$", out, re.M), out
    assert not set(orphaned["blobs"]) & orphan_digests(admin, "docker_blob")

    out = admin.ok("orphan", "remove", "--all", "--bg")
    assert docker_server.wait_task(task_id_of(out))["state"] == "finished"

    admin.fails("orphan", "remove", code=2, says="say what to remove")
    admin.fails("orphan", "remove", "--unit-id", "x", code=2, says="--unit-id needs --type")
    admin.fails("orphan", "remove", "--type", "nope", code=65, says="content type 'nope' does not exist")


def test_bg_returns_at_once_on_delete_publish_and_sync(admin: Admin, repo_id, docker_server):
    for args in (["docker", "repo", "publish", "run", "--repo-id", repo_id],
                 ["docker", "repo", "delete", "--repo-id", repo_id]):
        out = admin.ok(*args, "--bg")
        assert out.splitlines()[0] == "The request has been queued on the server.", out
        assert docker_server.wait_task(task_id_of(out))["state"] == "finished"
    assert docker_server.api("GET", f"repositories/{repo_id}/").status_code == 404
