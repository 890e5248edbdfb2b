"""Who sees what in the web UI, and writes that do not come from its own pages (headless chromium)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from .helpers import FACTS, IMAGE, csrf_token, sign_in, unique

pytestmark = pytest.mark.slow


def test_anonymous_visitor_sees_public_repositories_only(new_context, pulp_server, shots):
    prefix = unique("ui-access")
    public, protected = f"{prefix}-public", f"{prefix}-secret"
    pulp_server.create_repo(public)
    pulp_server.create_repo(protected, distributors=[{
        "distributor_id": "docker_web_distributor_name_cli", "distributor_type_id": "docker_distributor_web",
        "distributor_config": {"repo-registry-id": protected, "protected": True}, "auto_publish": True}])
    upload_id = pulp_server.upload_file(IMAGE)
    task = pulp_server.import_upload(protected, upload_id, "docker_manifest", unit_metadata={"tag": "1.0"})
    assert task["state"] == "finished", task
    digest = FACTS[IMAGE.name]["manifest_digest_of_file_bytes"]

    anonymous = new_context().new_page()
    anonymous.goto(f"/ui/?q={prefix}")
    rows = anonymous.locator("#repositories tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-repo-id", public)
    expect(anonymous.locator("main")).not_to_contain_text(protected)
    expect(anonymous.get_by_role("link", name="New repository")).to_have_count(0)
    # Nor by its address: the same answer as for a repository that does not exist.
    for path in (f"/ui/repositories/{protected}/", f"/ui/repositories/{protected}/manifests/{digest}",
                 f"/ui/repositories/{protected}/delete"):
        response = anonymous.goto(path)
        assert response.status in (403, 404), (path, response.status)
        expect(anonymous.locator("main")).not_to_contain_text("sha256:")
    assert anonymous.goto("/ui/repositories/no-such-repository/").status == 404
    # The public one is read-only: no upload, no tag forms, no delete.
    anonymous.goto(f"/ui/repositories/{public}/")
    expect(anonymous.get_by_role("heading", level=1)).to_have_text(public)
    for name in ("Upload an image", "Add a tag"):
        expect(anonymous.get_by_role("heading", name=name)).to_have_count(0)
    expect(anonymous.get_by_role("link", name="Delete…")).to_have_count(0)
    expect(anonymous.get_by_role("button", name="Publish")).to_have_count(0)

    # Signed in, both are there, the protected one marked so.
    page = new_context().new_page()
    sign_in(page)
    page.goto(f"/ui/?q={prefix}")
    expect(page.locator("#repositories tbody tr")).to_have_count(2)
    expect(page.locator(f"tr[data-repo-id='{protected}'] .badge")).to_have_text("protected")
    expect(page.locator(f"tr[data-repo-id='{public}'] .badge")).to_have_text("public")
    shots(page, "repositories-access")
    page.goto(f"/ui/repositories/{protected}/manifests/{digest}")
    expect(page.locator("#manifest-digest")).to_have_text(digest)


class _EvilSite:
    """A page on another origin (another port) whose form posts to the UI as soon as it loads."""

    def __init__(self, target: str) -> None:
        html = (f'<form id="f" method="post" action="{target}">'
                '<input name="id" value="{repo}"><input name="csrf_token" value="guessed"></form>'
                '<script>document.getElementById("f").submit()</script>')

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                body = html.replace("{repo}", self.path.strip("/")).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def evil_site(pulp_server) -> Iterator[_EvilSite]:
    site = _EvilSite(f"{pulp_server.url}/ui/repositories/")
    yield site
    site.close()


def test_cross_site_writes_are_refused(context, pulp_server, evil_site):
    page = context.new_page()
    sign_in(page)
    token = csrf_token(page)
    exists = lambda repo_id: pulp_server.api("GET", f"repositories/{repo_id}/").status_code == 200  # noqa: E731

    # A real cross-site form: another origin's page posts to the UI in this signed-in browser.
    victim = unique("ui-evil")
    page.goto(f"{evil_site.url}/{victim}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    assert page.url.startswith(f"{pulp_server.url}/ui/repositories/")
    assert not exists(victim)

    # The same POST with the browser's cookies: refused without the token, with a wrong one, and with the
    # right one from a foreign Origin; accepted only with the token from our own origin.
    post = context.request.post
    form = {"id": unique("ui-forged")}
    assert post("/ui/repositories/", form=form, max_redirects=0).status == 403
    assert post("/ui/repositories/", form={**form, "csrf_token": "x" * 43}, max_redirects=0).status == 403
    foreign = post("/ui/repositories/", form={**form, "csrf_token": token}, max_redirects=0,
                   headers={"Origin": "http://evil.example"})
    assert foreign.status == 403
    assert "another site" in foreign.text()
    cross_site = post("/ui/repositories/", form={**form, "csrf_token": token}, max_redirects=0,
                      headers={"Sec-Fetch-Site": "cross-site"})
    assert cross_site.status == 403
    assert not exists(form["id"])
    accepted = post("/ui/repositories/", form={**form, "csrf_token": token}, max_redirects=0,
                    headers={"Origin": pulp_server.url})
    assert accepted.status == 303, accepted.text()
    assert exists(form["id"])

    # The scripts' JSON endpoints want the token in a header; signing out wants it too.
    assert post("/ui/api/uploads/").status == 403
    made = post("/ui/api/uploads/", headers={"X-CSRF-Token": token})
    assert made.status == 200
    context.request.delete(f"/ui/api/uploads/{made.json()['upload_id']}/", headers={"X-CSRF-Token": token})
    assert post("/ui/signout", form={}, max_redirects=0).status == 403
    page.goto("/ui/")
    expect(page.locator(".who .login")).to_have_text("admin")


def test_sign_in_form_needs_its_token(context, pulp_server):
    post = context.request.post
    refused = post("/ui/signin", form={"login": "admin", "password": "admin"}, max_redirects=0)
    assert refused.status == 403
    assert "pulp_ui_session" not in refused.headers.get("set-cookie", "")
    page = context.new_page()
    sign_in(page)  # the form itself carries it


def test_an_upload_deleted_from_the_page_takes_what_was_read_of_it(context, pulp_server):
    """The page's upload, cancelled: the upload and its stream (the members read as it arrived) both go."""
    page = context.new_page()
    sign_in(page)
    headers = {"X-CSRF-Token": csrf_token(page)}
    made = context.request.post("/ui/api/uploads/", headers=headers)
    assert made.status == 200, made.text()
    upload_id = made.json()["upload_id"]
    data = IMAGE.read_bytes()
    put = context.request.put(f"/ui/api/uploads/{upload_id}/0/", data=data[: len(data) // 2], headers=headers)
    assert put.status == 200, put.text()
    stream = pulp_server.data_dir / "content" / "tmp" / f"stream-{upload_id}"
    assert stream.is_dir()
    assert context.request.delete(f"/ui/api/uploads/{upload_id}/", headers=headers).status == 200
    assert not (pulp_server.data_dir / "uploads" / upload_id).exists()
    assert not stream.exists()
