"""repositories/<id>/importers/ and …/distributors/ as Pulp 2 served them, and every advertised _href resolving."""

from __future__ import annotations

import json
import uuid

import pymongo
from platform_helpers import assert_error, unique, units

IMPORTER_KEYS = {"id", "importer_type_id", "repo_id", "config", "last_sync", "last_override_config", "last_updated",
                 "scratchpad", "_ns", "_id", "_href"}
DISTRIBUTOR_KEYS = {"id", "distributor_type_id", "repo_id", "config", "auto_publish", "last_publish", "last_updated",
                    "scratchpad", "_ns", "_id", "_href"}


def accepted(server, response, tags: set[str]) -> dict:
    """A 202 call report whose one task has ``tags`` and finishes; returns the finished task."""
    assert response.status_code == 202, response.text
    report = response.json()
    assert report["result"] is None and report["error"] is None and len(report["spawned_tasks"]) == 1
    task = server.wait_task(report)
    assert task["state"] == "finished", task
    assert set(task["tags"]) == tags
    return task


def test_importer_read_update_remove_and_set(pulp_server, make_repo):
    repo_id = make_repo(importer_config={"x": 1, "keep": "k"})
    base = f"repositories/{repo_id}/importers/"
    [listed] = pulp_server.api("GET", base).json()
    assert set(listed) == IMPORTER_KEYS
    assert listed["_href"] == f"/pulp/api/v2/{base}test_importer/" and listed["config"] == {"x": 1, "keep": "k"}
    assert listed["last_sync"] is None and listed["last_override_config"] == {} and listed["scratchpad"] is None
    assert pulp_server.api("GET", listed["_href"]).json() == listed

    # PUT: a task on the repository; null removes a key, others replace.
    task = accepted(pulp_server, pulp_server.api("PUT", listed["_href"], json={"importer_config": {"x": None, "y": 2}}),
                    {f"pulp:repository:{repo_id}", "pulp:repository_importer:test_importer",
                     "pulp:action:update_importer"})
    assert task["result"]["config"] == {"keep": "k", "y": 2} and task["result"]["_href"] == listed["_href"]
    assert pulp_server.api("GET", listed["_href"]).json()["config"] == {"keep": "k", "y": 2}

    # Refused at once, nothing queued or changed.
    assert_error(pulp_server.api("PUT", listed["_href"], json={"importer_config": {"bad": 1}}), 400, "PLP0015")
    assert_error(pulp_server.api("PUT", listed["_href"], json={"importer_config": "x=1"}), 400, "PLP0015")
    assert_error(pulp_server.api("PUT", listed["_href"], json={}), 400, "PLP0016")
    for method in ("GET", "PUT", "DELETE"):
        assert_error(pulp_server.api(method, f"{base}other_importer/", json={"importer_config": {}}), 404, "PLP0009")
    assert pulp_server.api("GET", listed["_href"]).json()["config"] == {"keep": "k", "y": 2}

    accepted(pulp_server, pulp_server.api("DELETE", listed["_href"]),
             {f"pulp:repository:{repo_id}", "pulp:repository_importer:test_importer", "pulp:action:delete_importer"})
    assert pulp_server.api("GET", base).json() == []
    assert_error(pulp_server.api("GET", listed["_href"]), 404, "PLP0009")
    assert_error(pulp_server.api("POST", f"repositories/{repo_id}/actions/sync/", json={}), 404, "PLP0009")

    # POST sets one (replacing any), keys given as null dropped.
    for bad, code in (({"importer_config": {}}, "PLP0016"), ({"importer_type_id": "nosuch"}, "PLP0015"),
                      ({"importer_type_id": "test_importer", "importer_config": {"bad": 1}}, "PLP0015"),
                      ({"importer_type_id": "test_importer", "importer_config": []}, "PLP0015")):
        assert_error(pulp_server.api("POST", base, json=bad), 400, code)
    task = accepted(pulp_server, pulp_server.api("POST", base, json={"importer_type_id": "test_importer",
                                                                     "importer_config": {"z": 3, "gone": None}}),
                    {f"pulp:repository:{repo_id}", "pulp:action:add_importer"})
    assert task["result"]["config"] == {"z": 3}
    accepted(pulp_server, pulp_server.api("POST", base, json={"importer_type_id": "test_importer"}),
             {f"pulp:repository:{repo_id}", "pulp:action:add_importer"})
    [again] = pulp_server.api("GET", base).json()
    assert again["config"] == {} and again["_href"] == listed["_href"]
    assert_error(pulp_server.api("GET", "repositories/nosuch/importers/"), 404, "PLP0009")
    assert_error(pulp_server.api("POST", "repositories/nosuch/importers/", json={"importer_type_id": "test_importer"}),
                 404, "PLP0009")


