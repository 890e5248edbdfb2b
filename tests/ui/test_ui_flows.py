"""The web UI in a real browser (headless chromium) against the real server: sign in, create a repository,
upload an image in chunks, see its tag and manifest, remove the tag, sign out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import DESKTOP, PHONE
from .helpers import FACTS, IMAGE, blob_json, blob_sizes, sign_in, unique

pytestmark = pytest.mark.slow

# Record every value the upload's progress bar shows, so the test sees it move, not only its end.
WATCH_PROGRESS = """() => {
  window.__progress = [];
  const bar = document.getElementById("upload-progress");
  new MutationObserver(() => window.__progress.push([bar.value, bar.max]))
    .observe(bar, {attributes: true, attributeFilter: ["value", "max"]});
  window.__marker = "no reload";
}"""


def small_chunks(page, size: int = 8192) -> None:
    page.evaluate(f"document.getElementById('upload-form').dataset.chunkSize = '{size}'")


def upload(page, tag: str) -> None:
    page.evaluate(WATCH_PROGRESS)
    page.get_by_label("Choose or drop an image tarball").set_input_files(str(IMAGE))
    page.locator("#upload-tag").fill(tag)
    page.get_by_role("button", name="Upload", exact=True).click()


def test_sign_in_upload_browse_remove_sign_out(context, pulp_server, shots):
    page = context.new_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/ui/$"))
    expect(page.locator(".who").get_by_role("link", name="Sign in")).to_be_visible()

    # A wrong password is refused on the form; the right one signs in.
    sign_in(page, password="not-the-password", ok=False)
    expect(page.get_by_role("alert")).to_have_text("Wrong login or password.")
    shots(page, "signin")
    sign_in(page)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    # Create a repository through the form.
    repo_id = unique("ui-flow")
    page.get_by_role("link", name="New repository").click()
    page.get_by_label(re.compile(r"^Id")).fill(repo_id)
    page.get_by_label("Description").fill("Made by the browser test")
    page.get_by_role("button", name="Create repository").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(repo_id)
    expect(page.locator("#tag-count")).to_have_text("0")

    # Upload in 8 KiB chunks and watch the progress bar move.
    small_chunks(page)
    upload(page, "1.0")
    expect(page.locator("#upload-status")).to_contain_text("Imported", timeout=90_000)
    seen = page.evaluate("window.__progress")
    size = IMAGE.stat().st_size
    values = [value for value, top in seen if top == size]
    assert values[-1] == size, seen
    assert any(0 < v < size for v in values), f"the bar never showed a partial upload: {seen}"
    assert values == sorted(values), seen
    assert page.evaluate("window.__marker") == "no reload"

    # The tag appears on the page (the tags section was fetched again, the page not reloaded).
    facts = FACTS[IMAGE.name]
    row = page.locator("#tag-table tr[data-tag='1.0']")
    expect(row).to_be_visible()
    expect(row.locator("abbr")).to_have_attribute("title", facts["mediaType"])
    expect(row.locator("code[title]")).to_have_attribute("title", facts["manifest_digest_of_file_bytes"])
    expect(page.locator("#tag-count")).to_have_text("1")
    expect(page.locator("#pull-docker")).to_have_text(
        f"docker pull {pulp_server.url.split('://')[1]}/{repo_id}:1.0")
    found = pulp_server.api("POST", f"repositories/{repo_id}/search/units/",
                            json={"criteria": {"type_ids": ["docker_tag"]}}).json()
    assert [u["metadata"]["name"] for u in found] == ["1.0"]
    shots(page, "repository")

    # The manifest page: each layer's compressed size is the blob's size in the tarball.
    row.get_by_role("link", name="1.0", exact=True).click()
    expect(page.locator("#manifest-digest")).to_have_text(facts["manifest_digest_of_file_bytes"])
    sizes = blob_sizes(IMAGE)
    layer_rows = page.locator("#layers tbody tr")
    expect(layer_rows).to_have_count(len(facts["layers"]))
    for index, digest in enumerate(facts["layers"]):
        layer = layer_rows.nth(index)
        expect(layer).to_have_attribute("data-digest", digest)
        expect(layer.locator(".layer-size data")).to_have_attribute("value", str(sizes[digest]))
    total = sum(sizes[d] for d in facts["layers"])
    expect(page.locator("#layers-total data")).to_have_attribute("value", str(total))
    config = blob_json(IMAGE, facts["config"])
    platform = f"{config['os']}/{config['architecture']}"
    expect(page.locator(".facts").first).to_contain_text(platform)
    expect(page.locator("#raw-manifest")).to_contain_text(facts["config"])
    expect(page.locator("#referrers-h")).to_be_visible()
    shots(page, "manifest")
    page.set_viewport_size(PHONE)
    shots(page, "manifest-phone")
    page.set_viewport_size(DESKTOP)

    # Tag it again from its page: a tag import task, then both tags on the repository page.
    page.get_by_label("Tag", exact=True).fill("latest")
    page.get_by_role("button", name="Add tag").click()
    expect(page.locator(".task-detail [data-field='state']")).to_have_text("finished", timeout=60_000)
    expect(page.locator(".task-detail [data-field='outcome']")).to_contain_text("Tagged latest")
    page.get_by_role("link", name=f"Back to {repo_id}").click()
    expect(page.locator("#tag-table tbody tr")).to_have_count(2)
    expect(page.locator("#pull-docker")).to_have_text(
        f"docker pull {pulp_server.url.split('://')[1]}/{repo_id}:latest")
    page.set_viewport_size(PHONE)
    shots(page, "repository-phone")
    page.set_viewport_size(DESKTOP)

    # Remove the tag: a confirmation first, then a task whose page follows it to the end.
    page.locator("#tag-table tr[data-tag='1.0']").get_by_role("link", name="Remove tag 1.0").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Remove tag 1.0?")
    shots(page, "confirm")
    page.get_by_role("button", name="Remove tag").click()
    expect(page.locator(".task-detail [data-field='state']")).to_have_text("finished", timeout=60_000)
    expect(page.locator(".task-detail [data-field='outcome']")).to_contain_text("Removed 1 unit(s)")
    page.get_by_role("link", name=f"Back to {repo_id}").click()
    expect(page.locator("#tag-table tbody tr")).to_have_count(1)
    expect(page.locator("#tag-table tr[data-tag='1.0']")).to_have_count(0)
    expect(page.locator("#tag-count")).to_have_text("1")

    page.get_by_role("link", name="Tasks").click()
    expect(page.locator("table.tasks").first).to_contain_text(repo_id)
    shots(page, "tasks")
    # Filtered by its name: on the shared server of a whole test run the list has many pages.
    page.goto(f"/ui/?q={repo_id}")
    expect(page.locator(f"#repositories tr[data-repo-id='{repo_id}']")).to_be_visible()
    shots(page, "repositories")
    page.set_viewport_size(PHONE)
    shots(page, "repositories-phone")
    page.set_viewport_size(DESKTOP)

    # Delete the repository: confirmed, then gone from the list and from the REST API.
    page.goto(f"/ui/repositories/{repo_id}/")
    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Delete repository {repo_id}?")
    page.get_by_role("button", name="Delete repository").click()
    expect(page.locator(".task-detail [data-field='state']")).to_have_text("finished", timeout=60_000)
    page.get_by_role("link", name="Back to the repositories").click()
    page.goto(f"/ui/?q={repo_id}")
    expect(page.locator(f"#repositories tr[data-repo-id='{repo_id}']")).to_have_count(0)
    assert pulp_server.api("GET", f"repositories/{repo_id}/").status_code == 404

    # Sign out: the session ends on the server too, so its cookie is worthless afterwards.
    session = next(c for c in context.cookies() if c["name"] == "pulp_ui_session")
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator(".who").get_by_role("link", name="Sign in")).to_be_visible()
    page.goto("/ui/tasks/")
    expect(page).to_have_url(re.compile(r"/ui/signin\?next="))
    context.add_cookies([session])
    page.goto("/ui/")
    expect(page.locator(".who").get_by_role("link", name="Sign in")).to_be_visible()


def test_upload_resumes_after_a_network_error(context, pulp_server):
    page = context.new_page()
    sign_in(page)
    repo_id = unique("ui-resume")
    pulp_server.create_repo(repo_id)
    page.goto(f"/ui/repositories/{repo_id}/")
    small_chunks(page)

    puts, asked_size = [], []
    failed = []

    def chunk(route):
        puts.append(route.request.url)
        if len(puts) == 3 and not failed:
            failed.append(route.request.url)
            route.abort("connectionreset")  # the third chunk dies on the wire
        else:
            route.continue_()

    page.route(re.compile(r"/ui/api/uploads/[0-9a-f-]+/\d+/$"), chunk)
    page.on("request", lambda r: asked_size.append(r.url)
            if r.method == "GET" and re.search(r"/ui/api/uploads/[0-9a-f-]+/$", r.url) else None)
    page.evaluate("""() => { window.__statuses = [];
      const s = document.getElementById('upload-status');
      new MutationObserver(() => window.__statuses.push(s.textContent))
        .observe(s, {childList: true, characterData: true, subtree: true}); }""")
    upload(page, "resumed")
    expect(page.locator("#upload-status")).to_contain_text("Imported", timeout=90_000)
    assert failed, "no chunk was made to fail"
    assert asked_size, "after the failure the page did not ask the server how much it has"
    assert any("Connection lost" in s for s in page.evaluate("window.__statuses"))
    # The failed chunk's offset was sent again, and every offset up to the end exactly once after it.
    offsets = [int(url.rstrip("/").rsplit("/", 1)[1]) for url in puts]
    failed_offset = int(failed[0].rstrip("/").rsplit("/", 1)[1])
    assert offsets.count(failed_offset) == 2, offsets
    expect(page.locator("#tag-table tr[data-tag='resumed']")).to_be_visible()
    found = pulp_server.api("POST", f"repositories/{repo_id}/search/units/",
                            json={"criteria": {"type_ids": ["docker_manifest"]}}).json()
    assert [u["metadata"]["digest"] for u in found] == [FACTS[IMAGE.name]["manifest_digest_of_file_bytes"]]
