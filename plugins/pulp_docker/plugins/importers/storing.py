"""Store a verified plan: content files, then units, then associations; undo all of it on failure.

The order makes a crash at any point harmless: a file without a unit is an orphan file that orphan
clean-up removes, a unit without an association is an orphan unit, and the repository only ever
shows a manifest once every blob and instance it needs is associated.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from pulp_docker.common.manifest import ParsedManifest, ParsedManifestList, sha256_digest
from pulp_docker.plugins.importers.verification import ManifestToStore, Plan
from pulp_docker.plugins.models import Blob, Manifest, ManifestList
from pulp_platform.models.content import ContentUnit, RepositoryContentUnit
from pulp_platform.plugin_api import Conduit
from pulp_platform.storage import Staging

log = logging.getLogger(__name__)


@dataclass
class Stored:
    """What a store step did, for the task's report."""

    top: ContentUnit
    undo: Undo
    instances: list[ContentUnit] = field(default_factory=list)
    blobs_imported: list[str] = field(default_factory=list)
    blobs_present: list[str] = field(default_factory=list)


class Undo:
    """Remembers what this task newly created, so a failure part-way can take it back."""

    def __init__(self, conduit: Conduit) -> None:
        self.conduit = conduit
        self.associated: list[ContentUnit] = []
        self.created: list[ContentUnit] = []
        self.placed: list[str] = []

    def rollback(self) -> None:
        """Best effort: remove our associations, then our units nobody holds, then our files nobody uses."""
        for unit in reversed(self.associated):
            self.conduit.unassociate(unit)
        for unit in reversed(self.created):
            if not RepositoryContentUnit.objects(unit_id=unit.id).first():
                unit.delete()
        for digest in self.placed:
            path = self.conduit.store.relative_path(digest)
            if not any(model.objects(storage_path=path).first() for model in (Blob, Manifest, ManifestList)):
                self.conduit.store.remove(digest)


def store(plan: Plan, conduit: Conduit, staging: Staging) -> Stored:
    """Commit the plan's files, save its units and associate them with the repository."""
    undo = Undo(conduit)
    try:
        imported, present = [], []
        for blob in plan.blobs:
            if blob.staged is not None and staging.commit(blob.staged):
                undo.placed.append(blob.digest)
            unit = _save(conduit, undo, Blob(digest=blob.digest, size=blob.size,
                                             storage_path=conduit.store.relative_path(blob.digest)))
            (imported if _associate(conduit, undo, unit) else present).append(blob.digest)
        instances = [_store_manifest(conduit, staging, undo, m) for m in plan.instances]
        top = _store_manifest(conduit, staging, undo, plan.top)
    except BaseException:
        log.exception("storing the image failed; undoing what this task stored")
        undo.rollback()
        raise
    return Stored(top, undo, instances, imported, present)


def _store_manifest(conduit: Conduit, staging: Staging, undo: Undo, item: ManifestToStore) -> ContentUnit:
    # Stored under the sha256 of its exact bytes; for signed schema 1 that differs from the unit digest.
    file_digest = sha256_digest(item.data)
    if staging.commit(staging.stage_bytes(item.data)):
        undo.placed.append(file_digest)
    path = conduit.store.relative_path(file_digest)
    parsed = item.parsed
    unit: ContentUnit
    if isinstance(parsed, ParsedManifestList):
        unit = ManifestList.from_parsed(parsed, path)
    else:
        assert isinstance(parsed, ParsedManifest)
        unit = Manifest.from_parsed(parsed, path)
    unit = _save(conduit, undo, unit)
    _associate(conduit, undo, unit)
    return unit


def _save(conduit: Conduit, undo: Undo, unit: ContentUnit) -> ContentUnit:
    stored, created = conduit.save_unit(unit)
    if created:
        undo.created.append(stored)
    return stored


def _associate(conduit: Conduit, undo: Undo, unit: ContentUnit) -> bool:
    if conduit.associate(unit):
        undo.associated.append(unit)
        return True
    return False
