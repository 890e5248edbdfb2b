"""Pulp 2's unit criteria options and the criteria document they make, as its bindings composed them.

The filter options (``--str-eq``, ``--int-eq``, ``--match``, ``--in``, ``--not``, ``--gt``, ``--gte``,
``--lt``, ``--lte``, each ``FIELD=VALUE`` and repeatable) are AND'd together; ``--filters JSON`` replaces
them all. ``--after``/``--before`` match when a unit was added to the repository.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from pulp_admin_client.failures import ClientError, ExitCode


class FieldValue(click.ParamType):
    """``FIELD=VALUE`` split at the first ``=``, as Pulp 2's ``_parse_key_value``."""

    name = "field=value"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        field, sep, text = str(value).partition("=")
        if not sep or not field:
            self.fail(f"{value!r}: field and value must be separated by '='", param, ctx)
        return field, text


class Timestamp(click.ParamType):
    """An ISO 8601 date or time (UTC unless it says otherwise), as Pulp 2's ``parsers.iso8601``."""

    name = "iso8601"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return as_utc(datetime.fromisoformat(str(value)))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 timestamp such as 2024-05-01T12:00:00Z", param, ctx)


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _integer(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ClientError(f"{value!r} is not an integer (--int-eq, --gt, --gte, --lt and --lte compare integers, "
                          "as in Pulp 2)", ExitCode.USAGE) from None


def _csv_row(value: str) -> list[str]:
    return next(csv.reader([value]), [])


# option name -> (help, how a FIELD=VALUE becomes a clause)
FILTER_OPERATORS: dict[str, tuple[str, Callable[[str, str], dict[str, Any]]]] = {
    "str-eq": ("match where a named attribute equals a string value exactly", lambda f, v: {f: v}),
    "int-eq": ("match where a named attribute equals an int value exactly", lambda f, v: {f: _integer(v)}),
    "match": ("for a named attribute, match a regular expression using the mongo regex engine",
              lambda f, v: {f: {"$regex": v}}),
    "in": ("for a named attribute, match where value is in the provided list of values, expressed as one "
           "row of CSV", lambda f, v: {f: {"$in": _csv_row(v)}}),
    # Pulp 2 sent the bare value to $not, which MongoDB refuses; a regular expression is what it can negate.
    "not": ("field and regular expression to omit when determining units for inclusion",
            lambda f, v: {f: {"$not": {"$regex": v}}}),
    "gt": ("matches resources whose value for the specified field is greater than the given value",
           lambda f, v: {f: {"$gt": _integer(v)}}),
    "gte": ("matches resources whose value for the specified field is greater than or equal to the given value",
            lambda f, v: {f: {"$gte": _integer(v)}}),
    "lt": ("matches resources whose value for the specified field is less than the given value",
           lambda f, v: {f: {"$lt": _integer(v)}}),
    "lte": ("matches resources whose value for the specified field is less than or equal to the given value",
            lambda f, v: {f: {"$lte": _integer(v)}}),
}
FIELD_VALUE = FieldValue()
TIMESTAMP = Timestamp()


def _param(option: str) -> str:
    return "criteria_" + option.replace("-", "_")


def with_criteria_options(command: Any) -> Any:
    """Add ``--filters``, the filter options and ``--after``/``--before`` to a click command.

    Their values arrive as ``criteria_<name>`` keyword arguments; pass them all to ``Criteria.of``.
    """
    options = [
        click.option("--filters", _param("filters"), help="filters provided as JSON in Mongo syntax; overrides "
                                                          "the other filter options"),
        *(click.option(f"--{name}", _param(name), type=FIELD_VALUE, multiple=True, help=f"{text}; FIELD=VALUE, "
                       "repeatable") for name, (text, _clause) in FILTER_OPERATORS.items()),
        click.option("--after", "-a", _param("after"), type=TIMESTAMP,
                     help="matches units added to the source repository on or after the given time (ISO 8601)"),
        click.option("--before", "-b", _param("before"), type=TIMESTAMP,
                     help="matches units added to the source repository on or before the given time (ISO 8601)"),
    ]
    for option in reversed(options):
        command = option(command)
    return command


class Criteria:
    """What the criteria options say: unit filters, and when units were added."""

    def __init__(self, unit_filters: dict[str, Any], after: datetime | None, before: datetime | None,
                 given: bool) -> None:
        self.unit_filters = unit_filters
        self.after = after
        self.before = before
        self.given = given  # any criteria option at all (Pulp 2's ensure_criteria)

    @classmethod
    def of(cls, values: dict[str, Any]) -> Criteria:
        """Take the ``criteria_*`` keyword arguments out of ``values`` (a command's kwargs)."""
        picked = {key: values.pop(key) for key in list(values) if key.startswith("criteria_")}
        clauses: list[dict[str, Any]] = []
        for name, (_text, clause) in FILTER_OPERATORS.items():
            clauses.extend(clause(field, value) for field, value in picked.get(_param(name)) or ())
        raw = picked.get(_param("filters"))
        if raw:
            try:
                unit_filters = json.loads(raw)
            except ValueError as exc:
                raise ClientError(f"--filters is not JSON: {exc}", ExitCode.USAGE) from None
            if not isinstance(unit_filters, dict):
                raise ClientError("--filters must be a JSON object", ExitCode.USAGE)
        else:
            unit_filters = {"$and": clauses} if len(clauses) > 1 else (clauses[0] if clauses else {})
        after, before = picked.get(_param("after")), picked.get(_param("before"))
        return cls(unit_filters, after, before, bool(raw or clauses or after or before))

    def document(self, type_id: str) -> dict[str, Any]:
        """The ``criteria`` of a search, associate or unassociate request (without the time bounds)."""
        found: dict[str, Any] = {"type_ids": [type_id]}
        if self.unit_filters:
            found["filters"] = {"unit": self.unit_filters}
        return found

    def added_in_range(self, row: dict[str, Any]) -> bool:
        """Whether a search row's association was created between ``--after`` and ``--before``."""
        if self.after is None and self.before is None:
            return True
        created = row.get("created")
        if not created:
            return False
        moment = as_utc(datetime.fromisoformat(str(created)))
        return (self.after is None or moment >= self.after) and (self.before is None or moment <= self.before)
