"""Fixtures for the web UI tests: Debian's chromium driven by Playwright, against the real server.

``browser`` (session) is headless ``/usr/bin/chromium`` (``apt-get install chromium``; Playwright
downloads no browser here). ``context`` is a fresh browser profile per test (no cookies), with
``base_url`` the shared ``pulp_server``. ``shots`` saves screenshots under the test's ``tmp_path``
and, with ``PULP_UI_DOCS_SCREENSHOTS=1``, copies them to ``docs/images/ui-<name>.png``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 360, "height": 760}


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("the UI tests need Debian's chromium at /usr/bin/chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


@pytest.fixture
def new_context(browser, pulp_server) -> Iterator[Callable[..., object]]:
    """``new_context(server=pulp_server, viewport=DESKTOP)``: a fresh profile; all are closed at teardown."""
    made = []

    def make(server=pulp_server, viewport: dict | None = None):
        context = browser.new_context(base_url=server.url, viewport=viewport or DESKTOP)
        context.set_default_timeout(30_000)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def context(new_context):
    return new_context()


@pytest.fixture
def shots(tmp_path: Path) -> Callable[[object, str], Path]:
    """``shots(page, "repository")``: a full-page PNG in ``tmp_path`` (and docs/images when asked)."""

    def shoot(page, name: str) -> Path:
        path = tmp_path / f"ui-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if os.environ.get("PULP_UI_DOCS_SCREENSHOTS") == "1":
            DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_IMAGES / path.name)
        return path

    return shoot
