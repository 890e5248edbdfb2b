"""Unit search, copy and removal between repositories, publish, orphans, installed plugins."""

from __future__ import annotations

import json

import pytest
from platform_helpers import assert_error, unique, units


@pytest.fixture
def repo_with_units(pulp_server, make_repo, upload_text):
    """A repository holding test files named <tag>n1..n3, of sizes len(tag) + 1..3, content unique to it."""
    repo_id = make_repo()
    tag = unique("")
    for i in (1, 2, 3):
        upload_id = upload_text(tag + str(i) * i)
        task = pulp_server.import_upload(repo_id, upload_id, "test_file", unit_key={"name": f"{tag}n{i}"})
        assert task["state"] == "finished", task
    return repo_id, tag


def test_search_criteria(pulp_server, repo_with_units):
    repo_id, tag = repo_with_units
    base = len(tag)
    everything = units(pulp_server, repo_id)
    assert sorted(u["metadata"]["name"] for u in everything) == [f"{tag}n1", f"{tag}n2", f"{tag}n3"]
    assert units(pulp_server, repo_id, {"type_ids": ["test_file"]}) != []
    [one] = units(pulp_server, repo_id, {"filters": {"unit": {"name": f"{tag}n2"}}})
    assert one["metadata"]["size"] == base + 2
    big = units(pulp_server, repo_id, {"filters": {"unit": {"size": {"$gte": base + 2}}}})
    assert sorted(u["metadata"]["size"] - base for u in big) == [2, 3]
    ordered = units(pulp_server, repo_id, {"sort": [["size", "descending"]]})
    assert [u["metadata"]["size"] - base for u in ordered] == [3, 2, 1]
    page = units(pulp_server, repo_id, {"sort": [["size", "ascending"]], "skip": 1, "limit": 1})
    assert [u["metadata"]["size"] - base for u in page] == [2]
    slim = units(pulp_server, repo_id, {"fields": ["size"]})
    assert all(set(u["metadata"]) == {"_id", "_content_type_id", "name", "size"} for u in slim), slim
    by_association = units(pulp_server, repo_id, {"filters": {"association": {"unit_id": one["unit_id"]}}})
    assert [u["unit_id"] for u in by_association] == [one["unit_id"]]


def test_bad_criteria_are_400(pulp_server, repo_with_units):
    repo_id, _ = repo_with_units
    path = f"repositories/{repo_id}/search/units/"
    for criteria in ({"type_ids": ["no_such_type"]}, {"filters": {"unit": {"$where": "sleep(1000)"}}},
                     {"filters": {"unit": {"$or": [{"$where": "1"}]}}}, {"limit": -1}, {"skip": "x"},
                     {"sort": [["size", "sideways"]]}, {"fields": "size"}, "not an object"):
        assert_error(pulp_server.api("POST", path, json={"criteria": criteria}), 400, "PLP0015")


def test_associate_unassociate_and_orphans(pulp_server, repo_with_units, make_repo):
    source, tag = repo_with_units
    target = make_repo()
    response = pulp_server.api("POST", f"repositories/{target}/actions/associate/", json={
        "source_repo_id": source, "criteria": {"filters": {"unit": {"size": {"$lte": len(tag) + 2}}}}})
    assert response.status_code == 202, response.text
    task = pulp_server.wait_task(response.json())
    assert task["state"] == "finished", task
    assert set(task["tags"]) == {f"pulp:repository:{target}", f"pulp:repository:{source}", "pulp:action:associate"}
    listed = pulp_server.api("GET", f"tasks/?tag=pulp:repository:{source}").json()  # the source lists it too
    assert task["task_id"] in {t["task_id"] for t in listed}
    assert sorted(u["unit_key"]["name"] for u in task["result"]["units_successful"]) == [f"{tag}n1", f"{tag}n2"]
    assert sorted(u["metadata"]["name"] for u in units(pulp_server, target)) == [f"{tag}n1", f"{tag}n2"]
    assert pulp_server.api("GET", f"repositories/{target}/").json()["content_unit_counts"] == {"test_file": 2}

    # n3 leaves the source: it is in no repository any more, so it is an orphan; n1 is still in target.
    for repo_id, name in ((source, f"{tag}n3"), (source, f"{tag}n1")):
        response = pulp_server.api("POST", f"repositories/{repo_id}/actions/unassociate/",
                                   json={"criteria": {"filters": {"unit": {"name": name}}}})
        assert response.status_code == 202, response.text
        assert pulp_server.wait_task(response.json())["state"] == "finished"
    assert sorted(u["metadata"]["name"] for u in units(pulp_server, source)) == [f"{tag}n2"]
    assert pulp_server.api("GET", f"repositories/{source}/").json()["content_unit_counts"] == {"test_file": 1}

    summary = pulp_server.api("GET", "content/orphans/").json()
    assert summary["test_file"]["count"] >= 1
    assert summary["test_file"]["_href"] == "/pulp/api/v2/content/orphans/test_file/"
    [orphan] = [o for o in pulp_server.api("GET", "content/orphans/test_file/").json() if o["name"].startswith(tag)]
    assert orphan["name"] == f"{tag}n3"
    stored = pulp_server.data_dir / "content" / orphan["_storage_path"]
    assert stored.is_file()

    response = pulp_server.api("DELETE", "content/orphans/test_file/")
    assert response.status_code == 202, response.text
    task = pulp_server.wait_task(response.json())
    assert task["state"] == "finished", task
    assert task["result"]["test_file"] >= 1 and task["result"]["content_files"] >= 1
    assert [o for o in pulp_server.api("GET", "content/orphans/test_file/").json() if o["name"].startswith(tag)] == []
    assert not stored.exists()
    # Units still held are untouched, files included.
    for repo_id in (source, target):
        for unit in units(pulp_server, repo_id):
            assert (pulp_server.data_dir / "content" / unit["metadata"]["_storage_path"]).is_file()


