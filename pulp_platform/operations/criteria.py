"""The parts of Pulp 2's search criteria both searches share: filters, sort, fields, limit and skip.

Filters are MongoDB query documents, as in Pulp 2, checked before they reach the database: operators
that run code on the server (``$where``, ``$function``, ``$accumulator``, ``$expr``) are refused, and
an unknown operator or one given the wrong kind of argument is a 400 naming it. Pulp 2's own
extensions are translated: ``{"$date": "<ISO 8601>"}`` becomes a date and ``{"$not": "<regex>"}`` a
negated regular expression. What only the database can judge (a malformed regular expression) becomes
a 400 in ``database_refusals``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pymongo
from pymongo.errors import OperationFailure

from pulp_platform.errors import InvalidValue
from pulp_platform.operations.regex_safety import backtracking_risk

REFUSED_OPERATORS = frozenset({"$where", "$function", "$accumulator", "$expr"})
# Logical operators that hold query documents; $comment is harmless.
LOGICAL_OPERATORS = frozenset({"$and", "$or", "$nor"})
FIELD_OPERATORS = frozenset({
    "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$type", "$regex", "$options",
    "$not", "$elemMatch", "$all", "$size", "$mod", "$bitsAllSet", "$bitsAnySet", "$bitsAllClear",
    "$bitsAnyClear",
})
_COMPARISONS = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"})
_REGEX_OPTIONS = frozenset("imsxu")
_DIRECTIONS = {"ascending": pymongo.ASCENDING, "1": pymongo.ASCENDING,
               "descending": pymongo.DESCENDING, "-1": pymongo.DESCENDING}
# Codes MongoDB answers for a query it cannot run as written (bad value, failed to parse, type mismatch,
# path collisions in a projection, invalid regular expression or regex options).
_QUERY_ERROR_CODES = frozenset({2, 9, 14, 31249, 31250, 51091, 51108})


def parse_iso8601(where: str, text: Any) -> datetime:
    """An ISO 8601 time (UTC unless it says otherwise), or InvalidValue naming ``where``."""
    if isinstance(text, str):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    raise InvalidValue(where, reason=f"{text!r} is not an ISO 8601 time such as 2024-05-01T12:00:00Z")


def check_query(where: str, query: Any, *, date_fields: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A checked copy of a query document, with Pulp 2's ``$date`` and ``$not: "regex"`` translated.

    Strings compared with a field in ``date_fields`` are read as ISO 8601 times: Pulp 2 stored those
    fields as ISO strings and its clients filter them with strings; here they are dates.
    """
    if query is None:
        return {}
    if not isinstance(query, dict):
        raise InvalidValue(where, reason="must be an object (a MongoDB query document)")
    checked: dict[str, Any] = {}
    for key, value in query.items():
        if key in REFUSED_OPERATORS:
            raise InvalidValue(where, reason=f"operator {key} is not allowed")
        if key in LOGICAL_OPERATORS:
            if not isinstance(value, list) or not value:
                raise InvalidValue(where, reason=f"{key} takes a non-empty list of query objects")
            checked[key] = [check_query(where, part, date_fields=date_fields) for part in value]
        elif key == "$comment":
            checked[key] = value
        elif key.startswith("$"):
            raise InvalidValue(where, reason=f"{key} is not supported at the top of a query; "
                                             "use $and, $or, $nor or field names")
        else:
            _check_field_name(where, key)
            checked[key] = _condition(where, key, value, key.split(".")[-1] in date_fields)
    return checked


def _condition(where: str, field: str, value: Any, as_date: bool) -> Any:
    """What a field is matched against: a value, or an object of operators."""
    if isinstance(value, dict) and value and all(k.startswith("$") for k in value) and set(value) != {"$date"}:
        return _operators(where, field, value, as_date)
    return _value(where, field, value, as_date)


def _value(where: str, field: str, value: Any, as_date: bool) -> Any:
    """A literal, with ``{"$date": ...}`` anywhere in it made a date."""
    if isinstance(value, dict):
        if set(value) == {"$date"}:
            return parse_iso8601(f"{where}.{field}", value["$date"])
        refused = [k for k in value if k.startswith("$")]
        if refused:
            raise InvalidValue(where, reason=f"{field}: operators ({', '.join(refused)}) and field names cannot "
                                             "be mixed in one object")
        return {k: _value(where, field, v, False) for k, v in value.items()}
    if isinstance(value, list):
        return [_value(where, field, v, as_date) for v in value]
    if as_date and isinstance(value, str):
        return parse_iso8601(f"{where}.{field}", value)
    return value


