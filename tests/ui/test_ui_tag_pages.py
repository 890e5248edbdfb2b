"""A repository page with more tags than one page holds: order, paging, the name filter, and tags added or
removed through the REST API showing at the next view (the UI keeps the tags' order between views)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pymongo
import requests

from .helpers import FACTS, IMAGE, unique

ROW = re.compile(r'<tr data-tag="([^"]+)">')
COUNT = 120


def names(page: requests.Response) -> list[str]:
    assert page.status_code == 200, page.text[:300]
    return ROW.findall(page.text)


def test_tags_are_paged_sorted_filtered_and_follow_changes(pulp_server):
    repo_id = unique("ui-tags")
    pulp_server.create_repo(repo_id)
    upload_id = pulp_server.upload_file(IMAGE)
    assert pulp_server.import_upload(repo_id, upload_id, "docker_manifest",
                                     unit_metadata={"tag": "base"})["state"] == "finished"
    digest = FACTS[IMAGE.name]["manifest_digest_of_file_bytes"]

    # COUNT more tags written straight into the database (as a big sync leaves them), t000 the oldest.
    database = pymongo.MongoClient(pulp_server.mongo_uri).get_database("pulp_database")
    start = datetime.now(UTC) - timedelta(hours=1)
    tags, held = [], []
    for i in range(COUNT):
        unit_id = str(uuid.uuid4())
        when = start + timedelta(seconds=i)
        tags.append({"_id": unit_id, "_content_type_id": "docker_tag", "name": f"t{i:03d}", "repo_id": repo_id,
                     "schema_version": 2, "manifest_type": "image", "manifest_digest": digest,
                     "_last_updated": when})
        held.append({"repo_id": repo_id, "unit_id": unit_id, "unit_type_id": "docker_tag", "created": when,
                     "updated": when})
    database.units_docker_tag.insert_many(tags)
    database.repo_content_units.insert_many(held)
    # What the task that wrote them would have done last: recount, stamping the repository as changed.
    database.repos.update_one({"repo_id": repo_id}, {"$set": {"content_unit_counts.docker_tag": COUNT + 1,
                                                              "last_unit_added": datetime.now(UTC)}})

    url = f"{pulp_server.url}/ui/repositories/{repo_id}/"
    everything = sorted(["base", *(t["name"] for t in tags)])
    first = requests.get(url)
    assert names(first) == everything[:50]
    assert "Page 1 of 3" in first.text and 'rel="next"' in first.text
    assert names(requests.get(url, params={"page": 3})) == everything[100:]
    assert names(requests.get(url, params={"sort": "name-desc"})) == everything[::-1][:50]
    assert names(requests.get(url, params={"sort": "newest"}))[:3] == ["base", "t119", "t118"]
    assert names(requests.get(url, params={"sort": "oldest"}))[:2] == ["t000", "t001"]
    filtered = requests.get(url, params={"q": "t10"})
    assert names(filtered) == [f"t10{i}" for i in range(10)]
    assert "10 match" in filtered.text
    assert names(requests.get(url, params={"page": 4})) == []

    # A tag made through the REST API, then one removed: the next view shows both changes.
    empty = pulp_server.api("POST", "content/uploads/").json()["upload_id"]  # a tag import reads no file
    made = pulp_server.import_upload(repo_id, empty, "docker_tag",
                                     unit_key={"name": "aaa-new", "manifest_digest": digest})
    assert made["state"] == "finished", made
    assert names(requests.get(url))[0] == "aaa-new"
    assert names(requests.get(url, params={"sort": "newest"}))[0] == "aaa-new"
    removed = pulp_server.api("POST", f"repositories/{repo_id}/actions/unassociate/",
                              json={"criteria": {"type_ids": ["docker_tag"], "filters": {"unit": {"name": "t000"}}}})
    assert pulp_server.wait_task(removed.json())["state"] == "finished"
    after = names(requests.get(url, params={"sort": "oldest"}))
    assert "t000" not in after and after[0] == "t001"
    assert len(names(requests.get(url, params={"page": 3}))) == COUNT + 2 - 1 - 100
