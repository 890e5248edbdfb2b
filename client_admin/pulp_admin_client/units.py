"""Copying units between repositories and removing them from one: Pulp 2's ``UnitCopyCommand`` and
``UnitRemoveCommand`` flow and output, for plugins to give a type and a way to show a unit key.

``copy`` sends ``POST repositories/<to>/actions/associate/`` with ``source_repo_id`` and ``criteria``;
``remove`` sends ``POST repositories/<id>/actions/unassociate/`` with ``criteria``. The finished task's
``units_successful`` (``[{type_id, unit_key}]``) is what is printed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from pulp_admin_client import tasks
from pulp_admin_client.context import ClientContext
from pulp_admin_client.criteria import Criteria
from pulp_admin_client.failures import ClientError, ExitCode
from pulp_admin_client.output import emit_json
from pulp_admin_client.uploads import check_repository

# Pulp 2's DISPLAY_UNITS_DEFAULT_MAXIMUM: above it, counts per type instead of every unit.
MAX_UNITS_DISPLAYED = 100

# (type_id, unit_key) -> the short text that names the unit
UnitFormatter = Callable[[str, dict[str, Any]], str]


def _criteria_document(ctx: ClientContext, repo_id: str, type_id: str, criteria: Criteria) -> dict[str, Any]:
    document = criteria.document(type_id)
    if criteria.after is not None or criteria.before is not None:
        # The server keeps an association's ``created`` as a date, which the ISO strings Pulp 2 sent as
        # association filters never match; so the units added in range are found here and named by id.
        rows = ctx.connection.post(f"repositories/{repo_id}/search/units/", json={"criteria": document}) or []
        ids = [row["unit_id"] for row in rows if criteria.added_in_range(row)]
        document["filters"] = {"unit": {"_id": {"$in": ids}}}
    return document


def copy(ctx: ClientContext, type_id: str, from_repo: str, to_repo: str, criteria: Criteria, *,
         background: bool) -> dict[str, Any] | None:
    """Copy the matching units of ``type_id``; returns the finished task (None with ``background``)."""
    for repo_id in (from_repo, to_repo):
        check_repository(ctx, repo_id)
    body = {"source_repo_id": from_repo, "criteria": _criteria_document(ctx, from_repo, type_id, criteria),
            "override_config": {}}
    report = ctx.connection.post(f"repositories/{to_repo}/actions/associate/", json=body)
    done = tasks.follow(ctx, report, background)
    return done[-1] if done else None


def remove(ctx: ClientContext, type_id: str, repo_id: str, criteria: Criteria, *,
           background: bool) -> dict[str, Any] | None:
    """Remove the matching units of ``type_id``; Pulp 2 wanted at least one criteria option, so do we."""
    if not criteria.given:
        raise ClientError("say which units to remove with at least one of --str-eq, --int-eq, --match, --in, "
                          "--not, --gt, --gte, --lt, --lte, --filters, --after, --before", ExitCode.USAGE)
    check_repository(ctx, repo_id)
    body = {"criteria": _criteria_document(ctx, repo_id, type_id, criteria)}
    report = ctx.connection.post(f"repositories/{repo_id}/actions/unassociate/", json=body)
    done = tasks.follow(ctx, report, background)
    return done[-1] if done else None


def print_outcome(task: dict[str, Any] | None, title: str, formatter: UnitFormatter, as_json: bool) -> None:
    """Pulp 2's ``display_task_results``: the title and each unit (by type when several), or counts per
    type beyond ``MAX_UNITS_DISPLAYED``; ``as_json`` prints the task's result instead."""
    if task is None:  # --bg: report_background said it all
        return
    result = task.get("result") or {}
    if as_json:
        emit_json({"task_id": task.get("task_id"), "state": task.get("state"),
                   "units_successful": result.get("units_successful") or [],
                   "units_failed": result.get("units_failed") or []})
        return
    units = result.get("units_successful") or []
    failed = result.get("units_failed") or []
    if not units and not failed:
        click.echo("Nothing found that matches the given criteria.")
        return
    too_many = len(units) + len(failed) > MAX_UNITS_DISPLAYED
    click.echo(title)
    _print_units(units, formatter, too_many)
    if failed:
        click.echo("Units that could not be processed:")
        _print_units(failed, formatter, too_many)


def _print_units(units: list[dict[str, Any]], formatter: UnitFormatter, summary: bool) -> None:
    if not units:
        click.echo("  None")
        return
    by_type: dict[str, list[dict[str, Any]]] = {}
    for unit in units:
        by_type.setdefault(unit.get("type_id") or "?", []).append(unit.get("unit_key") or {})
    for type_id in sorted(by_type):
        if summary:
            click.echo(f"  {type_id}: {len(by_type[type_id])}")
            continue
        if len(by_type) > 1:
            click.echo(f" {type_id}:")
        for text in sorted(formatter(type_id, key) for key in by_type[type_id]):
            click.echo(f"  {text}")
