"""Request safety: JSON-only bounded bodies, no cross-origin writes, no CORS, ids and fields the API can serve.

Everything runs against the shared server; documents from before these checks ("legacy") are written
straight into its database, as an older server would have left them.
"""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pymongo
import pytest
from platform_helpers import assert_error, unique

MiB = 1024 * 1024


def strict_json(text: str) -> Any:
    """Parse as a strict JSON reader would (Python's own accepts NaN)."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} in a response")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def database(pulp_server) -> Iterator[pymongo.database.Database]:
    client = pymongo.MongoClient(pulp_server.mongo_uri)
    yield client.get_default_database(default="pulp_database")
    client.close()


def raw_request(server, method: str, path: str) -> tuple[int, bytes]:
    """A request whose path is sent as is (requests would resolve ``.`` and ``..`` segments away)."""
    url = urlsplit(server.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        token = base64.b64encode(":".join(server.auth).encode()).decode()
        connection.request(method, path, headers={"Authorization": f"Basic {token}"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def body_of(repo_id: str, **fields: Any) -> dict:
    return {"id": repo_id, "importer_type_id": "test_importer", **fields}


def assert_absent(server, repo_id: str) -> None:
    assert server.api("GET", f"repositories/{repo_id}/").status_code == 404


# -- content types and origins ------------------------------------------------------------------

@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          "application/json; charset=latin-1", None])
def test_a_json_body_of_another_content_type_is_415(pulp_server, content_type):
    repo_id = unique()
    headers = {"Content-Type": content_type} if content_type else {}
    response = pulp_server.api("POST", "repositories/", data=json.dumps(body_of(repo_id)).encode(),
                               headers=headers)
    body = assert_error(response, 415, "PLP0015")
    assert "application/json" in body["error_message"]
    assert_absent(pulp_server, repo_id)


def test_application_json_with_utf8_charset_is_taken(pulp_server):
    repo_id = unique()
    response = pulp_server.api("POST", "repositories/", data=json.dumps(body_of(repo_id)).encode(),
                               headers={"Content-Type": "application/json; charset=UTF-8"})
    assert response.status_code == 201, response.text
    pulp_server.delete_repo(repo_id)


def test_import_with_a_form_body_is_415(pulp_server, make_repo):
    repo_id = make_repo()
    response = pulp_server.api("POST", f"repositories/{repo_id}/actions/import_upload/",
                               data={"upload_id": "x", "unit_type_id": "test_file"})
    assert_error(response, 415, "PLP0015")


def test_a_write_from_another_origin_is_403(pulp_server):
    before = pulp_server.api("GET", "content/uploads/").json()["upload_ids"]
    # A body-less POST is what a cross-site form or no-cors fetch can send without a preflight.
    for origin in ("http://evil.example", "null", pulp_server.url.replace("127.0.0.1", "localhost")):
        response = pulp_server.api("POST", "content/uploads/", headers={"Origin": origin})
        body = assert_error(response, 403, "PLP0000")
        assert "origin" in body["error_message"]
    assert pulp_server.api("GET", "content/uploads/").json()["upload_ids"] == before
    # The same origin (a future web page of this server) and reads from anywhere are fine.
    same = pulp_server.api("POST", "content/uploads/", headers={"Origin": pulp_server.url})
    assert same.status_code == 201, same.text
    assert pulp_server.api("DELETE", f"content/uploads/{same.json()['upload_id']}/").status_code == 200
    assert pulp_server.api("GET", "repositories/", headers={"Origin": "http://evil.example"}).status_code == 200


def test_no_cors_headers_are_given(pulp_server):
    preflight = pulp_server.api("OPTIONS", "repositories/", auth=None, headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code >= 400
    assert not any(name.lower().startswith("access-control-") for name in preflight.headers)
    plain = pulp_server.api("GET", "repositories/", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in plain.headers


def test_upload_chunks_are_bytes_not_json(pulp_server):
    upload_id = pulp_server.api("POST", "content/uploads/").json()["upload_id"]
    payload = b"\x00\xff not json" * 100_000  # over max_json_body: the limit is for JSON only
    for content_type in ("application/octet-stream", "text/plain"):
        response = pulp_server.api("PUT", f"content/uploads/{upload_id}/0/", data=payload,
                                   headers={"Content-Type": content_type})
        assert response.status_code == 200, response.text
    assert pulp_server.api("GET", f"content/uploads/{upload_id}/").json()["size"] == len(payload)
    pulp_server.api("DELETE", f"content/uploads/{upload_id}/")


# -- bodies ---------------------------------------------------------------------------------------

def test_a_body_over_the_limit_is_413(pulp_server):
    repo_id = unique()
    big = json.dumps(body_of(repo_id, description="x" * (10 * MiB))).encode()
    assert_error(pulp_server.api("POST", "repositories/", data=big, headers={"Content-Type": "application/json"}),
                 413, "PLP0015")

    def chunked() -> Iterator[bytes]:  # no Content-Length: refused while reading
        for start in range(0, len(big), 64 * 1024):
            yield big[start:start + 64 * 1024]

    assert_error(pulp_server.api("POST", "repositories/", data=chunked(),
                                 headers={"Content-Type": "application/json"}), 413, "PLP0015")
    assert_absent(pulp_server, repo_id)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999", "123456789012345678901234567890"])
def test_numbers_json_cannot_carry_are_400(pulp_server, literal):
    repo_id = unique()
    raw = f'{{"id": "{repo_id}", "importer_type_id": "test_importer", "notes": {{"n": {literal}}}}}'
    assert_error(pulp_server.api("POST", "repositories/", data=raw, headers={"Content-Type": "application/json"}),
                 400, "PLP0015")
    assert_absent(pulp_server, repo_id)
    strict_json(pulp_server.api("GET", "repositories/").text)


@pytest.mark.parametrize("depth", [65, 100_000])
def test_deep_nesting_is_400_not_a_recursion_error(pulp_server, depth):
    repo_id = unique()
    raw = f'{{"id": "{repo_id}", "notes": {{"n": {"[" * depth}{"]" * depth}}}}}'
    body = assert_error(pulp_server.api("POST", "repositories/", data=raw,
                                        headers={"Content-Type": "application/json"}), 400, "PLP0015")
    assert "nested deeper than 64" in body["error_message"]
    assert_absent(pulp_server, repo_id)


def test_nesting_within_the_limit_and_brackets_in_strings_are_fine(pulp_server):
    repo_id = unique()
    notes = {"deep": json.loads("[" * 60 + "]" * 60), "text": "[" * 1000}
    response = pulp_server.api("POST", "repositories/", json=body_of(repo_id, notes=notes))
    assert response.status_code == 201, response.text
    assert response.json()["notes"] == notes
    pulp_server.delete_repo(repo_id)


def test_responses_are_strict_json_even_for_legacy_nan(pulp_server, database):
    repo_id = unique("legacy")
    database["repos"].insert_one({"repo_id": repo_id, "display_name": repo_id, "notes": {"n": float("nan")},
                                  "scratchpad": {}, "content_unit_counts": {}})
    response = pulp_server.api("GET", f"repositories/{repo_id}/")
    assert response.status_code == 200
    assert strict_json(response.text)["notes"] == {"n": None}
    strict_json(pulp_server.api("GET", "repositories/").text)
    pulp_server.delete_repo(repo_id)


# -- ids and fields -------------------------------------------------------------------------------

@pytest.mark.parametrize("repo_id", [".", "..", "r\n", "r\r", "tab\tid", "a/b", "é", "a" * 256, "a" * 100_000],
                         ids=["dot", "dotdot", "newline", "cr", "tab", "slash", "non-ascii", "256", "100k"])
def test_bad_repository_ids_are_400(pulp_server, repo_id):
    body = assert_error(pulp_server.api("POST", "repositories/", json=body_of(repo_id)), 400, "PLP0015")
    assert body["error"]["data"] == {"property_names": ["id"]}
    assert "1 to 255" in body["error_message"]
    assert pulp_server.api("GET", "repositories/").status_code == 200


def test_the_longest_id_works_end_to_end(pulp_server):
    repo_id = "a.b-c_" + "x" * 249
    response = pulp_server.api("POST", "repositories/", json=body_of(repo_id))
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"/pulp/api/v2/repositories/{repo_id}/"
    pulp_server.delete_repo(repo_id)


@pytest.mark.parametrize("distributor_id", [".", "d\n", "x" * 256])
def test_bad_distributor_ids_are_400(pulp_server, publish_dir, distributor_id):
    repo_id = unique()
    distributors = [{"distributor_id": distributor_id, "distributor_type_id": "test_distributor",
                     "distributor_config": {"publish_dir": str(publish_dir)}}]
    body = assert_error(pulp_server.api("POST", "repositories/", json=body_of(repo_id, distributors=distributors)),
                        400, "PLP0015")
    assert body["error"]["data"] == {"property_names": ["distributor_id"]}
    assert_absent(pulp_server, repo_id)


def test_a_type_id_of_100k_characters_is_a_short_400(pulp_server):
    response = pulp_server.api("POST", "repositories/", json={"id": unique(), "importer_type_id": "i" * 100_000})
    assert_error(response, 400, "PLP0015")
    assert len(response.content) < 2000


@pytest.mark.parametrize("fields, name", [
    ({"description": "d" * (64 * 1024 + 1)}, "description"),
    ({"display_name": "n" * 1025}, "display_name"),
    ({"notes": {"big": "v" * (64 * 1024)}}, "notes"),
    ({"notes": {"$set": "x"}}, "notes"),
    ({"notes": {"a.b": "x"}}, "notes"),
    ({"notes": {"k" * 256: "x"}}, "notes"),
])
def test_oversized_or_unstorable_fields_are_400(pulp_server, fields, name):
    repo_id = unique()
    body = assert_error(pulp_server.api("POST", "repositories/", json=body_of(repo_id, **fields)), 400, "PLP0015")
    assert body["error"]["data"] == {"property_names": [name]}
    assert_absent(pulp_server, repo_id)


def test_updates_are_bounded_too(pulp_server, make_repo):
    repo_id = make_repo(description="before")
    put = pulp_server.api
    assert_error(put("PUT", f"repositories/{repo_id}/", json={"delta": {"description": "d" * (64 * 1024 + 1)}}),
                 400, "PLP0015")
    assert_error(put("PUT", f"repositories/{repo_id}/", json={"delta": {"notes": {"$x": 1}}}), 400, "PLP0015")
    # Each update is small, but the notes they add up to are judged as a whole.
    half = "v" * (40 * 1024)
    assert put("PUT", f"repositories/{repo_id}/", json={"delta": {"notes": {"one": half}}}).status_code == 200
    assert_error(put("PUT", f"repositories/{repo_id}/", json={"delta": {"notes": {"two": half}}}), 400, "PLP0015")
    # Removing a note makes room again.
    update = put("PUT", f"repositories/{repo_id}/", json={"delta": {"notes": {"one": None, "two": half}}})
    assert update.status_code == 200, update.text
    repo = put("GET", f"repositories/{repo_id}/").json()
    assert repo["description"] == "before" and set(repo["notes"]) == {"two"}


def test_a_config_mongodb_cannot_store_is_400_not_500(pulp_server, publish_dir):
    repo_id = unique()
    distributors = [{"distributor_id": "d1", "distributor_type_id": "test_distributor",
                     "distributor_config": {"publish_dir": str(publish_dir), "$where": 1}}]
    body = assert_error(pulp_server.api("POST", "repositories/", json=body_of(repo_id, distributors=distributors)),
                        400, "PLP0015")
    assert body["error"]["data"] == {"property_names": ["config"]}
    assert_absent(pulp_server, repo_id)


@pytest.mark.parametrize("repo_id", [".", "..", "r\n", "a" * 65_000], ids=["dot", "dotdot", "newline", "65k"])
def test_legacy_repositories_with_ids_now_refused_stay_deletable(pulp_server, database, repo_id):
    database["repos"].delete_many({"repo_id": repo_id})
    database["repos"].insert_one({"repo_id": repo_id, "display_name": "legacy", "notes": {}, "scratchpad": {},
                                  "content_unit_counts": {}})
    quoted = repo_id.replace("\n", "%0A")
    status, raw = raw_request(pulp_server, "GET", f"/pulp/api/v2/repositories/{quoted}/")
    assert status == 200 and json.loads(raw)["id"] == repo_id
    status, raw = raw_request(pulp_server, "DELETE", f"/pulp/api/v2/repositories/{quoted}/")
    assert status == 202, raw[:500]
    assert pulp_server.wait_task(json.loads(raw))["state"] == "finished"
    assert database["repos"].count_documents({"repo_id": repo_id}) == 0


def test_a_delete_with_a_body_that_is_not_json_is_415(pulp_server, make_repo):
    repo_id = make_repo()
    response = pulp_server.api("DELETE", f"repositories/{repo_id}/", data=b"id=x",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(response, 415, "PLP0015")
    assert pulp_server.api("GET", f"repositories/{repo_id}/").status_code == 200
    pulp_server.delete_repo(repo_id)


@pytest.mark.parametrize("distributor_id", ["..", "d\n", "x" * 256])
def test_a_distributor_added_later_has_the_same_id_rule(pulp_server, make_repo, publish_dir, distributor_id):
    repo_id = make_repo()
    response = pulp_server.api("POST", f"repositories/{repo_id}/distributors/", json={
        "distributor_id": distributor_id, "distributor_type_id": "test_distributor",
        "distributor_config": {"publish_dir": str(publish_dir)}})
    body = assert_error(response, 400, "PLP0015")
    assert body["error"]["data"] == {"property_names": ["distributor_id"]}
    ids = [d["id"] for d in pulp_server.api("GET", f"repositories/{repo_id}/distributors/").json()]
    assert ids == ["test_dist"]
    pulp_server.delete_repo(repo_id)
