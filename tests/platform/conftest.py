"""Fixtures for platform tests: repositories using the test plugin (``tests/plugins_for_tests``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import mongoengine
import pytest
from platform_helpers import unique
from plugins_for_tests import fileplugin

from pulp_docker.plugins.models import Tag
from pulp_platform import db
from pulp_platform.config import Settings
from pulp_platform.models import PLATFORM_MODELS


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A real embedded database for the module's in-process tests, mongoengine connected to it."""
    embedded = db.EmbeddedDatabase(replace(Settings(), data_dir=tmp_path_factory.mktemp("db")))
    db.connect(embedded.start())
    db.ensure_indexes([*PLATFORM_MODELS, fileplugin.TestFile, Tag])
    yield
    mongoengine.disconnect()
    embedded.stop()


@pytest.fixture
def publish_dir(tmp_path: Path) -> Path:
    return tmp_path / "published"


@pytest.fixture
def make_repo(pulp_server: Any, publish_dir: Path) -> Callable[..., str]:
    """Create a repository with the test importer and an auto-publishing test distributor; returns its id."""

    def make(repo_id: str | None = None, **fields: Any) -> str:
        repo_id = repo_id or unique()
        fields.setdefault("distributors", [{"distributor_id": "test_dist", "distributor_type_id": "test_distributor",
                                            "distributor_config": {"publish_dir": str(publish_dir)},
                                            "auto_publish": True}])
        pulp_server.create_repo(repo_id, importer_type_id="test_importer", **fields)
        return repo_id

    return make


@pytest.fixture
def upload_text(pulp_server: Any, tmp_path: Path) -> Callable[[str], str]:
    """Upload a small file with the given text; returns the upload id."""

    def upload(text: str) -> str:
        path = tmp_path / f"{uuid.uuid4().hex}.txt"
        path.write_text(text)
        return pulp_server.upload_file(path)

    return upload