def test_association_requests_are_validated(pulp_server, make_repo):
    repo_id = make_repo()
    path = f"repositories/{repo_id}/actions/associate/"
    assert_error(pulp_server.api("POST", path, json={}), 400, "PLP0016")
    assert_error(pulp_server.api("POST", path, json={"source_repo_id": "nosuch"}), 404, "PLP0009")
    assert_error(pulp_server.api("POST", path, json={"source_repo_id": repo_id, "criteria": {"limit": "x"}}),
                 400, "PLP0015")
    assert_error(pulp_server.api("DELETE", "content/orphans/no_such_type/"), 404, "PLP0009")
    assert_error(pulp_server.api("GET", "content/orphans/no_such_type/"), 404, "PLP0009")


def test_publish(pulp_server, make_repo, publish_dir, upload_text):
    repo_id = make_repo(distributors=[{"distributor_id": "manual", "distributor_type_id": "test_distributor",
                                       "distributor_config": {"publish_dir": str(publish_dir)},
                                       "auto_publish": False}])
    task = pulp_server.import_upload(repo_id, upload_text("p"), "test_file", unit_key={"name": "pub"})
    assert task["state"] == "finished"
    assert not (publish_dir / f"{repo_id}.json").exists()  # not auto-published
    assert_error(pulp_server.api("POST", f"repositories/{repo_id}/actions/publish/", json={}), 400, "PLP0016")
    assert_error(pulp_server.api("POST", f"repositories/{repo_id}/actions/publish/", json={"id": "nosuch"}),
                 404, "PLP0009")
    response = pulp_server.api("POST", f"repositories/{repo_id}/actions/publish/", json={"id": "manual"})
    assert response.status_code == 202, response.text
    task = pulp_server.wait_task(response.json())
    assert task["state"] == "finished", task
    assert set(task["tags"]) == {f"pulp:repository:{repo_id}", "pulp:action:publish"}
    assert task["result"]["distributor_id"] == "manual" and task["result"]["summary"] == {"units": 1}
    assert json.loads((publish_dir / f"{repo_id}.json").read_text()) == ["pub"]
    detailed = pulp_server.api("GET", f"repositories/{repo_id}/", params={"distributors": "true"}).json()
    assert detailed["distributors"][0]["last_publish"]


def test_installed_plugins_are_listed(pulp_server):
    types = {t["id"]: t for t in pulp_server.api("GET", "plugins/types/").json()}
    assert types["test_file"]["unit_key"] == ["name"]
    importers = {i["id"]: i for i in pulp_server.api("GET", "plugins/importers/").json()}
    assert importers["test_importer"]["types"] == ["test_file"]
    distributors = {d["id"] for d in pulp_server.api("GET", "plugins/distributors/").json()}
    assert "test_distributor" in distributors
    assert pulp_server.api("GET", "plugins/importers/test_importer/").json()["id"] == "test_importer"
    assert_error(pulp_server.api("GET", "plugins/importers/nosuch/"), 404, "PLP0009")
    assert_error(pulp_server.api("GET", "plugins/widgets/"), 404, "PLP0009")


def test_one_orphan_is_removed_by_its_id_and_a_held_unit_is_not(pulp_server, make_repo, upload_text):
    """``DELETE content/orphans/<type>/<unit_id>/`` (pulp-admin orphan remove --unit-id): that orphan only."""
    repo_id = make_repo()
    tag = unique("")
    for name in ("keep", "drop", "held"):
        task = pulp_server.import_upload(repo_id, upload_text(tag + name), "test_file", unit_key={"name": tag + name})
        assert task["state"] == "finished", task
    for name in ("keep", "drop"):
        response = pulp_server.api("POST", f"repositories/{repo_id}/actions/unassociate/",
                                   json={"criteria": {"filters": {"unit": {"name": tag + name}}}})
        assert pulp_server.wait_task(response.json())["state"] == "finished"
    mine = {o["name"]: o for o in pulp_server.api("GET", "content/orphans/test_file/").json()
            if o["name"].startswith(tag)}
    assert set(mine) == {tag + "keep", tag + "drop"}
    [held] = [u for u in units(pulp_server, repo_id) if u["metadata"]["name"] == tag + "held"]

    assert_error(pulp_server.api("DELETE", f"content/orphans/test_file/{held['unit_id']}/"), 404, "PLP0009")
    response = pulp_server.api("DELETE", f"content/orphans/test_file/{mine[tag + 'drop']['_id']}/")
    assert response.status_code == 202, response.text
    task = pulp_server.wait_task(response.json())
    assert task["state"] == "finished" and task["result"]["test_file"] == 1, task
    left = {o["name"] for o in pulp_server.api("GET", "content/orphans/test_file/").json() if o["name"].startswith(tag)}
    assert left == {tag + "keep"}
    assert [u["metadata"]["name"] for u in units(pulp_server, repo_id)] == [tag + "held"]