def _operators(where: str, field: str, ops: dict[str, Any], as_date: bool) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for op, arg in ops.items():
        name = f"{field}: {op}"
        if op in REFUSED_OPERATORS:
            raise InvalidValue(where, reason=f"operator {op} is not allowed")
        if op not in FIELD_OPERATORS:
            raise InvalidValue(where, reason=f"{name} is not a supported query operator")
        if op in ("$in", "$nin", "$all"):
            if not isinstance(arg, list):
                raise InvalidValue(where, reason=f"{name} takes a list")
            checked[op] = _value(where, field, arg, as_date)
        elif op == "$regex":
            if not isinstance(arg, str):
                raise InvalidValue(where, reason=f"{name} takes a regular expression as a string")
            checked[op] = _safe_regex(where, name, arg)
        elif op == "$options":
            if not isinstance(arg, str) or not set(arg) <= _REGEX_OPTIONS:
                raise InvalidValue(where, reason=f"{name} takes regex flags from 'imsxu'")
            checked[op] = arg
        elif op == "$not":
            checked[op] = _negation(where, field, arg, as_date)
        elif op == "$elemMatch":
            if not isinstance(arg, dict) or not arg:
                raise InvalidValue(where, reason=f"{name} takes an object")
            # Either operators on the element itself, or a query on the element's fields.
            operators_only = all(k.startswith("$") for k in arg) and not set(arg) & LOGICAL_OPERATORS
            checked[op] = _operators(where, field, arg, False) if operators_only else check_query(where, arg)
        elif op == "$size":
            if isinstance(arg, bool) or not isinstance(arg, int) or arg < 0:
                raise InvalidValue(where, reason=f"{name} takes a non-negative integer")
            checked[op] = arg
        elif op == "$mod":
            if (not isinstance(arg, list) or len(arg) != 2
                    or not all(isinstance(n, int | float) and not isinstance(n, bool) for n in arg)):
                raise InvalidValue(where, reason=f"{name} takes [divisor, remainder]")
            checked[op] = arg
        elif op in _COMPARISONS:
            checked[op] = _value(where, field, arg, as_date)
        else:  # $exists, $type, $bits*: the database checks their simple arguments
            checked[op] = arg
    if "$options" in checked and "$regex" not in checked:
        raise InvalidValue(where, reason=f"{field}: $options needs $regex")
    return checked


def _negation(where: str, field: str, arg: Any, as_date: bool) -> dict[str, Any]:
    if isinstance(arg, str):  # Pulp 2 compiled a string given to $not as a regular expression
        return {"$regex": _safe_regex(where, f"{field}: $not", arg)}
    if isinstance(arg, dict) and arg and all(k.startswith("$") for k in arg):
        return _operators(where, field, arg, as_date)
    raise InvalidValue(where, reason=f"{field}: $not takes a regular expression or an object of operators")


def _safe_regex(where: str, name: str, pattern: str) -> str:
    risk = backtracking_risk(pattern)
    if risk is not None:
        raise InvalidValue(where, reason=f"{name}: {risk}")
    return pattern


def criteria_object(raw: Any, keys: frozenset[str]) -> dict[str, Any]:
    """A criteria body that is an object with only ``keys``; anything else is InvalidValue."""
    if not isinstance(raw, dict):
        raise InvalidValue("criteria", reason="must be an object")
    unknown = sorted(set(raw) - keys)
    if unknown:
        raise InvalidValue(*unknown, reason=f"not a criteria key; criteria take {', '.join(sorted(keys))}")
    return raw


def _check_field_name(where: str, name: Any) -> str:
    if (not isinstance(name, str) or not name or name.startswith("$") or "\0" in name
            or "" in name.split(".")):
        raise InvalidValue(where, reason=f"{name!r} is not a field name")
    return name


def parse_sort(where: str, raw: Any) -> list[tuple[str, int]]:
    """``[["field", "ascending"|"descending"], ...]`` (``1``/``-1`` too, as Pulp 2 took)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidValue(where, reason='must be a list of ["field", "ascending"|"descending"]')
    found: list[tuple[str, int]] = []
    for entry in raw:
        if not isinstance(entry, list) or len(entry) != 2 or isinstance(entry[1], bool):
            raise InvalidValue(where, reason='each entry must be ["field", "ascending"|"descending"]')
        direction = _DIRECTIONS.get(str(entry[1]).lower())
        if direction is None:
            raise InvalidValue(where, reason=f"unknown sort direction {entry[1]!r}; use ascending or descending")
        found.append((_check_field_name(where, entry[0]), direction))
    return found


def parse_fields(where: str, raw: Any) -> list[str] | None:
    """A list of field names, or None for every field."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise InvalidValue(where, reason="must be a list of field names")
    return list(dict.fromkeys(_check_field_name(where, name) for name in raw))


def parse_count(where: str, raw: Any, minimum: int) -> int | None:
    """An integer (or a string of digits, as Pulp 2 took) of at least ``minimum``; None when absent."""
    value = raw
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        value = int(raw)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidValue(where, reason=f"must be an integer of at least {minimum}")
    return value


def sort_spec(sort: list[tuple[str, int]], prefix: str = "") -> dict[str, int]:
    spec: dict[str, int] = {}
    for name, direction in sort:
        spec.setdefault(prefix + name, direction)
    return spec


def projection(paths: list[str]) -> dict[str, int]:
    """An inclusion projection of ``paths``; a path inside another one given is dropped (MongoDB refuses both)."""
    unique = sorted(set(paths))
    kept = [p for p in unique if not any(p.startswith(other + ".") for other in unique)]
    return {p: 1 for p in sorted(kept, key=paths.index)}


@contextlib.contextmanager
def database_refusals(where: str = "criteria") -> Iterator[None]:
    """Turn the database's refusal of a query as written into a 400 naming ``where``."""
    try:
        yield
    except OperationFailure as exc:
        if exc.code not in _QUERY_ERROR_CODES:
            raise
        message = (exc.details or {}).get("errmsg") or str(exc)
        raise InvalidValue(where, reason=f"the database refused it: {message}") from None
