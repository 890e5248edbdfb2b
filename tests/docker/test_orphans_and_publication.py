"""Orphan removal and published content: what a registry name still serves is not an orphan."""

from __future__ import annotations

import json

from tarballs import DATA

FACTS = json.loads((DATA / "FACTS.json").read_text())
IMAGE = FACTS["skopeo-v2s2.tar"]


def orphan_counts(server) -> dict[str, int]:
    return {type_id: row["count"] for type_id, row in server.api("GET", "content/orphans/").json().items()}


def test_published_units_survive_orphan_removal_until_republished(start_pulp_server, tmp_path) -> None:
    server = start_pulp_server()  # its own server: orphans are global
    server.create_repo("app")
    task = server.import_upload("app", server.upload_file(DATA / "skopeo-v2s2.tar"), "docker_manifest",
                                unit_metadata={"tag": "1.0"})
    assert task["state"] == "finished", task
    blob_url = f"/v2/app/blobs/{IMAGE['layers'][0]}"
    assert server.api("GET", blob_url).status_code == 200

    # The repository drops everything, but its last publication still serves it.
    dropped = server.api("POST", "repositories/app/actions/unassociate/", json={"criteria": {}})
    assert server.wait_task(dropped.json())["state"] == "finished"
    assert server.api("GET", "repositories/app/").json()["content_unit_counts"] == {}
    assert orphan_counts(server)["docker_blob"] == 0
    removed = server.wait_task(server.api("DELETE", "content/orphans/").json())
    assert removed["state"] == "finished", removed
    response = server.api("GET", blob_url)
    assert response.status_code == 200 and len(response.content) > 0

    # Publishing the now empty repository ends that: the units become orphans and their files go.
    published = server.api("POST", "repositories/app/actions/publish/",
                           json={"id": "docker_web_distributor_name_cli"})
    assert server.wait_task(published.json())["state"] == "finished"
    counts = orphan_counts(server)
    assert (counts["docker_blob"], counts["docker_manifest"]) == (4, 1)
    removed = server.wait_task(server.api("DELETE", "content/orphans/").json())
    assert removed["state"] == "finished", removed
    assert orphan_counts(server)["docker_blob"] == 0
    assert server.api("GET", blob_url).status_code == 404
    store = server.data_dir / "content" / "sha256"
    assert not [p for p in store.rglob("*") if p.is_file()]
