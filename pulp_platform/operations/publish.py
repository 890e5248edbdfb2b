"""Publishing a repository through one of its distributors."""

from __future__ import annotations

from typing import Any

from pulp_platform.errors import InvalidValue, MissingResource
from pulp_platform.models.content import now
from pulp_platform.models.repository import RepoDistributor
from pulp_platform.operations import history
from pulp_platform.tasking.reports import iso
from pulp_platform.tasking.runner import TaskContext


def publish_distributor(ctx: TaskContext, dist: RepoDistributor,
                        override_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one distributor's ``publish_repo``; returns Pulp 2's publish report."""
    cls = ctx.plugins().distributors.get(dist.distributor_type_id)
    if cls is None:
        raise InvalidValue("distributor_type_id", reason=f"distributor type {dist.distributor_type_id!r} "
                                                          "is not installed")
    config = {**(dist.config or {}), **(override_config or {})}
    started = now()
    try:
        summary = cls().publish_repo(ctx.conduit(dist.repo_id), config)
    except Exception as exc:
        history.record_publish(dist, config, started, now(), exc=exc)
        raise
    completed = now()
    dist.update(set__last_publish=completed)
    history.record_publish(dist, config, started, completed, summary=summary or {})
    return {"repo_id": dist.repo_id, "distributor_id": dist.distributor_id,
            "distributor_type_id": dist.distributor_type_id, "result": "success", "summary": summary or {},
            "details": {}, "started": iso(started), "completed": iso(completed),
            "error_message": None, "exception": None, "traceback": None}


def publish(ctx: TaskContext, repo_id: str, distributor_id: str,
            override_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Task: publish ``repo_id`` with distributor ``distributor_id``."""
    dist = RepoDistributor.objects(repo_id=repo_id, distributor_id=distributor_id).first()
    if dist is None:
        raise MissingResource(repository=repo_id, distributor=distributor_id)
    return publish_distributor(ctx, dist, override_config)


def auto_publish(ctx: TaskContext, repo_id: str) -> list[dict[str, Any]]:
    """Publish through every distributor of the repository marked ``auto_publish``."""
    return [publish_distributor(ctx, dist) for dist in RepoDistributor.objects(repo_id=repo_id, auto_publish=True)]
