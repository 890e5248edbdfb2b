"""Task pages follow their tasks without a reload (headless chromium, a server whose worker starts late)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .helpers import sign_in, unique

pytestmark = pytest.mark.slow


def test_task_page_follows_a_task_live(start_pulp_server, new_context, shots):
    # No worker at first: the publish queued from the page waits until one starts.
    server = start_pulp_server(workers=0)
    repo_id = unique("ui-live")
    server.create_repo(repo_id)
    page = new_context(server=server).new_page()
    sign_in(page)
    page.goto(f"/ui/repositories/{repo_id}/")
    page.get_by_role("button", name="Publish").click()
    state = page.locator(".task-detail [data-field='state']")
    expect(state).to_have_text("waiting")
    page.evaluate("window.__marker = 'no reload'")
    task_url = page.url

    # The tasks page lists it as waiting, and turns it finished by itself too.
    tasks = new_context(server=server).new_page()
    sign_in(tasks)
    tasks.goto("/ui/tasks/")
    row = tasks.locator("table.tasks tbody tr").first
    expect(row.locator("[data-field='state']")).to_have_text("waiting")
    shots(tasks, "tasks-waiting")

    server.start_worker()
    expect(state).to_have_text("finished", timeout=60_000)
    expect(page.locator(".task-detail [data-field='outcome']")).to_have_text(f"Published as {repo_id}")
    assert page.evaluate("window.__marker") == "no reload"
    assert page.url == task_url
    expect(row.locator("[data-field='state']")).to_have_text("finished", timeout=10_000)
    shots(page, "task")
