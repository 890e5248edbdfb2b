"""Copying units into a repository from another, and removing units from a repository."""

from __future__ import annotations

from typing import Any

from pulp_platform.models.content import ContentUnit
from pulp_platform.operations.units import find_units, parse_criteria
from pulp_platform.operations.upload import repository_importer
from pulp_platform.tasking.runner import TaskContext


def _summary(units: list[ContentUnit]) -> dict[str, Any]:
    return {"units_successful": [{"type_id": u.type_id, "unit_key": u.unit_key} for u in units]}


def associate(ctx: TaskContext, repo_id: str, source_repo_id: str, criteria: dict[str, Any] | None = None,
              override_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Task: copy the units of ``source_repo_id`` matching ``criteria`` into ``repo_id`` via its importer."""
    doc, importer = repository_importer(ctx, repo_id)
    units = find_units(source_repo_id, parse_criteria(criteria, ctx.plugins()), ctx.plugins())
    conduit = ctx.conduit(repo_id)
    done = importer.import_units(conduit, source_repo_id, units, {**(doc.config or {}), **(override_config or {})})
    conduit.update_counts(added=True)
    return _summary(list(done or []))


def unassociate(ctx: TaskContext, repo_id: str, criteria: dict[str, Any] | None = None,
                override_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Task: remove the units matching ``criteria`` from ``repo_id`` (the units stay, maybe as orphans)."""
    doc, importer = repository_importer(ctx, repo_id)
    units = find_units(repo_id, parse_criteria(criteria, ctx.plugins()), ctx.plugins())
    conduit = ctx.conduit(repo_id)
    importer.remove_units(conduit, units, {**(doc.config or {}), **(override_config or {})})
    conduit.update_counts(removed=True)
    return _summary(units)
