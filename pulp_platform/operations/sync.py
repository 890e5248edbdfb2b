"""Syncing a repository from its importer's feed (``actions/sync/``)."""

from __future__ import annotations

from typing import Any

from pulp_platform.models.content import now
from pulp_platform.operations.publish import auto_publish
from pulp_platform.operations.upload import repository_importer
from pulp_platform.tasking.runner import TaskContext


def sync(ctx: TaskContext, repo_id: str, override_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Task: run the importer's ``sync_repo``, recount, record ``last_sync``, auto-publish; returns its report."""
    doc, importer = repository_importer(ctx, repo_id)
    importer.validate_config({**(doc.config or {}), **(override_config or {})})
    conduit = ctx.conduit(repo_id)
    report = importer.sync_repo(conduit, {**(doc.config or {}), **(override_config or {})})
    conduit.update_counts(added=True, removed=True)
    doc.update(set__last_sync=now(), set__last_override_config=override_config or {})
    auto_publish(ctx, repo_id)
    return report
