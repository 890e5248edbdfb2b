"""Finding a repository's units with Pulp 2's unit association criteria.

Criteria, as Pulp 2's ``UnitAssociationCriteria.from_client_input`` took them::

    {"type_ids": [...],
     "filters": {"unit": <query>, "association": <query>},
     "sort": {"unit": [["field", "ascending"]], "association": [["created", "descending"]]},
     "fields": {"unit": [...], "association": [...]},
     "limit": n, "skip": n, "remove_duplicates": bool}

``sort`` and ``fields`` may also be plain lists, meaning unit fields (this server's earlier form).
Filters are checked by ``operations.criteria``.

Everything happens in one aggregation over ``repo_content_units``: the repository's associations
(association filters applied) are joined with their units by ``$lookup``, unit filters match the
joined unit, and ``$sort``, ``$skip``, ``$limit`` and ``$project`` run in the database. Several types
are searched at once by ``$unionWith`` (MongoDB 4.4 or later); their rows come type by type (type ids
in alphabetical order), each type sorted by the unit sort (by default its unit key), as Pulp 2 did;
an association sort orders the rows of all types together, as in Pulp 2. A unit sort given with an
association sort breaks its ties. The unit's ``_id`` breaks every remaining tie, so pages are stable.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pymongo

from pulp_platform.errors import InvalidValue
from pulp_platform.models.content import ContentUnit, RepositoryContentUnit
from pulp_platform.operations import criteria as checks
from pulp_platform.plugin_api import Plugins

CRITERIA_KEYS = frozenset({"type_ids", "filters", "sort", "fields", "limit", "skip", "remove_duplicates"})
# The fields of a repo_content_units row (Pulp 2's owner_type/owner_id are not kept here).
ASSOCIATION_FIELDS = ("repo_id", "unit_id", "unit_type_id", "created", "updated")
_DATE_FIELDS = frozenset({"created", "updated"})
_UNIT = "unit"  # where the joined unit sits in each aggregated row
_RANK = "__pulp_type_rank"  # the type's place in the type order, when several types are searched


@dataclass
class Criteria:
    type_ids: list[str] = field(default_factory=list)
    unit_filters: dict[str, Any] = field(default_factory=dict)
    association_filters: dict[str, Any] = field(default_factory=dict)
    unit_sort: list[tuple[str, int]] = field(default_factory=list)
    association_sort: list[tuple[str, int]] = field(default_factory=list)
    unit_fields: list[str] | None = None
    association_fields: list[str] | None = None
    limit: int | None = None
    skip: int = 0


def _parts(name: str, raw: Any) -> tuple[Any, Any]:
    """``(unit, association)`` of a ``{"unit": ..., "association": ...}`` object; a list is unit only."""
    if raw is None:
        return None, None
    if isinstance(raw, list):
        return raw, None
    if not isinstance(raw, dict):
        raise InvalidValue(name, reason='must be a list, or an object {"unit": [...], "association": [...]}')
    unknown = sorted(set(raw) - {"unit", "association"})
    if unknown:
        raise InvalidValue(name, reason=f"takes only unit and association, not {', '.join(unknown)}")
    return raw.get("unit"), raw.get("association")


def _association_names(where: str, names: list[str]) -> None:
    unknown = [n for n in names if n not in ASSOCIATION_FIELDS]
    if unknown:
        raise InvalidValue(where, reason=f"{', '.join(unknown)}: association fields are "
                                         f"{', '.join(ASSOCIATION_FIELDS)}")


def _type_ids(raw: Any, plugins: Plugins) -> list[str]:
    type_ids = raw if raw is not None else []
    if isinstance(type_ids, str):  # Pulp 2 took a single type id as well
        type_ids = [type_ids]
    if not isinstance(type_ids, list) or not all(isinstance(t, str) for t in type_ids):
        raise InvalidValue("type_ids", reason="must be a list of type ids")
    unknown = [t for t in type_ids if t not in plugins.unit_models]
    if unknown:
        raise InvalidValue("type_ids", reason=f"unknown content type(s): {', '.join(unknown)}")
    return list(dict.fromkeys(type_ids))


def parse_criteria(raw: Any, plugins: Plugins) -> Criteria:
    """Validate a criteria object; unknown keys, unknown type ids and malformed parts are InvalidValue."""
    if raw is None:
        return Criteria()
    raw = checks.criteria_object(raw, CRITERIA_KEYS)
    filters = raw.get("filters")
    if filters is not None and not isinstance(filters, dict):
        raise InvalidValue("filters", reason='must be an object {"unit": {...}, "association": {...}}')
    unit_filter, association_filter = _parts("filters", filters)
    unit_sort, association_sort = _parts("sort", raw.get("sort"))
    unit_fields, association_fields = _parts("fields", raw.get("fields"))
    found = Criteria(
        type_ids=_type_ids(raw.get("type_ids"), plugins),
        unit_filters=checks.check_query("filters.unit", unit_filter),
        association_filters=checks.check_query("filters.association", association_filter,
                                               date_fields=_DATE_FIELDS),
        unit_sort=checks.parse_sort("sort.unit", unit_sort),
        association_sort=checks.parse_sort("sort.association", association_sort),
        unit_fields=checks.parse_fields("fields.unit", unit_fields),
        association_fields=checks.parse_fields("fields.association", association_fields),
        limit=checks.parse_count("limit", raw.get("limit"), 1),
        skip=checks.parse_count("skip", raw.get("skip"), 0) or 0,
    )
    _association_names("sort.association", [name for name, _ in found.association_sort])
    _association_names("fields.association", found.association_fields or [])
    if not isinstance(raw.get("remove_duplicates", False), bool):
        raise InvalidValue("remove_duplicates", reason="must be true or false")
    return found


def _types(repo_id: str, criteria: Criteria, plugins: Plugins) -> list[str]:
    if criteria.type_ids:
        return sorted(criteria.type_ids)
    held = RepositoryContentUnit._get_collection().distinct("unit_type_id", {"repo_id": repo_id})
    return sorted(t for t in held if t in plugins.unit_models)


def _prefixed(query: dict[str, Any]) -> dict[str, Any]:
    """A checked unit query rewritten to match the unit joined under ``unit``."""
    rewritten: dict[str, Any] = {}
    for key, value in query.items():
        if key in checks.LOGICAL_OPERATORS:
            rewritten[key] = [_prefixed(part) for part in value]
        elif key.startswith("$"):
            rewritten[key] = value
        else:
            rewritten[f"{_UNIT}.{key}"] = value
    return rewritten


def _key_fields(model: type[ContentUnit]) -> list[str]:
    return [model._fields[n].db_field for n in model.unit_key_fields if n in model._fields]


def _branch(repo_id: str, type_id: str, model: type[ContentUnit], criteria: Criteria,
            rank: int | None) -> list[dict[str, Any]]:
    """The stages finding one type's rows: its associations, each joined with its unit."""
    held = {"repo_id": repo_id, "unit_type_id": type_id}
    match = {"$and": [held, criteria.association_filters]} if criteria.association_filters else held
    stages: list[dict[str, Any]] = [
        {"$match": match},
        {"$lookup": {"from": model._get_collection_name(), "localField": "unit_id", "foreignField": "_id",
                     "as": _UNIT}},
        # An association whose unit document is gone has no row, as in Pulp 2.
        {"$unwind": f"${_UNIT}"},
    ]
    if criteria.unit_filters:
        stages.append({"$match": _prefixed(criteria.unit_filters)})
    if rank is not None:
        stages.append({"$addFields": {_RANK: rank}})
    return stages


