"""Copying units into a repository from another, and removing units from a repository.

The importer of the target repository decides what a unit brings with it (or takes with it); the
platform finds the units the criteria match, recounts, and publishes through the distributors marked
``auto_publish``, as an upload or a sync does, so the registry serves the change at once.
"""

from __future__ import annotations

from typing import Any

from pulp_platform.errors import InvalidValue
from pulp_platform.models.content import ContentUnit
from pulp_platform.operations.publish import auto_publish
from pulp_platform.operations.repositories import get_repository
from pulp_platform.operations.units import find_units, parse_criteria
from pulp_platform.operations.upload import repository_importer
from pulp_platform.plugin_api import Importer
from pulp_platform.tasking.runner import TaskContext


def _summary(units: list[ContentUnit]) -> dict[str, Any]:
    return {"units_successful": [{"type_id": u.type_id, "unit_key": u.unit_key} for u in units]}


def _check_types(importer: Importer, units: list[ContentUnit]) -> None:
    """InvalidValue when the criteria matched units of a type the target's importer does not take."""
    if not importer.unit_types:
        return
    foreign = sorted({u.type_id for u in units} - set(importer.unit_types))
    if foreign:
        raise InvalidValue("criteria", reason=f"importer {importer.type_id!r} does not take units of type "
                                              f"{', '.join(foreign)}; it takes {', '.join(importer.unit_types)}")


def associate(ctx: TaskContext, repo_id: str, source_repo_id: str, criteria: dict[str, Any] | None = None,
              override_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Task: copy the units of ``source_repo_id`` matching ``criteria`` into ``repo_id`` via its importer,
    recount, auto-publish; the result lists every unit copied (``units_successful``)."""
    doc, importer = repository_importer(ctx, repo_id)
    get_repository(source_repo_id)
    units = find_units(source_repo_id, parse_criteria(criteria, ctx.plugins()), ctx.plugins())
    _check_types(importer, units)
    conduit = ctx.conduit(repo_id)
    done = importer.import_units(conduit, ctx.conduit(source_repo_id), units,
                                 {**(doc.config or {}), **(override_config or {})})
    conduit.update_counts(added=True)
    auto_publish(ctx, repo_id)
    return _summary(list(done or []))


def unassociate(ctx: TaskContext, repo_id: str, criteria: dict[str, Any] | None = None,
                override_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Task: remove the units matching ``criteria`` from ``repo_id`` (the units stay, maybe as orphans),
    recount, auto-publish; the result lists every unit removed, those the importer took with them too."""
    doc, importer = repository_importer(ctx, repo_id)
    units = find_units(repo_id, parse_criteria(criteria, ctx.plugins()), ctx.plugins())
    conduit = ctx.conduit(repo_id)
    removed = importer.remove_units(conduit, units, {**(doc.config or {}), **(override_config or {})})
    conduit.update_counts(removed=True)
    auto_publish(ctx, repo_id)
    return _summary(units if removed is None else list(removed))
