"""Orphan removal and published content: what a registry name still serves is not an orphan.

The rule is the web distributor's (``DockerWebDistributor.units_in_use``), asked by the platform's
orphan removal; a repository that does not auto-publish keeps serving what it dropped until it
publishes again.
"""

from __future__ import annotations

import json

from tarballs import DATA

FACTS = json.loads((DATA / "FACTS.json").read_text())
IMAGE = FACTS["skopeo-v2s2.tar"]
WEB = "docker_web_distributor_name_cli"


def orphan_counts(server) -> dict[str, int]:
    return {type_id: row["count"] for type_id, row in server.api("GET", "content/orphans/").json().items()}


def publish(server, repo_id: str) -> None:
    response = server.api("POST", f"repositories/{repo_id}/actions/publish/", json={"id": WEB})
    assert server.wait_task(response.json())["state"] == "finished"


def test_published_units_survive_orphan_removal_until_republished(start_pulp_server, tmp_path) -> None:
    server = start_pulp_server()  # its own server: orphans are global
    server.create_repo("app", distributors=[{
        "distributor_id": WEB, "distributor_type_id": "docker_distributor_web",
        "distributor_config": {"repo-registry-id": "app"}, "auto_publish": False}])
    task = server.import_upload("app", server.upload_file(DATA / "skopeo-v2s2.tar"), "docker_manifest",
                                unit_metadata={"tag": "1.0"})
    assert task["state"] == "finished", task
    blob_url = f"/v2/app/blobs/{IMAGE['layers'][0]}"
    assert server.api("GET", blob_url).status_code == 404  # not auto-published
    publish(server, "app")
    assert server.api("GET", blob_url).status_code == 200

    # The repository drops everything, but its last publication still serves it.
    dropped = server.api("POST", "repositories/app/actions/unassociate/", json={"criteria": {}})
    assert server.wait_task(dropped.json())["state"] == "finished"
    assert server.api("GET", "repositories/app/").json()["content_unit_counts"] == {}
    counts = orphan_counts(server)
    assert (counts["docker_blob"], counts["docker_manifest"]) == (0, 0)
    assert counts["docker_tag"] == 1  # a tag is never served from its unit
    removed = server.wait_task(server.api("DELETE", "content/orphans/").json())
    assert removed["state"] == "finished", removed
    response = server.api("GET", blob_url)
    assert response.status_code == 200 and len(response.content) > 0

    # Publishing the now empty repository ends that: the units become orphans and their files go.
    publish(server, "app")
    counts = orphan_counts(server)
    assert (counts["docker_blob"], counts["docker_manifest"]) == (4, 1)
    removed = server.wait_task(server.api("DELETE", "content/orphans/").json())
    assert removed["state"] == "finished", removed
    assert orphan_counts(server)["docker_blob"] == 0
    assert server.api("GET", blob_url).status_code == 404
    store = server.data_dir / "content" / "sha256"
    assert not [p for p in store.rglob("*") if p.is_file()]
