"""Store a verified plan: content files, then units, then associations, then tags; all or nothing.

The order makes a crash at any point harmless: a file without a unit is an orphan file that orphan
clean-up removes, a unit without an association is an orphan unit, and the repository only ever
shows a manifest once every blob and instance it needs is associated.

A failure part-way takes back what this import made visible (its associations, and the tags it
created or moved) and nothing else. Inside a task the conduit also journals each of those writes
before making it, so a kill -9 part-way is undone at the next start (``pulp_platform.recovery``), and
fences each one: a task declared dead may not write (``ReservationLost``); its journal is then rolled
back by the task itself rather than by ``Undo``, whose writes the fence would refuse.

Files and units stay: another import, into another repository, may have found them in place a
moment ago and be about to associate them, and it cannot be told apart from nobody. Orphan removal,
with its age guard, takes them once nothing holds them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from pulp_docker.common.manifest import ParsedManifest, ParsedManifestList, sha256_digest
from pulp_docker.plugins.ingest.tags import TagChange, apply_tag, restore_tag
from pulp_docker.plugins.ingest.verify import ManifestToStore, Plan
from pulp_docker.plugins.models import Blob, Manifest, ManifestList
from pulp_platform.models.content import ContentUnit
from pulp_platform.plugin_api import AssociationFailed, Conduit
from pulp_platform.storage import Staging
from pulp_platform.tasking.fencing import ReservationLost

log = logging.getLogger(__name__)


@dataclass
class Stored:
    """What a store step did, for the task's report."""

    tops: list[ContentUnit] = field(default_factory=list)
    instances: list[ContentUnit] = field(default_factory=list)
    blobs_imported: list[str] = field(default_factory=list)
    blobs_present: list[str] = field(default_factory=list)
    tags: list[TagChange] = field(default_factory=list)


class Undo:
    """What this import made visible in the repository, so that a failure part-way can take it back."""

    def __init__(self, conduit: Conduit) -> None:
        self.conduit = conduit
        self.associated: list[ContentUnit] = []
        self.tags: list[TagChange] = []

    def associate_all(self, units: list[ContentUnit]) -> list[bool]:
        """Associate ``units`` in one batch (``Conduit.associate_all``); for each, True if it was added.
        What it adds is taken back by ``rollback``, also when the batch fails part way."""
        try:
            added = self.conduit.associate_all(units)
        except AssociationFailed as exc:
            self.associated.extend(exc.created)
            raise exc.cause from None
        self.associated.extend(unit for unit, new in zip(units, added, strict=True) if new)
        return added

    def rollback(self) -> None:
        """Restore moved tags, then remove this import's associations, newest first.

        Files and units are left for orphan removal (see the module docstring). Each step is tried
        even when an earlier one fails, so one database hiccup does not leave the rest visible.
        """
        for change in reversed(self.tags):
            self._try(restore_tag, self.conduit, change)
        for unit in reversed(self.associated):
            self._try(self.conduit.unassociate, unit)

    @staticmethod
    def _try(step, *args) -> None:  # type: ignore[no-untyped-def]
        try:
            step(*args)
        except Exception:
            log.exception("undoing part of a failed import failed; orphan removal will clean up")


def store(plan: Plan, conduit: Conduit, staging: Staging, tags: list[tuple[str, int]]) -> Stored:
    """Commit the plan's files, save and associate its units, and apply ``tags`` (name, index of a top).

    Raises whatever failed, after undoing what this import made visible.
    """
    undo = Undo(conduit)
    stored = Stored()
    try:
        for blob in plan.blobs:
            if blob.staged is not None:
                staging.commit(blob.staged)
        blobs = conduit.save_units([Blob(digest=blob.digest, size=blob.size,
                                         storage_path=conduit.store.relative_path(blob.digest))
                                    for blob in plan.blobs])
        stored.instances = _store_manifests(conduit, staging, plan.instances)
        stored.tops = _store_manifests(conduit, staging, plan.tops)
        # One ordered batch: the blobs, then the instances, then the tops, so a manifest is never held
        # before what it names (a reader sees a prefix of the batch) and the batch costs one fence check,
        # one journal entry and one write.
        added = undo.associate_all([*blobs, *stored.instances, *stored.tops])
        for blob, new in zip(plan.blobs, added[:len(blobs)], strict=True):
            (stored.blobs_imported if new else stored.blobs_present).append(blob.digest)
        for name, index in tags:
            change = apply_tag(conduit, name, stored.tops[index])
            undo.tags.append(change)
            if change.created_association:
                undo.associated.append(change.tag)
            stored.tags.append(change)
        check_owner(conduit)  # the tags are in: still this task's repository, or all of it is undone
    except ReservationLost:
        raise  # the journal's rollback undoes this import, conditionally, with the fence in mind
    except BaseException:
        log.exception("storing the image failed; undoing what this import made visible")
        undo.rollback()
        raise
    return stored


def check_owner(conduit: Conduit) -> None:
    """The conduit's fence (``Conduit.check_owner``): raises if the task no longer holds the repository."""
    conduit.check_owner()


def _store_manifests(conduit: Conduit, staging: Staging, items: list[ManifestToStore]) -> list[ContentUnit]:
    """Commit each manifest's file and save its unit (not yet associated)."""
    return conduit.save_units([_manifest_unit(conduit, staging, item) for item in items])


def _manifest_unit(conduit: Conduit, staging: Staging, item: ManifestToStore) -> ContentUnit:
    """The unit of one manifest or list, its exact bytes committed to the content store."""
    # Stored under the sha256 of its exact bytes; for signed schema 1 that differs from the unit digest.
    file_digest = sha256_digest(item.data)
    staging.commit(staging.stage_bytes(item.data))
    path = conduit.store.relative_path(file_digest)
    parsed = item.parsed
    if isinstance(parsed, ParsedManifestList):
        return ManifestList.from_parsed(parsed, path)
    assert isinstance(parsed, ParsedManifest)
    return Manifest.from_parsed(parsed, path)
