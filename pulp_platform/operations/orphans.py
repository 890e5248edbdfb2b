"""Orphans: units held by no repository, and content files referenced by no unit."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

from pulp_platform.db import database
from pulp_platform.errors import MissingResource
from pulp_platform.models.content import ContentUnit, RepositoryContentUnit, now
from pulp_platform.plugin_api import Plugins
from pulp_platform.storage import ContentStore
from pulp_platform.tasking.reports import API_PREFIX
from pulp_platform.tasking.runner import TaskContext

log = logging.getLogger(__name__)


def orphan_ids(model: type[ContentUnit], plugins: Plugins) -> Iterator[str]:
    """Units of one type that no repository holds and that no distributor still serves."""
    held = set(RepositoryContentUnit._get_collection().distinct("unit_id", {"unit_type_id": model.type_id}))
    unheld = [doc["_id"] for doc in model._get_collection().find({}, {"_id": 1}) if doc["_id"] not in held]
    for start in range(0, len(unheld), 1000):
        batch = unheld[start:start + 1000]
        # Asked per batch as it is consumed: remove_orphans deletes a batch right after this check.
        in_use = units_in_use(plugins, model.type_id, batch)
        yield from (unit_id for unit_id in batch if unit_id not in in_use)


def units_in_use(plugins: Plugins, type_id: str, unit_ids: list[str]) -> set[str]:
    """Of these units, those some installed distributor still serves (``Distributor.units_in_use``)."""
    used: set[str] = set()
    for cls in set(plugins.distributors.values()):
        used |= cls.units_in_use(type_id, unit_ids)
    return used


def _models(plugins: Plugins, type_id: str | None) -> list[type[ContentUnit]]:
    if type_id is None:
        return list(plugins.unit_models.values())
    if type_id not in plugins.unit_models:
        raise MissingResource(content_type=type_id)
    return [plugins.unit_models[type_id]]


def summary(plugins: Plugins) -> dict[str, Any]:
    """``{type_id: {"count": n, "_href": ...}}`` for every installed type, as Pulp 2 answered."""
    return {model.type_id: {"count": sum(1 for _ in orphan_ids(model, plugins)),
                            "_href": f"{API_PREFIX}content/orphans/{model.type_id}/"}
            for model in plugins.unit_models.values()}


def list_orphans(plugins: Plugins, type_id: str) -> list[dict[str, Any]]:
    (model,) = _models(plugins, type_id)
    ids = list(orphan_ids(model, plugins))
    found = []
    for doc in model._get_collection().find({"_id": {"$in": ids}}):
        doc["_content_type_id"] = type_id
        doc["_href"] = f"{API_PREFIX}content/orphans/{type_id}/{doc['_id']}/"
        found.append(doc)
    return found


def remove_orphans(ctx: TaskContext, type_id: str | None = None, unit_ids: list[str] | None = None) -> dict[str, int]:
    """Task: delete orphaned units (of one type, or all, or the ``unit_ids`` of one type), then content
    files no unit references.

    A unit is deleted only if it is still unheld at the moment of deletion and no distributor serves
    it; a file only if no unit references it and it was put in place before this task started, so
    content an import is committing right now is left alone. A served unit keeps its file.
    """
    started = now().timestamp()
    removed: dict[str, int] = {}
    plugins = ctx.plugins()
    for model in _models(plugins, type_id):
        count = 0
        for unit_id in orphan_ids(model, plugins):
            if unit_ids is not None and unit_id not in unit_ids:
                continue
            if RepositoryContentUnit._get_collection().find_one({"unit_id": unit_id}, {"_id": 1}) is None:
                count += model._get_collection().delete_one({"_id": unit_id}).deleted_count
        removed[model.type_id] = count
    removed["content_files"] = remove_unreferenced_files(ContentStore(ctx.settings.content_path), started)
    return removed


def referenced_paths() -> set[str]:
    """Every ``_storage_path`` of every unit collection, installed plugin or not."""
    db = database()
    paths: set[str] = set()
    for name in db.list_collection_names():
        if name.startswith("units_"):
            paths.update(p for p in db[name].distinct("_storage_path") if p)
    return paths


def remove_unreferenced_files(store: ContentStore, before: float) -> int:
    referenced = referenced_paths()
    count = 0
    for digest in list(store.digests()):
        relative = store.relative_path(digest)
        path = store.root / relative
        try:
            # ctime changes when the file is linked into place, i.e. when it was committed.
            if relative in referenced or os.stat(path).st_ctime >= before:
                continue
        except FileNotFoundError:
            continue
        store.remove(digest)
        count += 1
    if count:
        log.info("removed %d content file(s) referenced by no unit", count)
    return count