def _order(criteria: Criteria, models: list[type[ContentUnit]]) -> dict[str, int]:
    spec = checks.sort_spec(criteria.association_sort)
    if len(models) > 1 and not criteria.association_sort:
        spec[_RANK] = pymongo.ASCENDING
    unit_sort = criteria.unit_sort
    if not unit_sort and not criteria.association_sort:
        # Pulp 2's default: each type by its unit key. Keys of other types are absent from a type's
        # rows, so one sort over all the key fields orders each type by its own key.
        unit_sort = [(name, pymongo.ASCENDING) for model in models for name in _key_fields(model)]
    for name, direction in checks.sort_spec(unit_sort, f"{_UNIT}.").items():
        spec.setdefault(name, direction)
    spec.setdefault(f"{_UNIT}._id", pymongo.ASCENDING)
    return spec


def _projection(criteria: Criteria, models: list[type[ContentUnit]]) -> dict[str, int] | None:
    if criteria.unit_fields is None and criteria.association_fields is None:
        return None
    if criteria.unit_fields is None:
        unit_paths = [_UNIT]
    else:
        keys = [name for model in models for name in _key_fields(model)]
        unit_paths = [f"{_UNIT}.{name}" for name in ["_id", "_content_type_id", *keys, *criteria.unit_fields]]
    association = criteria.association_fields or list(ASSOCIATION_FIELDS)
    return checks.projection([*association, "unit_id", "unit_type_id", *unit_paths])