def test_a_secret_read_back_as_its_mask_is_not_written(pulp_server):
    repo_id = unique("secret")
    pulp_server.create_repo(repo_id, importer_config={"feed": "https://registry.invalid", "upstream_name": "a/b",
                                                      "basic_auth_username": "u", "basic_auth_password": "hunter2"})
    href = f"repositories/{repo_id}/importers/docker_importer/"
    shown = pulp_server.api("GET", href).json()["config"]
    assert shown["basic_auth_password"] == "*****"
    sent_back = {"importer_config": {**shown, "upstream_name": "c/d"}}
    task = accepted(pulp_server, pulp_server.api("PUT", href, json=sent_back),
                    {f"pulp:repository:{repo_id}", "pulp:repository_importer:docker_importer",
                     "pulp:action:update_importer"})
    assert task["result"]["config"]["upstream_name"] == "c/d"
    assert task["result"]["config"]["basic_auth_password"] == "*****"
    client = pymongo.MongoClient(pulp_server.mongo_uri)
    try:
        stored = client.get_default_database()["repo_importers"].find_one({"repo_id": repo_id})
    finally:
        client.close()
    assert stored["config"]["basic_auth_password"] == "hunter2" and stored["config"]["upstream_name"] == "c/d"


def test_distributor_add_read_update_remove(pulp_server, make_repo, publish_dir, upload_text):
    repo_id = make_repo(distributors=[])
    base = f"repositories/{repo_id}/distributors/"
    assert pulp_server.api("GET", base).json() == []
    body = {"distributor_type_id": "test_distributor", "distributor_id": "d1", "auto_publish": False,
            "distributor_config": {"publish_dir": str(publish_dir), "gone": None}}
    response = pulp_server.api("POST", base, json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == DISTRIBUTOR_KEYS
    assert response.headers["Location"] == created["_href"] == f"/pulp/api/v2/{base}d1/"
    assert created["config"] == {"publish_dir": str(publish_dir)} and created["auto_publish"] is False
    assert_error(pulp_server.api("POST", base, json=body), 409, "PLP0018")
    for bad, code in (({"distributor_config": {}}, "PLP0016"), ({"distributor_type_id": "nosuch"}, "PLP0015"),
                      ({"distributor_type_id": "test_distributor", "distributor_config": {}}, "PLP0016"),
                      ({**body, "distributor_id": "has space"}, "PLP0015"),
                      ({**body, "distributor_id": "d2", "auto_publish": "yes"}, "PLP0015")):
        assert_error(pulp_server.api("POST", base, json=bad), 400, code)
    assert [d["id"] for d in pulp_server.api("GET", base).json()] == ["d1"]
    assert pulp_server.api("GET", created["_href"]).json() == created

    task = accepted(pulp_server, pulp_server.api("PUT", created["_href"], json={
        "distributor_config": {"extra": True}, "delta": {"auto_publish": True}}),
        {f"pulp:repository:{repo_id}", "pulp:repository_distributor:d1", "pulp:action:update_distributor"})
    assert task["result"]["auto_publish"] is True
    assert task["result"]["config"] == {"publish_dir": str(publish_dir), "extra": True}
    assert pulp_server.api("GET", created["_href"]).json()["config"]["extra"] is True
    for bad, code in (({"delta": {"auto_publish": False}}, "PLP0016"),
                      ({"distributor_config": {}, "delta": {"auto_publish": "yes"}}, "PLP0015"),
                      ({"distributor_config": {}, "delta": {"distributor_id": "x"}}, "PLP0015"),
                      ({"distributor_config": {"publish_dir": None}}, "PLP0016"),
                      ({"distributor_config": [1]}, "PLP0015")):
        assert_error(pulp_server.api("PUT", created["_href"], json=bad), 400, code)
    assert pulp_server.api("GET", created["_href"]).json()["auto_publish"] is True

    # Now auto-published: an upload is published through d1; removing d1 lets the plugin clean up.
    task = pulp_server.import_upload(repo_id, upload_text("d"), "test_file", unit_key={"name": unique("f")})
    assert task["state"] == "finished", task
    assert (publish_dir / f"{repo_id}.json").exists()
    accepted(pulp_server, pulp_server.api("DELETE", created["_href"]),
             {f"pulp:repository:{repo_id}", "pulp:repository_distributor:d1", "pulp:action:remove_distributor"})
    assert not (publish_dir / f"{repo_id}.json").exists()
    assert pulp_server.api("GET", base).json() == []
    for method in ("GET", "PUT", "DELETE"):
        assert_error(pulp_server.api(method, created["_href"], json={"distributor_config": {}}), 404, "PLP0009")
    assert_error(pulp_server.api("GET", "repositories/nosuch/distributors/"), 404, "PLP0009")
    # The id is free again.
    assert pulp_server.api("POST", base, json=body).status_code == 201


def test_pulp_smash_docker_crud_and_distributor_update(pulp_server):
    """What pulp-smash's docker api_v2 test_crud does: CRUD with and without a feed, then a distributor added,
    updated through its _href (202) and read back."""
    for importer_config in ({}, {"feed": "http://" + uuid.uuid4().hex}):
        body = {"id": unique("smash"), "importer_config": importer_config, "importer_type_id": "docker_importer",
                "notes": {"_repo-type": "docker-repo"}}
        repo = pulp_server.api("POST", "repositories/", json=body)
        assert repo.status_code == 201, repo.text
        href = repo.json()["_href"]
        update = pulp_server.api("PUT", href, json={"delta": {"display_name": "renamed"}})
        assert update.status_code == 200 and update.json()["result"]["display_name"] == "renamed"
        read = pulp_server.api("GET", href, params={"details": True}).json()
        [importer] = read["importers"]
        assert importer["importer_type_id"] == "docker_importer" and importer["config"] == importer_config
        assert pulp_server.api("GET", importer["_href"]).json()["config"] == importer_config
        assert pulp_server.api("DELETE", href).status_code == 202

    repo = pulp_server.api("POST", "repositories/", json={"id": unique("smash"), "importer_config": {},
                                                          "importer_type_id": "docker_importer"}).json()
    added = pulp_server.api("POST", repo["_href"] + "distributors/", json={
        "auto_publish": False, "distributor_id": uuid.uuid4().hex, "distributor_type_id": "docker_distributor_web",
        "distributor_config": {"http": True, "https": True}})
    assert added.status_code == 201, added.text
    distributor = added.json()
    sent = "test/" + uuid.uuid4().hex
    first = pulp_server.api("PUT", distributor["_href"], json={"distributor_config": {"repo_registry_id": sent}})
    assert first.status_code == 202, first.text
    assert pulp_server.wait_task(first.json())["state"] == "finished"
    assert pulp_server.api("GET", distributor["_href"]).json()["config"]["repo_registry_id"] == sent
    second = pulp_server.api("PUT", repo["_href"], json={"distributor_configs": {distributor["id"]: {
        "repo_registry_id": sent + "-2"}}})
    assert second.status_code in (200, 202), second.text
    if second.status_code == 202:
        pulp_server.wait_task(second.json())
    assert pulp_server.api("GET", distributor["_href"]).json()["config"]["repo_registry_id"] == sent + "-2"
    pulp_server.delete_repo(repo["id"])


def test_every_href_the_api_gives_resolves(pulp_server, make_repo, upload_text):
    repo_id = make_repo(importer_config={"x": 1})
    name = unique("f")
    task = pulp_server.import_upload(repo_id, upload_text("href"), "test_file", unit_key={"name": name})
    assert task["state"] == "finished", task
    repo = pulp_server.api("GET", f"repositories/{repo_id}/", params={"details": "true"}).json()
    hrefs = [repo["_href"], task["_href"], *(i["_href"] for i in repo["importers"]),
             *(d["_href"] for d in repo["distributors"])]
    [row] = units(pulp_server, repo_id)
    hrefs.append(f"/pulp/api/v2/content/units/test_file/{row['unit_id']}/")
    hrefs += [t["_href"] for t in pulp_server.api("GET", "plugins/types/").json()]
    hrefs += [t["_href"] for t in pulp_server.api("GET", "content/types/").json()]
    hrefs += [entry["_href"] for entry in pulp_server.api("GET", "content/orphans/").json().values()]
    for href in hrefs:
        response = pulp_server.api("GET", href)
        assert response.status_code == 200, (href, response.text)
    # An orphan's _href resolves while it is an orphan; a held unit is no orphan.
    orphan_href = f"/pulp/api/v2/content/orphans/test_file/{row['unit_id']}/"
    assert_error(pulp_server.api("GET", orphan_href), 404, "PLP0009")
    dropped = pulp_server.api("POST", f"repositories/{repo_id}/actions/unassociate/", json={"criteria": {}})
    assert pulp_server.wait_task(dropped.json())["state"] == "finished"
    [orphan] = [o for o in pulp_server.api("GET", "content/orphans/test_file/").json() if o["name"] == name]
    assert orphan["_href"] == orphan_href
    response = pulp_server.api("GET", orphan_href)
    assert response.status_code == 200, response.text
    assert response.json()["name"] == name and json.loads(response.text)["_href"] == orphan_href
    assert_error(pulp_server.api("GET", "content/orphans/no_such_type/x/"), 404, "PLP0009")
