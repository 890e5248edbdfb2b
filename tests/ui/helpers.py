"""What the UI tests share: signing in through the form, the test images and their facts."""

from __future__ import annotations

import json
import tarfile
import uuid
from pathlib import Path

from playwright.sync_api import expect

DATA = Path(__file__).resolve().parents[1] / "data"
FACTS = json.loads((DATA / "FACTS.json").read_text())
IMAGE = DATA / "skopeo-v2s2.tar"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def sign_in(page, login: str = "admin", password: str = "admin", *, ok: bool = True) -> None:
    """Sign in through the form; with ``ok``, wait until the page shows the user signed in."""
    page.goto("/ui/signin")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    if ok:
        expect(page.locator(".who .login")).to_have_text(login)


def blob_sizes(tar_path: Path) -> dict[str, int]:
    """``sha256:<hex>`` -> size of each blob file in a tarred skopeo dir."""
    sizes = {}
    with tarfile.open(tar_path) as tar:
        for member in tar.getmembers():
            name = Path(member.name).name
            if member.isfile() and len(name) == 64:
                sizes[f"sha256:{name}"] = member.size
    return sizes


def blob_json(tar_path: Path, digest: str) -> dict:
    with tarfile.open(tar_path) as tar:
        for member in tar.getmembers():
            if Path(member.name).name == digest.split(":", 1)[1]:
                return json.loads(tar.extractfile(member).read())
    raise KeyError(digest)


def csrf_token(page) -> str:
    return page.evaluate("document.body.dataset.csrf")
