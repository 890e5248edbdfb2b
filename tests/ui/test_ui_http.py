"""The web UI over plain HTTP (no browser): cookies, headers, and bad input answered with pages, never a 500."""

from __future__ import annotations

import re

import pytest
import requests

from .helpers import unique

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def signin_token(session: requests.Session, url: str) -> str:
    page = session.get(f"{url}/ui/signin")
    assert page.status_code == 200
    return TOKEN.search(page.text).group(1)


def signed_in(url: str) -> tuple[requests.Session, str]:
    """A session signed in as admin, and the CSRF token its forms carry."""
    session = requests.Session()
    token = signin_token(session, url)
    answer = session.post(f"{url}/ui/signin", data={"login": "admin", "password": "admin", "csrf_token": token})
    assert answer.status_code == 200 and 'class="login">admin<' in answer.text, answer.text[:500]
    return session, TOKEN.search(answer.text).group(1)


def test_root_redirects_to_the_ui(pulp_server):
    answer = requests.get(pulp_server.url + "/", allow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["location"] == "/ui/"


def test_session_cookie_flags(pulp_server):
    for forwarded, secure in ((None, False), ("https", True)):
        session = requests.Session()
        token = signin_token(session, pulp_server.url)
        headers = {"X-Forwarded-Proto": forwarded} if forwarded else {}
        answer = session.post(f"{pulp_server.url}/ui/signin", allow_redirects=False, headers=headers,
                              data={"login": "admin", "password": "admin", "csrf_token": token})
        assert answer.status_code == 303
        cookie = next(c for c in answer.headers["set-cookie"].split(", pulp_ui") if "pulp_ui_session=" in c)
        flags = {part.strip().lower() for part in cookie.split(";")}
        assert {"httponly", "samesite=strict", "path=/ui"} <= flags, cookie
        assert ("secure" in flags) is secure, cookie


def test_pages_carry_security_headers(pulp_server):
    answer = requests.get(pulp_server.url + "/ui/")
    assert answer.status_code == 200
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["server-timing"].startswith("app;dur=")


def test_wrong_password_and_unknown_user_are_the_same_answer(pulp_server):
    for login, password in (("admin", "wrong"), ("nobody-" + unique("u"), "wrong")):
        session = requests.Session()
        token = signin_token(session, pulp_server.url)
        answer = session.post(f"{pulp_server.url}/ui/signin",
                              data={"login": login, "password": password, "csrf_token": token})
        assert answer.status_code == 401
        assert "Wrong login or password." in answer.text


@pytest.mark.slow
def test_failed_sign_ins_are_throttled_like_rest_logins(start_pulp_server):
    server = start_pulp_server(login_failures_per_client=3, login_failures_per_user=0)
    session = requests.Session()
    token = signin_token(session, server.url)

    def attempt(password: str) -> requests.Response:
        return session.post(f"{server.url}/ui/signin", allow_redirects=False,
                            data={"login": "admin", "password": password, "csrf_token": token})

    assert [attempt("wrong").status_code for _ in range(3)] == [401, 401, 401]
    throttled = attempt("admin")  # the right password too, as the REST API does
    assert throttled.status_code == 429
    assert "Too many failed logins" in throttled.text
    assert int(throttled.headers["retry-after"]) > 0
    assert server.api("GET", "repositories/").status_code == 429  # one count for both doors


@pytest.mark.parametrize(("path", "status", "says"), [
    ("/ui/?page=abc", 400, "page must be a whole number"),
    ("/ui/?page=0", 400, "page must be a whole number"),
    ("/ui/no/such/page", 404, "There is no page at this address"),
    ("/ui/repositories/no-such-repo/", 404, "There is no repository of this id"),
    ("/ui/repositories/{repo}/?sort=size", 400, "sort must be one of"),
    ("/ui/repositories/{repo}/?q=" + "a" * 300, 400, "name filter takes at most"),
    ("/ui/repositories/{repo}/manifests/sha256:nothex", 400, "is not a digest"),
    ("/ui/repositories/{repo}/manifests/sha256:" + "0" * 64, 404, "no manifest with this digest"),
    ("/ui/repositories/{repo}/tags/nope/remove", 404, "no tag of this name"),
    ("/ui/tasks/no-such-task/", 404, "no task of this id"),
])
def test_bad_addresses_get_pages_saying_what_is_wrong(pulp_server, path, status, says):
    repo_id = unique("ui-http")
    pulp_server.create_repo(repo_id)
    session, _ = signed_in(pulp_server.url)
    answer = session.get(pulp_server.url + path.format(repo=repo_id))
    assert answer.status_code == status, answer.text[:300]
    assert answer.headers["content-type"].startswith("text/html")
    assert says in answer.text


def test_bad_forms_get_pages_saying_what_is_wrong(pulp_server):
    repo_id = unique("ui-forms")
    pulp_server.create_repo(repo_id)
    session, token = signed_in(pulp_server.url)
    url = pulp_server.url

    def post(path: str, **fields: str) -> requests.Response:
        return session.post(url + path, data={"csrf_token": token, **fields}, allow_redirects=False)

    cases = [
        (post("/ui/repositories/", id="bad id!"), 400, "Invalid properties"),
        (post("/ui/repositories/", id=repo_id), 409, "Duplicate resource"),
        (post("/ui/repositories/", id=unique("r"), registry_name="Not/Valid"), 400, "not a valid registry name"),
        (post(f"/ui/repositories/{repo_id}/tags/", name="-bad", digest="sha256:" + "0" * 64), 400,
         "is not a valid tag"),
        (post(f"/ui/repositories/{repo_id}/tags/", name="ok", digest="nope"), 400, "is not a digest"),
        (post(f"/ui/repositories/{repo_id}/tags/", name="ok", digest="sha256:" + "0" * 64), 400,
         "holds no manifest or list"),
        (session.post(f"{url}/ui/repositories/", json={"id": "x"}), 415, "application/x-www-form-urlencoded"),
        (session.post(f"{url}/ui/repositories/", data={"csrf_token": token, "big": "x" * 300_000}), 413,
         "larger than"),
        (session.post(f"{url}/ui/repositories/", data=b"\xff\xfe=1",
                      headers={"Content-Type": "application/x-www-form-urlencoded"}), 400, "not UTF-8"),
    ]
    for answer, status, says in cases:
        assert answer.status_code == status, (says, answer.status_code, answer.text[:300])
        assert says in answer.text, (says, answer.text[:2000])
    # The form comes back with what was typed.
    again = post("/ui/repositories/", id="bad id!", description="kept")
    assert 'value="bad id!"' in again.text and ">kept</textarea>" in again.text


def test_json_endpoints_answer_json_errors(pulp_server):
    session, token = signed_in(pulp_server.url)
    url = pulp_server.url + "/ui/api/"
    headers = {"X-CSRF-Token": token}
    missing = session.get(url + "uploads/00000000-0000-0000-0000-000000000000/")
    assert missing.status_code == 404 and "error" in missing.json()
    bad_offset = session.put(url + "uploads/00000000-0000-0000-0000-000000000000/0/", data=b"x", headers=headers)
    assert bad_offset.status_code == 404
    made = session.post(url + "uploads/", headers=headers).json()["upload_id"]
    beyond = session.put(url + f"uploads/{made}/5/", data=b"x", headers=headers)
    assert beyond.status_code == 400 and "outside" in beyond.json()["error"]
    repo_id = unique("ui-json")
    pulp_server.create_repo(repo_id)
    for body, says in (([1], "JSON object"), ({"upload_id": 5}, "as strings"),
                       ({"upload_id": made, "tag": "-no"}, "not a valid tag")):
        answer = session.post(url + f"repositories/{repo_id}/import_upload/", json=body, headers=headers)
        assert answer.status_code == 400 and says in answer.json()["error"], answer.text
    not_json = session.post(url + f"repositories/{repo_id}/import_upload/", data=b"{", headers=headers)
    assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["error"]
    assert session.delete(url + f"uploads/{made}/", headers=headers).status_code == 200
    assert requests.get(url + "tasks/?id=x").status_code == 403  # not signed in
