"""Pulp 2's search criteria: repositories/<id>/search/units/ (and associate/unassociate), content/units/<type>/.

Filters with MongoDB operators on unit and association fields, sort and fields as lists or as
{"unit": [...], "association": [...]}, limit and skip, several types at once, and every malformed
criteria answered 400 with a reason.
"""

from __future__ import annotations

import pytest
from platform_helpers import assert_error, unique, units
from tarballs import DATA


@pytest.fixture
def files(pulp_server, make_repo, upload_text):
    """A repository holding test files <tag>n1..n5 (uploaded in that order) of sizes len(tag) + 1..5."""
    repo_id = make_repo()
    tag = unique("")
    for i in range(1, 6):
        task = pulp_server.import_upload(repo_id, upload_text(tag + "x" * i), "test_file",
                                         unit_key={"name": f"{tag}n{i}"})
        assert task["state"] == "finished", task
    return repo_id, tag


def found(server, repo_id: str, tag: str, criteria: dict) -> list[str]:
    """The short names (n1…) of the rows a search answers, in its order."""
    return [row["metadata"]["name"][len(tag):] for row in units(server, repo_id, criteria)]


def test_unit_filters_take_mongo_operators(pulp_server, files):
    repo_id, tag = files
    base = len(tag)
    n = [f"{tag}n{i}" for i in range(1, 6)]
    cases = [
        ({"name": {"$in": [n[0], n[2]]}}, ["n1", "n3"]),
        ({"name": {"$nin": [n[0], n[2]]}}, ["n2", "n4", "n5"]),
        ({"name": {"$regex": f"^{tag}n[24]$"}}, ["n2", "n4"]),
        ({"name": {"$regex": f"^{tag.upper()}N[24]$", "$options": "i"}}, ["n2", "n4"]),
        ({"size": {"$gt": base + 1, "$lte": base + 3}}, ["n2", "n3"]),
        ({"$and": [{"size": {"$gte": base + 2}}, {"size": {"$ne": base + 4}}]}, ["n2", "n3", "n5"]),
        ({"$or": [{"name": n[0]}, {"size": base + 5}]}, ["n1", "n5"]),
        ({"$nor": [{"name": n[0]}, {"size": {"$gt": base + 2}}]}, ["n2"]),
        ({"digest": {"$exists": True}, "size": {"$eq": base + 1}}, ["n1"]),
        ({"no_such_field": {"$exists": True}}, []),
        # Pulp 2 compiled a string given to $not as a regular expression.
        ({"name": {"$not": "n[12]$"}, "size": {"$lte": base + 5}}, ["n3", "n4", "n5"]),
        ({"size": {"$not": {"$gt": base + 2}}}, ["n1", "n2"]),
        ({"size": {"$mod": [2, 0]}, "name": {"$in": n}}, ["n2", "n4"] if base % 2 == 0 else ["n1", "n3", "n5"]),
    ]
    for unit_filter, expected in cases:
        assert found(pulp_server, repo_id, tag, {"filters": {"unit": unit_filter}}) == expected, unit_filter


def test_association_filters_match_the_association(pulp_server, files):
    repo_id, tag = files
    rows = {row["metadata"]["name"][len(tag):]: row for row in units(pulp_server, repo_id)}
    third = rows["n3"]["created"]
    assert third.endswith("Z")
    # Pulp 2 kept created as an ISO string and its clients compare strings: those are read as times here.
    assert found(pulp_server, repo_id, tag, {"filters": {"association": {"created": {"$gte": third}}}}) == \
        ["n3", "n4", "n5"]
    assert found(pulp_server, repo_id, tag, {"filters": {"association": {"created": {"$lt": {"$date": third}}}}}) == \
        ["n1", "n2"]
    ids = [rows["n2"]["unit_id"], rows["n5"]["unit_id"]]
    assert found(pulp_server, repo_id, tag, {"filters": {"association": {"unit_id": {"$in": ids}}}}) == ["n2", "n5"]
    both = {"association": {"created": {"$gte": third}}, "unit": {"size": {"$lt": len(tag) + 5}}}
    assert found(pulp_server, repo_id, tag, {"filters": both}) == ["n3", "n4"]
    # The association filter cannot reach another repository's rows.
    escape = {"association": {"$or": [{"repo_id": "elsewhere"}, {"unit_id": {"$in": ids}}]}}
    assert found(pulp_server, repo_id, tag, {"filters": escape}) == ["n2", "n5"]


