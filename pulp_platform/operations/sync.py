"""Syncing a repository from its importer's feed (``actions/sync/``)."""

from __future__ import annotations

from typing import Any

from pulp_platform.models.content import now
from pulp_platform.operations import history
from pulp_platform.operations.publish import auto_publish
from pulp_platform.operations.upload import repository_importer
from pulp_platform.tasking.runner import TaskContext


def sync(ctx: TaskContext, repo_id: str, override_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Task: run the importer's ``sync_repo``, recount, record ``last_sync`` and the sync's history entry,
    auto-publish; returns the importer's report."""
    doc, importer = repository_importer(ctx, repo_id)
    config = {**(doc.config or {}), **(override_config or {})}
    started, held_before = now(), history.association_count(repo_id)
    try:
        importer.validate_config(config)
        conduit = ctx.conduit(repo_id)
        report = importer.sync_repo(conduit, config)
    except Exception as exc:
        history.record_sync(doc, started, now(), held_before=held_before, exc=exc)
        raise
    conduit.update_counts(added=True, removed=True)
    completed = now()
    doc.update(set__last_sync=completed, set__last_override_config=override_config or {})
    history.record_sync(doc, started, completed, held_before=held_before, report=report)
    auto_publish(ctx, repo_id)
    return report
