"""The plugin seam: what an importer or distributor implements, and the conduit it is handed.

Plugins register through entry points, as Pulp 2's did:

- ``pulp.unit_models``: ``<type_id> = module:ContentUnitSubclass``
- ``pulp.importers`` / ``pulp.distributors``: ``<type_id> = module:ImporterOrDistributorClass``
- ``pulp.web_apps``: ``<name> = module:mount`` where ``mount(routes: list)`` appends Starlette routes
- ``pulp.extensions.admin``: ``<name> = module:click_group`` for ``pulp-admin``

A module named in the ``plugin_modules`` setting may instead define ``PULP_PLUGIN = {"unit_models": {…},
"importers": {…}, "distributors": {…}}`` (used by tests and by plugins not installed as packages).

The platform calls plugin code only inside tasks, with a ``Conduit`` bound to one repository; the
conduit is the plugin's only way to store files, save units and associate them, so the ordering that
keeps failures invisible (file, then unit, then association) lives here and not in each plugin.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar

import pymongo
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from pulp_platform.models.content import ContentUnit, RepositoryContentUnit, now
from pulp_platform.models.repository import Repository
from pulp_platform.storage import ContentStore
from pulp_platform.upload_streams import StreamedUpload, UploadConsumer

log = logging.getLogger(__name__)


class Importer:
    """Base of importers. One instance per call; ``config`` is the repository's importer config."""

    type_id: ClassVar[str] = ""
    display_name: ClassVar[str] = ""
    unit_types: ClassVar[list[str]] = []
    # Config keys never shown back by the API (passwords, private keys): answered as "*****", as Pulp 2 did.
    secret_config_keys: ClassVar[tuple[str, ...]] = ()
    # Reads uploads while their chunks arrive (``upload_streams``); its result reaches ``upload_unit``
    # as ``conduit.streamed_upload``.
    upload_consumer: ClassVar[UploadConsumer | None] = None

    def validate_config(self, config: dict[str, Any]) -> None:
        """Raise ``errors.InvalidValue`` for a bad config."""

    def sync_repo(self, conduit: Conduit, config: dict[str, Any]) -> dict[str, Any]:
        """Bring the repository up to date with the feed in ``config``; returns Pulp 2's sync report."""
        raise NotImplementedError

    def upload_unit(self, conduit: Conduit, unit_type_id: str, unit_key: dict[str, Any],
                    metadata: dict[str, Any], file_path: Path | None, config: dict[str, Any]) -> dict[str, Any]:
        """Turn an uploaded file into units in the conduit's repository.

        ``conduit.streamed_upload`` holds what this importer's ``upload_consumer`` made of the file as it
        arrived, when that can be trusted (else None: read ``file_path``). When it is set, the bytes its
        consumer staged may have been handed over from the file (``upload_holes``): use what it staged,
        and read of ``file_path`` only what the consumer did not stage. Returns Pulp 2's upload
        report ``{"success_flag": True, "summary": …, "details": …}``; on bad input raises a coded
        error, having saved and associated nothing.
        """
        raise NotImplementedError

    def import_units(self, conduit: Conduit, source: Conduit, units: list[ContentUnit],
                     config: dict[str, Any]) -> list[ContentUnit]:
        """Copy ``units`` (matched in the repository of ``source``, a conduit to read it) into the
        conduit's repository; returns every unit copied, those the units brought with them included.

        The default associates exactly the units given.
        """
        conduit.associate_all(units)
        return units

    def remove_units(self, conduit: Conduit, units: list[ContentUnit],
                     config: dict[str, Any]) -> list[ContentUnit] | None:
        """Remove ``units`` from the conduit's repository; returns every unit removed (None: just those).

        The units stay in the database: held by no repository, they become orphans.
        """
        for unit in units:
            conduit.unassociate(unit)
        return None