def test_sort_fields_limit_and_skip(pulp_server, files):
    repo_id, tag = files
    base = len(tag)
    everything = ["n1", "n2", "n3", "n4", "n5"]
    assert found(pulp_server, repo_id, tag, {}) == everything  # by the unit key, as Pulp 2 did
    backwards = everything[::-1]
    for sort in ([["size", "descending"]], {"unit": [["size", "descending"]]}, {"unit": [["size", -1]]},
                 {"association": [["created", "descending"]]}, {"association": [["created", "-1"]]}):
        assert found(pulp_server, repo_id, tag, {"sort": sort}) == backwards, sort
    assert found(pulp_server, repo_id, tag, {"sort": {"association": [["created", "ascending"]]}}) == everything
    page = {"sort": {"unit": [["size", "ascending"]]}, "skip": 1, "limit": 2}
    assert found(pulp_server, repo_id, tag, page) == ["n2", "n3"]
    assert found(pulp_server, repo_id, tag, {"skip": 4}) == ["n5"]
    assert found(pulp_server, repo_id, tag, {"skip": 5}) == []
    # Pages of two add up to the whole, in order.
    pages = [found(pulp_server, repo_id, tag, {"skip": skip, "limit": 2}) for skip in (0, 2, 4)]
    assert sum(pages, []) == everything
    # Filtered and sorted by the association, then paged: in the database, not after the fact.
    newest_big = {"filters": {"unit": {"size": {"$gt": base + 1}}}, "sort": {"association": [["created", -1]]},
                  "limit": 2}
    assert found(pulp_server, repo_id, tag, newest_big) == ["n5", "n4"]
    assert found(pulp_server, repo_id, tag, {**newest_big, "skip": 2, "limit": "5"}) == ["n3", "n2"]


def test_fields_choose_what_rows_show(pulp_server, files):
    repo_id, _ = files
    for fields in (["size"], {"unit": ["size"]}):
        rows = units(pulp_server, repo_id, {"fields": fields})
        assert len(rows) == 5
        assert all(set(r["metadata"]) == {"_id", "_content_type_id", "name", "size"} for r in rows), rows
        assert all({"repo_id", "created", "updated", "unit_id", "unit_type_id", "id"} <= set(r) for r in rows)
    # With association fields chosen, Pulp 2 answered only those, with the keys.
    rows = units(pulp_server, repo_id, {"fields": {"association": ["created"]}})
    assert all(set(r) == {"metadata", "unit_id", "unit_type_id", "id", "created"} for r in rows), rows
    assert all("digest" in r["metadata"] for r in rows)
    rows = units(pulp_server, repo_id, {"fields": {"unit": ["digest"], "association": ["updated"]}})
    assert all(set(r) == {"metadata", "unit_id", "unit_type_id", "id", "updated"} for r in rows), rows
    assert all(set(r["metadata"]) == {"_id", "_content_type_id", "name", "digest"} for r in rows), rows


