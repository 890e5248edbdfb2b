"""Content units across repositories: Pulp 2's ``content/units/<type_id>/search/`` and one unit by id.

Criteria here are Pulp 2's plain ``Criteria``: ``{"filters": <query on the unit>, "sort": [...],
"fields": [...], "limit": n, "skip": n}``, checked by ``operations.criteria``. Filtering, sorting
(by default by the unit key) and paging run in the database; with ``include_repos`` the page's units
are joined with their associations (``$lookup``) to list the repositories holding each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pymongo

from pulp_platform.errors import MissingResource
from pulp_platform.models.content import ContentUnit, RepositoryContentUnit
from pulp_platform.operations import criteria as checks
from pulp_platform.plugin_api import Plugins
from pulp_platform.tasking.reports import API_PREFIX

CRITERIA_KEYS = frozenset({"filters", "sort", "fields", "limit", "skip"})
_MEMBERSHIPS = "__pulp_memberships"


@dataclass
class UnitCriteria:
    filters: dict[str, Any] = field(default_factory=dict)
    sort: list[tuple[str, int]] = field(default_factory=list)
    fields: list[str] | None = None
    limit: int | None = None
    skip: int = 0


def unit_model(plugins: Plugins, type_id: str) -> type[ContentUnit]:
    """The model of an installed type; MissingResource otherwise."""
    model = plugins.unit_models.get(type_id)
    if model is None:
        raise MissingResource(content_type=type_id)
    return model


def parse_unit_criteria(raw: Any) -> UnitCriteria:
    """Validate Pulp 2's ``Criteria``; unknown keys and malformed parts are InvalidValue."""
    if raw is None:
        return UnitCriteria()
    raw = checks.criteria_object(raw, CRITERIA_KEYS)
    return UnitCriteria(filters=checks.check_query("filters", raw.get("filters")),
                        sort=checks.parse_sort("sort", raw.get("sort")),
                        fields=checks.parse_fields("fields", raw.get("fields")),
                        limit=checks.parse_count("limit", raw.get("limit"), 1),
                        skip=checks.parse_count("skip", raw.get("skip"), 0) or 0)


def unit_href(type_id: str, unit_id: str) -> str:
    return f"{API_PREFIX}content/units/{type_id}/{unit_id}/"


def _body(model: type[ContentUnit], doc: dict[str, Any]) -> dict[str, Any]:
    doc["_content_type_id"] = model.type_id
    doc["_ns"] = model._get_collection_name()
    doc["_href"] = unit_href(model.type_id, doc["_id"])
    doc["children"] = {}
    return doc


def search_units(plugins: Plugins, type_id: str, criteria: UnitCriteria,
                 include_repos: bool = False) -> list[dict[str, Any]]:
    """Units of one type matching ``criteria``, as Pulp 2's unit documents (``_href`` added)."""
    model = unit_model(plugins, type_id)
    key_fields = [model._fields[n].db_field for n in model.unit_key_fields if n in model._fields]
    order = checks.sort_spec(criteria.sort or [(name, pymongo.ASCENDING) for name in key_fields])
    order.setdefault("_id", pymongo.ASCENDING)
    stages: list[dict[str, Any]] = [{"$match": criteria.filters}] if criteria.filters else []
    stages.append({"$sort": order})
    if criteria.skip:
        stages.append({"$skip": criteria.skip})
    if criteria.limit:
        stages.append({"$limit": criteria.limit})
    if include_repos:
        stages.append({"$lookup": {"from": RepositoryContentUnit._get_collection_name(), "localField": "_id",
                                   "foreignField": "unit_id", "as": _MEMBERSHIPS}})
    if criteria.fields is not None:
        shown = ["_id", "_content_type_id", *criteria.fields] + ([_MEMBERSHIPS] if include_repos else [])
        stages.append({"$project": checks.projection(shown)})
    with checks.database_refusals():
        docs = list(model._get_collection().aggregate(stages, allowDiskUse=True))
    for doc in docs:
        if include_repos:
            held = doc.pop(_MEMBERSHIPS, [])
            doc["repository_memberships"] = sorted({a["repo_id"] for a in held if a.get("unit_type_id") == type_id})
        _body(model, doc)
    return docs


def get_unit(plugins: Plugins, type_id: str, unit_id: str) -> dict[str, Any]:
    """One unit document; MissingResource for an unknown type or unit."""
    model = unit_model(plugins, type_id)
    doc = model._get_collection().find_one({"_id": unit_id})
    if doc is None:
        raise MissingResource(content_unit=unit_id, content_type=type_id)
    return _body(model, doc)
