"""A tiny importer and distributor for platform tests: one unit type, ``test_file``, keyed by ``name``.

Upload metadata steers the importer: ``{"sleep": seconds}`` makes it work that long (checking for
cancellation), ``{"fail": true}`` makes it fail after staging the file but before storing anything.
The distributor writes ``<publish_dir>/<repo_id>.json`` listing the repository's unit names.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, ClassVar

import mongoengine as me

from pulp_platform.errors import InvalidValue, MissingValue
from pulp_platform.models.content import ContentUnit
from pulp_platform.plugin_api import Conduit, Distributor, Importer


class TestFile(ContentUnit):
    """A file uploaded by a test."""

    type_id: ClassVar[str] = "test_file"
    unit_key_fields: ClassVar[tuple[str, ...]] = ("name",)

    name = me.StringField(required=True)
    size = me.IntField()
    digest = me.StringField()

    meta: ClassVar[dict[str, Any]] = {"collection": "units_test_file",
                                      "indexes": [{"fields": ["name"], "unique": True}]}


class TestImporter(Importer):
    type_id: ClassVar[str] = "test_importer"
    display_name: ClassVar[str] = "Test Importer"
    unit_types: ClassVar[list[str]] = ["test_file"]

    def validate_config(self, config: dict[str, Any]) -> None:
        if "bad" in config:
            raise InvalidValue("importer_config", reason="'bad' is not a setting")

    def upload_unit(self, conduit: Conduit, unit_type_id: str, unit_key: dict[str, Any],
                    metadata: dict[str, Any], file_path: Path | None, config: dict[str, Any]) -> dict[str, Any]:
        if not unit_key.get("name"):
            raise MissingValue("unit_key.name")
        deadline = time.monotonic() + float(metadata.get("sleep", 0))
        while time.monotonic() < deadline:
            conduit.check_canceled()
            time.sleep(0.02)
        with conduit.store.staging() as staging:
            with open(file_path, "rb") as handle:
                staged = staging.stage(handle)
            if metadata.get("fail"):
                raise InvalidValue("unit_metadata", reason="the test asked this upload to fail")
            staging.commit(staged)
        unit, _ = conduit.save_unit(TestFile(name=unit_key["name"], size=staged.size, digest=staged.digest,
                                             storage_path=conduit.store.relative_path(staged.digest)),
                                    update=True)
        conduit.associate(unit)
        return {"success_flag": True, "summary": {"name": unit.name, "size": unit.size},
                "details": {"unit": {"type_id": TestFile.type_id, "unit_key": unit.unit_key,
                                     "metadata": {"size": unit.size, "digest": unit.digest}}}}


class TestDistributor(Distributor):
    type_id: ClassVar[str] = "test_distributor"
    display_name: ClassVar[str] = "Test Distributor"
    unit_types: ClassVar[list[str]] = ["test_file"]

    def validate_config(self, repo_id: str, config: dict[str, Any]) -> None:
        if not config.get("publish_dir"):
            raise MissingValue("publish_dir")

    def publish_repo(self, conduit: Conduit, config: dict[str, Any]) -> dict[str, Any]:
        names = sorted(u.name for u in conduit.units(TestFile))
        target = Path(config["publish_dir"]) / f"{conduit.repo_id}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(names))
        return {"units": len(names)}

    def distributor_removed(self, repo_id: str, config: dict[str, Any]) -> None:
        (Path(config["publish_dir"]) / f"{repo_id}.json").unlink(missing_ok=True)


PULP_PLUGIN = {
    "unit_models": {"test_file": TestFile},
    "importers": {"test_importer": TestImporter},
    "distributors": {"test_distributor": TestDistributor},
}