def test_bad_criteria_are_400_with_a_reason(pulp_server, files):
    repo_id, _ = files
    path = f"repositories/{repo_id}/search/units/"
    cases = [
        ({"filters": {"unit": {"$where": "sleep(1000)"}}}, "$where is not allowed"),
        ({"filters": {"unit": {"name": {"$not": {"$function": {}}}}}}, "$function is not allowed"),
        ({"filters": {"association": {"$and": [{"$expr": {"$eq": [1, 1]}}]}}}, "$expr is not allowed"),
        ({"filters": {"unit": {"$accumulator": {}}}}, "$accumulator is not allowed"),
        ({"filters": {"unit": {"name": {"$bogus": 1}}}}, "$bogus is not a supported query operator"),
        ({"filters": {"unit": {"$text": {"$search": "x"}}}}, "$text is not supported"),
        ({"filters": {"unit": {"name": {"$regex": "("}}}}, "the database refused it"),
        ({"filters": {"unit": {"name": {"$regex": "a", "$options": "q"}}}}, "regex flags"),
        ({"filters": {"unit": {"name": {"$options": "i"}}}}, "$options needs $regex"),
        ({"filters": {"unit": {"name": {"$in": "n1"}}}}, "$in takes a list"),
        ({"filters": {"unit": {"$or": {"name": "n1"}}}}, "$or takes a non-empty list"),
        ({"filters": {"unit": {"size": {"$size": -1}}}}, "$size takes a non-negative integer"),
        ({"filters": {"unit": {"name": {"$gt": 1, "name": 2}}}}, "cannot be mixed"),
        ({"filters": {"unit": "name"}}, "must be an object"),
        ({"filters": ["unit"]}, "must be an object"),
        ({"filters": {"name": "n1"}}, "takes only unit and association"),
        ({"filters": {"association": {"created": "yesterday"}}}, "not an ISO 8601 time"),
        ({"filters": {"association": {"created": {"$date": "soon"}}}}, "not an ISO 8601 time"),
        ({"sort": [["size", "sideways"]]}, "unknown sort direction"),
        ({"sort": [["size"]]}, "each entry must be"),
        ({"sort": "size"}, "must be a list"),
        ({"sort": {"units": [["size", "ascending"]]}}, "takes only unit and association"),
        ({"sort": {"association": [["owner_type", "ascending"]]}}, "association fields are"),
        ({"fields": "size"}, "must be a list"),
        ({"fields": {"association": ["nope"]}}, "association fields are"),
        ({"fields": ["$size"]}, "is not a field name"),
        ({"limit": 0}, "at least 1"),
        ({"limit": -1}, "at least 1"),
        ({"skip": "x"}, "at least 0"),
        ({"limit": True}, "at least 1"),
        ({"type_ids": ["no_such_type"]}, "unknown content type"),
        ({"remove_duplicates": "yes"}, "true or false"),
        ({"filter": {}}, "not a criteria key"),
        ("not an object", "must be an object"),
    ]
    for criteria, reason in cases:
        body = assert_error(pulp_server.api("POST", path, json={"criteria": criteria}), 400, "PLP0015")
        assert reason in body["error_message"], (criteria, body["error_message"])
    # Copy and removal check criteria the same way before queueing anything.
    for action, extra in (("associate", {"source_repo_id": repo_id}), ("unassociate", {})):
        assert_error(pulp_server.api("POST", f"repositories/{repo_id}/actions/{action}/",
                                     json={**extra, "criteria": {"filters": {"unit": {"$where": "1"}}}}),
                     400, "PLP0015")


def test_associate_and_unassociate_follow_sort_limit_and_regex(pulp_server, files, make_repo):
    source, tag = files
    target = make_repo()
    # pulp-smash's copy sends "filters": {} with the type ids.
    biggest_two = {"type_ids": ["test_file"], "filters": {}, "sort": {"unit": [["size", "descending"]]}, "limit": 2}
    response = pulp_server.api("POST", f"repositories/{target}/actions/associate/",
                               json={"source_repo_id": source, "criteria": biggest_two})
    task = pulp_server.wait_task(response.json())
    assert task["state"] == "finished", task
    assert found(pulp_server, target, tag, {}) == ["n4", "n5"]
    response = pulp_server.api("POST", f"repositories/{target}/actions/unassociate/",
                               json={"criteria": {"filters": {"unit": {"name": {"$regex": "n5$"}}}}})
    assert pulp_server.wait_task(response.json())["state"] == "finished"
    assert found(pulp_server, target, tag, {}) == ["n4"]
    assert found(pulp_server, source, tag, {}) == ["n1", "n2", "n3", "n4", "n5"]