class Distributor:
    """Base of distributors."""

    type_id: ClassVar[str] = ""
    display_name: ClassVar[str] = ""
    unit_types: ClassVar[list[str]] = []

    def validate_config(self, repo_id: str, config: dict[str, Any]) -> None:
        """Raise ``errors.InvalidValue`` for a bad config."""

    def publish_repo(self, conduit: Conduit, config: dict[str, Any]) -> dict[str, Any]:
        """Publish the repository's content; returns a summary."""
        return {}

    def distributor_removed(self, repo_id: str, config: dict[str, Any]) -> None:
        """Undo whatever publishing left behind for this repository."""

    @classmethod
    def units_in_use(cls, type_id: str, unit_ids: list[str]) -> set[str]:
        """Of these units of one type, held by no repository, those this distributor still serves.

        A publication may serve content its repository has dropped since (until the next publish);
        orphan removal asks every installed distributor and keeps such units, and so their files.
        """
        return set()


@dataclass
class Plugins:
    unit_models: dict[str, type[ContentUnit]] = field(default_factory=dict)
    importers: dict[str, type[Importer]] = field(default_factory=dict)
    distributors: dict[str, type[Distributor]] = field(default_factory=dict)
    web_apps: list[Callable[[list], None]] = field(default_factory=list)

    def model(self, type_id: str) -> type[ContentUnit]:
        return self.unit_models[type_id]


@cache
def plugins(extra_modules: str = "") -> Plugins:
    """Everything installed, loaded once per process."""
    found = Plugins()
    groups = {"pulp.unit_models": found.unit_models, "pulp.importers": found.importers,
              "pulp.distributors": found.distributors}
    for group, target in groups.items():
        for ep in entry_points(group=group):
            loaded = _load(ep)
            if loaded is not None:
                target[ep.name] = loaded
    for ep in entry_points(group="pulp.web_apps"):
        loaded = _load(ep)
        if loaded is not None:
            found.web_apps.append(loaded)
    for name in filter(None, (m.strip() for m in extra_modules.split(","))):
        spec = getattr(importlib.import_module(name), "PULP_PLUGIN", {})
        found.unit_models.update(spec.get("unit_models", {}))
        found.importers.update(spec.get("importers", {}))
        found.distributors.update(spec.get("distributors", {}))
    return found


def _load(ep: Any) -> Any:
    """Load one entry point; a broken plugin is logged loudly and skipped so the others still work."""
    try:
        return ep.load()
    except Exception:
        log.exception("PLUGIN NOT LOADED: entry point %s = %s (group %s) failed to import; skipping it",
                      ep.name, ep.value, ep.group)
        return None


class Canceled(Exception):
    """Raised by ``Conduit.check_canceled`` when the task was canceled; the task ends ``canceled``."""


class AssociationFailed(Exception):
    """A bulk association failed part way: ``created`` are the units it added before ``cause``."""

    def __init__(self, created: list[ContentUnit], cause: Exception) -> None:
        super().__init__(str(cause))
        self.created = created
        self.cause = cause


