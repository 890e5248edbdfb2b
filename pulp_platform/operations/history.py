"""Writing and reading sync and publish history (``repositories/<id>/history/sync|publish/<dist>/``).

A record is written when a sync or a publish ends, whatever the outcome. Writing one is best effort:
a record the database refuses (a report too large for a document) is logged, and the sync or
publish it describes keeps its own outcome.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pymongo

from pulp_platform.errors import InvalidValue, error_dict
from pulp_platform.models.content import RepositoryContentUnit
from pulp_platform.models.history import CANCELED, ERROR, FAILED, SUCCESS, RepoPublishResult, RepoSyncResult
from pulp_platform.models.repository import RepoDistributor, RepoImporter
from pulp_platform.operations.criteria import parse_count, parse_iso8601
from pulp_platform.plugin_api import Canceled

log = logging.getLogger(__name__)
_SORTS = {"ascending": pymongo.ASCENDING, "descending": pymongo.DESCENDING}


def _outcome(report: Any, exc: BaseException | None) -> dict[str, Any]:
    """The fields of a record that depend on how it ended."""
    if exc is not None:
        return {"result": CANCELED if isinstance(exc, Canceled) else ERROR, "summary": None, "details": None,
                "error_message": error_dict(exc)["description"], "exception": repr(exc),
                "traceback": traceback.format_tb(exc.__traceback__)}
    failed = isinstance(report, Mapping) and report.get("success_flag") is False
    return {"result": FAILED if failed else SUCCESS, "error_message": None, "exception": None, "traceback": None}


def _insert(model: type, doc: dict[str, Any]) -> None:
    try:
        model._get_collection().insert_one(doc)
    except Exception:  # noqa: BLE001 - history must not change the outcome it records
        log.exception("could not record %s for repository %s", model.__name__, doc.get("repo_id"))


def association_count(repo_id: str) -> int:
    return RepositoryContentUnit._get_collection().count_documents({"repo_id": repo_id})


def record_sync(importer: RepoImporter, started: datetime, completed: datetime, *, held_before: int,
                report: Any = None, exc: BaseException | None = None) -> None:
    """One sync's record. Counts come from the report if the importer gave them, else from the
    repository's associations: added since ``started``, removed as what is missing of ``held_before``."""
    doc: dict[str, Any] = {"repo_id": importer.repo_id, "importer_id": importer.importer_type_id,
                           "importer_type_id": importer.importer_type_id, "started": started,
                           "completed": completed, "added_count": None, "removed_count": None,
                           "updated_count": None, **_outcome(report, exc)}
    if exc is None:
        report = report if isinstance(report, Mapping) else {}
        added = RepositoryContentUnit._get_collection().count_documents(
            {"repo_id": importer.repo_id, "created": {"$gte": started}})
        removed = held_before + added - association_count(importer.repo_id)
        doc.update(summary=report.get("summary"), details=report.get("details"),
                   added_count=_count(report, "added_count", added),
                   removed_count=_count(report, "removed_count", max(removed, 0)),
                   updated_count=_count(report, "updated_count", 0))
    _insert(RepoSyncResult, doc)


def _count(report: Mapping[str, Any], name: str, default: int) -> int:
    value = report.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def record_publish(dist: RepoDistributor, config: dict[str, Any], started: datetime, completed: datetime, *,
                   summary: Any = None, exc: BaseException | None = None) -> None:
    doc: dict[str, Any] = {"repo_id": dist.repo_id, "distributor_id": dist.distributor_id,
                           "distributor_type_id": dist.distributor_type_id, "distributor_config": config,
                           "started": started, "completed": completed, "summary": summary, "details": {},
                           **_outcome(summary, exc)}
    _insert(RepoPublishResult, doc)


def _query(params: Mapping[str, str]) -> tuple[dict[str, Any], int, int | None]:
    """Pulp 2's history filters: ``sort`` (default descending), ``limit``, ``start_date``, ``end_date``."""
    invalid: list[str] = []
    sort = params.get("sort") or "descending"
    if sort not in _SORTS:
        invalid.append("sort")
    limit = None
    try:
        limit = parse_count("limit", params.get("limit") or None, 1)
    except InvalidValue:
        invalid.append("limit")
    started: dict[str, Any] = {}
    for name, operator in (("start_date", "$gte"), ("end_date", "$lte")):
        if params.get(name):
            try:
                started[operator] = parse_iso8601(name, params[name])
            except InvalidValue:
                invalid.append(name)
    if invalid:
        raise InvalidValue(*invalid, reason="sort is ascending or descending, limit a positive integer, "
                                            "start_date and end_date ISO 8601 times")
    return ({"started": started} if started else {}), _SORTS[sort], limit


def _entries(model: type, spec: dict[str, Any], params: Mapping[str, str]) -> list[dict[str, Any]]:
    extra, direction, limit = _query(params)
    cursor = model._get_collection().find({**spec, **extra}).sort([("started", direction), ("_id", direction)])
    if limit:
        cursor = cursor.limit(limit)
    entries = []
    for doc in cursor:
        doc["id"] = str(doc.pop("_id"))
        doc["_ns"] = model._get_collection_name()
        entries.append(doc)
    return entries


def sync_history(repo_id: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
    """The repository's sync records, newest first unless ``sort=ascending``."""
    return _entries(RepoSyncResult, {"repo_id": repo_id}, params)


def publish_history(repo_id: str, distributor_id: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
    """One distributor's publish records, newest first unless ``sort=ascending``."""
    return _entries(RepoPublishResult, {"repo_id": repo_id, "distributor_id": distributor_id}, params)


def forget(repo_id: str, distributor_id: str | None = None) -> None:
    """Drop the records of a deleted repository (or of one removed distributor)."""
    if distributor_id is None:
        RepoSyncResult._get_collection().delete_many({"repo_id": repo_id})
        RepoPublishResult._get_collection().delete_many({"repo_id": repo_id})
    else:
        RepoPublishResult._get_collection().delete_many({"repo_id": repo_id, "distributor_id": distributor_id})