def test_several_types_come_type_by_type_unless_sorted_by_association(pulp_server):
    repo_id = unique("multi")
    pulp_server.create_repo(repo_id)
    task = pulp_server.import_upload(repo_id, pulp_server.upload_file(DATA / "skopeo-v2s2.tar"), "docker_manifest",
                                     unit_metadata={"tag": "1.0"})
    assert task["state"] == "finished", task
    rows = units(pulp_server, repo_id)
    types = [r["unit_type_id"] for r in rows]
    blobs = types.count("docker_blob")
    assert blobs >= 2 and types == ["docker_blob"] * blobs + ["docker_manifest", "docker_tag"], types
    digests = [r["metadata"]["digest"] for r in rows[:blobs]]
    assert digests == sorted(digests)  # each type by its unit key
    # Paging runs across the types, in the same order.
    page = units(pulp_server, repo_id, {"skip": blobs - 1, "limit": 2})
    assert [r["unit_id"] for r in page] == [r["unit_id"] for r in rows[blobs - 1:blobs + 1]]
    # Types are taken in alphabetical order whatever order they are named in.
    named = units(pulp_server, repo_id, {"type_ids": ["docker_tag", "docker_manifest"]})
    assert [r["unit_type_id"] for r in named] == ["docker_manifest", "docker_tag"]
    # An association sort orders all types together.
    newest = units(pulp_server, repo_id, {"sort": {"association": [["created", "descending"]]}})
    created = [r["created"] for r in newest]
    assert created == sorted(created, reverse=True) and len(newest) == len(rows)
    # A unit filter applies to every type; a tag has no digest field.
    with_digest = units(pulp_server, repo_id, {"filters": {"unit": {"digest": {"$regex": "^sha256:"}}}})
    assert {r["unit_type_id"] for r in with_digest} == {"docker_blob", "docker_manifest"}
    slim = units(pulp_server, repo_id, {"fields": {"unit": ["size"]}})
    assert {tuple(sorted(r["metadata"])) for r in slim if r["unit_type_id"] == "docker_blob"} == \
        {("_content_type_id", "_id", "digest", "size")}


def test_an_empty_repository_has_no_rows(pulp_server, make_repo):
    repo_id = make_repo()
    assert units(pulp_server, repo_id, {"sort": {"association": [["created", "descending"]]}, "limit": 3}) == []