class Conduit:
    """A plugin's handle on one repository inside one task."""

    def __init__(self, repo_id: str, store: ContentStore, *,
                 progress: Callable[[dict[str, Any]], None] | None = None,
                 canceled: Callable[[], bool] | None = None, owner: Any = None) -> None:
        self.repo_id = repo_id
        self.store = store
        self._progress = progress
        self._canceled = canceled
        # Inside a task, its ``tasking.fencing.TaskOwner``: every visible write is fenced and journaled.
        self._owner = owner
        # In an import of an upload: what the importer's upload consumer read as it arrived, or None.
        self.streamed_upload: StreamedUpload | None = None

    # -- units ---------------------------------------------------------------------------------
    def save_unit(self, unit: ContentUnit, *, update: bool = False) -> tuple[ContentUnit, bool]:
        """Store ``unit`` unless one with its key exists; returns (the stored unit, created?).

        With ``update`` the existing unit's other fields are overwritten (a tag moving to another
        manifest). Safe when several tasks save the same key at once: one insert wins.
        """
        model = type(unit)
        collection = model._get_collection()
        doc = unit.to_mongo().to_dict()
        key = {model._fields[name].db_field: doc[model._fields[name].db_field] for name in model.unit_key_fields}
        rest = {k: v for k, v in doc.items() if k not in key}
        if update:
            on_insert = {"_id": rest.pop("_id")}
            if self._owner is not None:  # overwriting a unit is visible (a tag moves): fence and journal it
                self._owner.check()
                rest = self._owner.journal_update(collection, key, rest, self.repo_id)
            change: dict[str, Any] = {"$setOnInsert": on_insert, "$set": rest}
        else:
            change = {"$setOnInsert": rest}
        stored = None
        for attempt in range(3):
            try:
                stored = collection.find_one_and_update(key, change, upsert=True,
                                                        return_document=pymongo.ReturnDocument.AFTER)
            except DuplicateKeyError:
                # Two upserts of one new key raced; the loser retries and finds the winner's unit.
                if attempt == 2:
                    raise
                continue
            # An upsert that lost a race may also answer without a document: the next try finds it.
            if stored is not None:
                break
        if stored is None:
            stored = collection.find_one(key)
        if stored is None:
            raise RuntimeError(f"saving {model.type_id} {key} found no unit after three upserts")
        created = stored["_id"] == doc["_id"]
        return model._from_son(stored), created

    def save_units(self, units: Sequence[ContentUnit]) -> list[ContentUnit]:
        """``save_unit`` for a batch, without ``update``: returns the stored units, in the order given.

        Units of one model go to the database as one unordered bulk upsert and come back in one read
        (by key), instead of a round trip each: under load every round trip waits for the CPU. An upsert
        that loses a race with another task's insert of the same key is a duplicate key error, and the
        read finds the winner's unit; a unit the read misses (an orphan removed meanwhile) is saved
        again on its own.
        """
        stored: list[ContentUnit | None] = [None] * len(units)
        by_model: dict[type[ContentUnit], list[int]] = {}
        for index, unit in enumerate(units):
            by_model.setdefault(type(unit), []).append(index)
        for model, indexes in by_model.items():
            if len(indexes) == 1:
                stored[indexes[0]] = self.save_unit(units[indexes[0]])[0]
                continue
            found = _upsert_all(model, [units[i] for i in indexes])
            for index, unit in zip(indexes, found, strict=True):
                stored[index] = unit if unit is not None else self.save_unit(units[index])[0]
        return stored  # type: ignore[return-value]  # every slot was filled above

    def associate(self, unit: ContentUnit) -> bool:
        """Make the repository hold ``unit``; True if it did not already."""
        try:
            return self.associate_all([unit])[0]
        except AssociationFailed as exc:
            raise exc.cause from None  # one unit: nothing was added, and the caller sees the write's own error

    def associate_all(self, units: Sequence[ContentUnit]) -> list[bool]:
        """Make the repository hold each of ``units``; for each, True if it did not already.

        Inside a task the rows name the task that created them and the last that associated them, so a
        rollback removes only rows its task created and no later task has claimed. One fence check, one
        journal entry and one bulk write serve them all: each is a round trip to the database, and an
        import under load spent most of its time waiting on them. A bulk write that fails part way
        raises ``AssociationFailed`` naming the units it did add.
        """
        if not units:
            return []
        when = now()
        on_insert: dict[str, Any] = {"created": when}
        change: dict[str, Any] = {"updated": when}
        if self._owner is not None:
            self._owner.check()
            self._owner.journal_associations(self.repo_id, [(unit.type_id, unit.id) for unit in units])
            on_insert["created_by"] = change["associated_by"] = self._owner.task_id
        writes = [UpdateOne({"repo_id": self.repo_id, "unit_type_id": unit.type_id, "unit_id": unit.id},
                            {"$setOnInsert": on_insert, "$set": change}, upsert=True) for unit in units]
        try:
            created = RepositoryContentUnit._get_collection().bulk_write(writes, ordered=True).upserted_ids
        except BulkWriteError as exc:
            added = {row["index"] for row in exc.details.get("upserted", [])}
            raise AssociationFailed([u for i, u in enumerate(units) if i in added], exc) from exc
        return [index in created for index in range(len(units))]

    def unassociate(self, unit: ContentUnit) -> bool:
        if self._owner is not None:
            self._owner.check()
        result = RepositoryContentUnit._get_collection().delete_one(
            {"repo_id": self.repo_id, "unit_type_id": unit.type_id, "unit_id": unit.id})
        return result.deleted_count > 0

    def unit_ids(self, type_id: str, among: list[str] | None = None) -> list[str]:
        """Ids of the repository's units of one type (only those in ``among`` when given)."""
        query: dict[str, Any] = {"repo_id": self.repo_id, "unit_type_id": type_id}
        if among is not None:
            query["unit_id"] = {"$in": among}
        rows = RepositoryContentUnit._get_collection().find(query, {"unit_id": 1})
        return [row["unit_id"] for row in rows]

    def unit_ids_by_type(self) -> dict[str, list[str]]:
        """Ids of all the repository's units, by type id, read in one query (a type it lacks is absent)."""
        ids: dict[str, list[str]] = {}
        for row in RepositoryContentUnit._get_collection().find({"repo_id": self.repo_id},
                                                                {"unit_type_id": 1, "unit_id": 1}):
            ids.setdefault(row["unit_type_id"], []).append(row["unit_id"])
        return ids

    def units(self, model: type[ContentUnit], **filters: Any) -> Iterable[ContentUnit]:
        """Units of one type held by the repository, optionally filtered by field values."""
        among = None
        if filters:
            # A filter (a digest, a few digests) is narrower than a large repository: match units first.
            among = [u.id for u in model.objects(**filters).only("id")]
            if not among:
                return model.objects.none()  # no unit matches: no more round trips to find that out
        return model.objects(id__in=self.unit_ids(model.type_id, among), **filters)

    def update_counts(self, added: bool = False, removed: bool = False) -> dict[str, int]:
        """Recount the repository's units by type and store the counts on the repository."""
        self.check_owner()
        return update_unit_counts(self.repo_id, added=added, removed=removed)

    # -- task ----------------------------------------------------------------------------------
    def set_progress(self, report: dict[str, Any]) -> None:
        if self._progress:
            self._progress(report)

    def check_canceled(self) -> None:
        if self.is_canceled():
            raise Canceled()

    def is_canceled(self) -> bool:
        return bool(self._canceled and self._canceled())

    def check_owner(self) -> None:
        """Raise ``tasking.fencing.ReservationLost`` unless the task still holds its repository and runs.

        Call it before final writes the conduit does not make (a publication); the conduit's own
        visible writes check it themselves. Outside a task (the registry API) it does nothing.
        """
        if self._owner is not None:
            self._owner.check()