def _pipeline(repo_id: str, criteria: Criteria, plugins: Plugins, types: list[str]) -> list[dict[str, Any]]:
    models = [plugins.unit_models[t] for t in types]
    several = len(types) > 1
    stages = _branch(repo_id, types[0], models[0], criteria, 0 if several else None)
    for rank, (type_id, model) in enumerate(zip(types, models, strict=True)):
        if rank:
            stages.append({"$unionWith": {"coll": RepositoryContentUnit._get_collection_name(),
                                          "pipeline": _branch(repo_id, type_id, model, criteria, rank)}})
    stages.append({"$sort": _order(criteria, models)})
    if criteria.skip:
        stages.append({"$skip": criteria.skip})
    if criteria.limit:
        stages.append({"$limit": criteria.limit})
    shown = _projection(criteria, models)
    if shown is not None:
        stages.append({"$project": shown})
    elif several:
        stages.append({"$project": {_RANK: 0}})
    return stages


def _rows(repo_id: str, criteria: Criteria, plugins: Plugins) -> list[dict[str, Any]]:
    """The aggregated rows: association fields with the unit under ``unit``."""
    types = _types(repo_id, criteria, plugins)
    if not types:
        return []
    collection = RepositoryContentUnit._get_collection()
    with checks.database_refusals():
        # allowDiskUse: a sort over a large repository may exceed the database's in-memory sort limit.
        return list(collection.aggregate(_pipeline(repo_id, criteria, plugins, types), allowDiskUse=True))


def search(repo_id: str, criteria: Criteria, plugins: Plugins) -> list[dict[str, Any]]:
    """Rows ``{metadata, unit_type_id, unit_id, repo_id, created, updated, id}``; with association fields
    chosen, only those of the association fields plus ``unit_id``, ``unit_type_id`` and ``id``."""
    found = []
    for doc in _rows(repo_id, criteria, plugins):
        unit = doc.get(_UNIT) or {}
        unit["_content_type_id"] = doc["unit_type_id"]
        row: dict[str, Any] = {"metadata": unit, "unit_type_id": doc["unit_type_id"], "unit_id": doc["unit_id"],
                               "id": str(doc["_id"])}
        if criteria.association_fields is None:
            row.update(repo_id=repo_id, created=doc.get("created"), updated=doc.get("updated"))
        else:
            row.update({name: doc[name] for name in criteria.association_fields if name in doc})
        found.append(row)
    return found


def find_units(repo_id: str, criteria: Criteria, plugins: Plugins) -> list[ContentUnit]:
    """The matching units as model instances (for copying or removing them), in the search's order."""
    whole = replace(criteria, unit_fields=None, association_fields=None)
    return [plugins.unit_models[doc["unit_type_id"]]._from_son(doc[_UNIT])
            for doc in _rows(repo_id, whole, plugins)]