# -- content/units/<type_id>/ -------------------------------------------------------------------
def content_search(server, type_id: str, body: dict) -> list[dict]:
    response = server.api("POST", f"content/units/{type_id}/search/", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_content_unit_search_across_repositories(pulp_server, files, make_repo):
    repo_id, tag = files
    other = make_repo()
    [n2] = [r for r in units(pulp_server, repo_id) if r["metadata"]["name"] == f"{tag}n2"]
    copy = pulp_server.api("POST", f"repositories/{other}/actions/associate/", json={
        "source_repo_id": repo_id, "criteria": {"filters": {"unit": {"name": f"{tag}n2"}}}})
    assert pulp_server.wait_task(copy.json())["state"] == "finished"
    mine = {"name": {"$regex": f"^{tag}"}}
    rows = content_search(pulp_server, "test_file", {"criteria": {"filters": mine, "sort": [["size", "descending"]],
                                                                  "skip": 1, "limit": 3}, "include_repos": True})
    assert [r["name"][len(tag):] for r in rows] == ["n4", "n3", "n2"]
    assert rows[2]["repository_memberships"] == sorted([repo_id, other])
    assert rows[0]["repository_memberships"] == [repo_id]
    for row in rows:
        assert row["_content_type_id"] == "test_file"
        assert row["_href"] == f"/pulp/api/v2/content/units/test_file/{row['_id']}/"
    unit = pulp_server.api("GET", rows[2]["_href"])
    assert unit.status_code == 200, unit.text
    assert unit.json()["_id"] == n2["unit_id"] and unit.json()["name"] == f"{tag}n2"
    assert "repository_memberships" not in content_search(pulp_server, "test_file", {"criteria": {"filters": mine}})[0]
    slim = content_search(pulp_server, "test_file", {"criteria": {"filters": mine, "fields": ["size"]}})
    assert len(slim) == 5 and all(set(r) == {"_id", "_content_type_id", "size", "_href", "_ns", "children"}
                                  for r in slim), slim
    # The GET form: filters as JSON, field repeated.
    response = pulp_server.api("GET", "content/units/test_file/search/", params={
        "filters": f'{{"name": "{tag}n5"}}', "field": ["size", "name"], "limit": "1", "include_repos": "true"})
    assert response.status_code == 200, response.text
    [five] = response.json()
    assert five["name"] == f"{tag}n5" and five["repository_memberships"] == [repo_id] and "digest" not in five
    response = pulp_server.api("GET", "content/units/test_file/search/", params={
        "filters": f'{{"name": {{"$regex": "^{tag}"}}}}', "sort": '[["size", "descending"]]', "skip": "3"})
    assert [r["name"][len(tag):] for r in response.json()] == ["n2", "n1"]
    listed = pulp_server.api("GET", "content/units/test_file/").json()
    assert {r["name"] for r in listed} >= {f"{tag}n{i}" for i in range(1, 6)}


def test_content_unit_search_refuses_bad_requests(pulp_server):
    search = "content/units/test_file/search/"
    assert_error(pulp_server.api("POST", "content/units/no_such_type/search/", json={"criteria": {}}),
                 404, "PLP0009")
    assert_error(pulp_server.api("GET", "content/units/no_such_type/search/"), 404, "PLP0009")
    assert_error(pulp_server.api("GET", "content/units/no_such_type/"), 404, "PLP0009")
    assert_error(pulp_server.api("GET", "content/units/test_file/no-such-unit/"), 404, "PLP0009")
    assert_error(pulp_server.api("GET", "content/units/no_such_type/no-such-unit/"), 404, "PLP0009")
    assert_error(pulp_server.api("POST", search, json={}), 400, "PLP0016")
    for body in ({"criteria": {"filters": {"$where": "1"}}}, {"criteria": {"filters": {"name": {"$regex": "("}}}},
                 {"criteria": {"sort": [["name", "up"]]}}, {"criteria": {"limit": 0}},
                 {"criteria": {"type_ids": ["test_file"]}}, {"criteria": [], "include_repos": True},
                 {"criteria": {}, "include_repos": "maybe"}):
        assert_error(pulp_server.api("POST", search, json=body), 400, "PLP0015")
    for params in ({"filters": "{not json"}, {"limit": "many"}, {"nonsense": "1"}, {"include_repos": "perhaps"}):
        assert_error(pulp_server.api("GET", search, params=params), 400, "PLP0015")


def test_content_types(pulp_server):
    listed = pulp_server.api("GET", "content/types/").json()
    [entry] = [t for t in listed if t["content_type"] == "test_file"]
    assert entry["_href"] == "/pulp/api/v2/content/types/test_file/"
    body = pulp_server.api("GET", entry["_href"]).json()
    assert body["id"] == "test_file" and body["unit_key"] == ["name"]
    assert pulp_server.api("GET", body["content_units"]["_href"]).status_code == 200
    assert_error(pulp_server.api("GET", "content/types/no_such_type/"), 404, "PLP0009")