def _upsert_all(model: type[ContentUnit], units: list[ContentUnit]) -> list[ContentUnit | None]:
    """Insert those of ``units`` (all of ``model``) whose key is new; each stored unit, or None if not found."""
    collection = model._get_collection()
    fields = [model._fields[name].db_field for name in model.unit_key_fields]
    docs = [unit.to_mongo().to_dict() for unit in units]
    keys = [{name: doc[name] for name in fields} for doc in docs]
    writes = [UpdateOne(key, {"$setOnInsert": {k: v for k, v in doc.items() if k not in key}}, upsert=True)
              for key, doc in zip(keys, docs, strict=True)]
    try:
        collection.bulk_write(writes, ordered=False)
    except BulkWriteError as exc:
        # Only lost races are expected (11000: another task inserted the key first); the read finds them.
        if exc.details.get("writeConcernErrors") or any(
                error.get("code") != 11000 for error in exc.details.get("writeErrors", [])):
            raise
    query = {fields[0]: {"$in": [key[fields[0]] for key in keys]}} if len(fields) == 1 else {"$or": keys}
    found = {tuple(doc.get(name) for name in fields): doc for doc in collection.find(query)}
    return [None if (doc := found.get(tuple(key.values()))) is None else model._from_son(doc) for key in keys]


def update_unit_counts(repo_id: str, *, added: bool = False, removed: bool = False) -> dict[str, int]:
    """Recount a repository's units by type (a count, not an increment, so repeats are harmless)."""
    rows = RepositoryContentUnit._get_collection().aggregate([
        {"$match": {"repo_id": repo_id}},
        {"$group": {"_id": "$unit_type_id", "n": {"$sum": 1}}},
    ])
    counts = {row["_id"]: row["n"] for row in rows}
    change: dict[str, Any] = {"content_unit_counts": counts}
    if added:
        change["last_unit_added"] = now()
    if removed:
        change["last_unit_removed"] = now()
    Repository._get_collection().update_one({"repo_id": repo_id}, {"$set": change})
    return counts
