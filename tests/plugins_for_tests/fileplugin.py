"""A tiny importer and distributor for platform tests: one unit type, ``test_file``, keyed by ``name``.

Upload metadata steers the importer: ``{"sleep": seconds}`` makes it work that long (checking for
cancellation), ``{"fail": true}`` makes it fail after staging the file but before storing anything,
``{"hold_gil": seconds}`` stalls the whole worker process that long after associating the unit (a C
call that keeps the GIL, as CPU-bound parsing in C does: not even the heartbeat thread runs).
The distributor writes ``<publish_dir>/<repo_id>.json`` listing the repository's unit names.

For crash tests, ``test_docker_pausing_importer`` is the docker importer stopping for good (until the
server is killed) at the step upload metadata ``pause_at`` names: ``store`` (the first blob just
associated) or ``tagged`` (the first tag just moved and associated); and
``test_docker_pausing_distributor`` is the docker web distributor stopping after it published, if the
file its config's ``pause_file`` names exists (removed first, so it pauses once). Both report
``{"test": {"paused_at": step}}`` in the task's progress while they wait.
"""

from __future__ import annotations

import ctypes
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import mongoengine as me

from pulp_docker.plugins.distributors.web import DockerWebDistributor
from pulp_docker.plugins.importers.importer import DockerImporter
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
        if metadata.get("hold_gil"):
            conduit.set_progress({"test": {"holding_gil": True}})
            # PyDLL keeps the GIL across the call: every thread of the worker stalls, its heartbeat too.
            ctypes.PyDLL(None).sleep(int(metadata["hold_gil"]))
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


PAUSE_LIMIT = 300.0  # seconds: a pause nobody ends by killing the server ends by itself


def pause(conduit: Conduit, step: str) -> None:
    """Report ``step`` and wait there (until killed, canceled, or PAUSE_LIMIT)."""
    conduit.set_progress({"test": {"paused_at": step}})
    deadline = time.monotonic() + PAUSE_LIMIT
    while time.monotonic() < deadline:
        conduit.check_canceled()
        time.sleep(0.05)


class PausingConduit(Conduit):
    """The task's conduit, pausing right after the write that ``step`` names."""

    def __init__(self, conduit: Conduit, step: str) -> None:
        super().__init__(conduit.repo_id, conduit.store, progress=conduit._progress, canceled=conduit._canceled,
                         owner=conduit._owner)
        self.streamed_upload = conduit.streamed_upload  # what was staged as it arrived is the import's input
        self.step = step

    def associate_all(self, units: Sequence[ContentUnit]) -> list[bool]:
        created = super().associate_all(units)  # (``associate`` comes here too)
        if any((self.step, unit.type_id) in (("store", "docker_blob"), ("tagged", "docker_tag")) for unit in units):
            pause(self, self.step)
        return created


class PausingDockerImporter(DockerImporter):
    type_id: ClassVar[str] = "test_docker_pausing_importer"
    display_name: ClassVar[str] = "Docker importer pausing for crash tests"

    def upload_unit(self, conduit: Conduit, unit_type_id: str, unit_key: dict[str, Any],
                    metadata: dict[str, Any], file_path: Path | None, config: dict[str, Any]) -> dict[str, Any]:
        metadata = dict(metadata or {})
        step = metadata.pop("pause_at", None)
        return super().upload_unit(PausingConduit(conduit, step) if step else conduit, unit_type_id, unit_key,
                                   metadata, file_path, config)


class PausingWebDistributor(DockerWebDistributor):
    type_id: ClassVar[str] = "test_docker_pausing_distributor"
    display_name: ClassVar[str] = "Docker web distributor pausing for crash tests"

    def validate_config(self, repo_id: str, config: dict[str, Any]) -> None:
        super().validate_config(repo_id, {k: v for k, v in config.items() if k != "pause_file"})

    def publish_repo(self, conduit: Conduit, config: dict[str, Any]) -> dict[str, Any]:
        summary = super().publish_repo(conduit, config)
        flag = Path(config["pause_file"]) if config.get("pause_file") else None
        if flag is not None and flag.exists():
            flag.unlink()
            pause(conduit, "publish")
        return summary


PULP_PLUGIN = {
    "unit_models": {"test_file": TestFile},
    "importers": {"test_importer": TestImporter, "test_docker_pausing_importer": PausingDockerImporter},
    "distributors": {"test_distributor": TestDistributor, "test_docker_pausing_distributor": PausingWebDistributor},
}
