"""Finding a repository's units with Pulp 2 search criteria.

Criteria: ``{"type_ids": [...], "filters": {"unit": {...}, "association": {...}}, "limit", "skip",
"sort": [["field", "ascending"|"descending"]], "fields": [...]}``. Filters are MongoDB query
documents, as in Pulp 2; operators that run code on the server are refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pymongo

from pulp_platform.errors import InvalidValue
from pulp_platform.models.content import ContentUnit, RepositoryContentUnit
from pulp_platform.plugin_api import Plugins

_REFUSED_OPERATORS = {"$where", "$function", "$accumulator", "$expr"}


@dataclass
class Criteria:
    type_ids: list[str] = field(default_factory=list)
    unit_filters: dict[str, Any] = field(default_factory=dict)
    association_filters: dict[str, Any] = field(default_factory=dict)
    limit: int | None = None
    skip: int = 0
    sort: list[tuple[str, int]] = field(default_factory=list)
    fields: list[str] | None = None


def _check_filter(name: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidValue(name, reason="must be an object")

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                if key in _REFUSED_OPERATORS:
                    raise InvalidValue(name, reason=f"operator {key} is not allowed")
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(value)
    return value


def _non_negative(raw: dict[str, Any], name: str) -> int | None:
    value = raw.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidValue(name, reason="must be a non-negative integer")
    return value


def parse_criteria(raw: Any, plugins: Plugins) -> Criteria:
    """Validate a criteria object; unknown type ids and malformed parts are InvalidValue."""
    if raw is None:
        return Criteria()
    if not isinstance(raw, dict):
        raise InvalidValue("criteria", reason="must be an object")
    type_ids = raw.get("type_ids") or []
    if not isinstance(type_ids, list) or not all(isinstance(t, str) for t in type_ids):
        raise InvalidValue("type_ids", reason="must be a list of type ids")
    unknown = [t for t in type_ids if t not in plugins.unit_models]
    if unknown:
        raise InvalidValue("type_ids", reason=f"unknown content type(s): {', '.join(unknown)}")
    filters = raw.get("filters") or {}
    if not isinstance(filters, dict):
        raise InvalidValue("filters", reason="must be an object")
    sort: list[tuple[str, int]] = []
    for entry in raw.get("sort") or []:
        if (not isinstance(entry, list | tuple) or len(entry) != 2 or not isinstance(entry[0], str)
                or entry[1] not in ("ascending", "descending")):
            raise InvalidValue("sort", reason='each entry must be ["field", "ascending"|"descending"]')
        sort.append((entry[0], pymongo.ASCENDING if entry[1] == "ascending" else pymongo.DESCENDING))
    fields_ = raw.get("fields")
    if fields_ is not None and (not isinstance(fields_, list) or not all(isinstance(f, str) for f in fields_)):
        raise InvalidValue("fields", reason="must be a list of field names")
    return Criteria(type_ids=type_ids, unit_filters=_check_filter("filters.unit", filters.get("unit")),
                    association_filters=_check_filter("filters.association", filters.get("association")),
                    limit=_non_negative(raw, "limit"), skip=_non_negative(raw, "skip") or 0, sort=sort,
                    fields=fields_)


def _types(repo_id: str, criteria: Criteria, plugins: Plugins) -> list[str]:
    if criteria.type_ids:
        return criteria.type_ids
    held = RepositoryContentUnit._get_collection().distinct("unit_type_id", {"repo_id": repo_id})
    return sorted(t for t in held if t in plugins.unit_models)


def _sort_key(name: str) -> Callable[[dict[str, Any]], tuple]:
    def key(row: dict[str, Any]) -> tuple:
        value = row["metadata"].get(name)
        # None first, then grouped by type name, so values of different types never compare directly.
        return (value is not None, type(value).__name__, value if value is not None else 0)
    return key


def search(repo_id: str, criteria: Criteria, plugins: Plugins) -> list[dict[str, Any]]:
    """Association rows joined with their units: ``{metadata, unit_type_id, unit_id, repo_id, created, updated}``."""
    rows: list[dict[str, Any]] = []
    for type_id in _types(repo_id, criteria, plugins):
        model = plugins.unit_models[type_id]
        query = {**criteria.association_filters, "repo_id": repo_id, "unit_type_id": type_id}
        associations = {a["unit_id"]: a for a in RepositoryContentUnit._get_collection().find(query)}
        if not associations:
            continue
        projection = None
        if criteria.fields is not None:
            keys = [model._fields[n].db_field for n in model.unit_key_fields if n in model._fields]
            projection = {name: 1 for name in [*criteria.fields, *keys, "_content_type_id"]}
        unit_query = {"$and": [criteria.unit_filters, {"_id": {"$in": list(associations)}}]}
        for doc in model._get_collection().find(unit_query, projection):
            doc["_content_type_id"] = type_id
            assoc = associations[doc["_id"]]
            rows.append({"metadata": doc, "unit_type_id": type_id, "unit_id": doc["_id"], "repo_id": repo_id,
                         "created": assoc.get("created"), "updated": assoc.get("updated"),
                         "id": str(assoc["_id"])})
    for name, direction in reversed(criteria.sort):
        rows.sort(key=_sort_key(name), reverse=direction == pymongo.DESCENDING)
    rows = rows[criteria.skip:]
    if criteria.limit:
        rows = rows[:criteria.limit]
    return rows


def find_units(repo_id: str, criteria: Criteria, plugins: Plugins) -> list[ContentUnit]:
    """The matching units as model instances (for copying or removing them)."""
    wanted: dict[str, list[str]] = {}
    for row in search(repo_id, Criteria(**{**criteria.__dict__, "fields": None}), plugins):
        wanted.setdefault(row["unit_type_id"], []).append(row["unit_id"])
    units: list[ContentUnit] = []
    for type_id, ids in wanted.items():
        units.extend(plugins.unit_models[type_id].objects(id__in=ids))
    return units

