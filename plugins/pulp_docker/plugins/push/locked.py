"""Run a push step as a task under the repository's lock and wait for it, from a request handler.

The platform's per-repository lock serialises a manifest PUT with every other task on the repository
(an import, a publish, another PUT), first in, first out; blob uploads never take it. The handler
waits for the task and answers with its result: what the client is told "created" is in the database.
"""

from __future__ import annotations

import time
from typing import Any

from pulp_platform.models.task import ERROR, FINISHED, TaskStatus
from pulp_platform.tasking.dispatch import dispatch
from pulp_platform.tasking.reservations import repository_resource
from pulp_platform.webapi.endpoint import ApiState

# Seconds between looks at the task: a manifest PUT's task runs for about 50 ms, and every client
# push waits for it, so the wait stays short (a look is one find_one by _id); it backs off to
# POLL_MAX, and after SLOW_AFTER seconds to POLL_SLOW for the rare long one (a PUT queued behind an
# import on the same repository).
POLL = 0.005
POLL_MAX = 0.02
SLOW_AFTER = 2.0
POLL_SLOW = 0.2
TIMEOUT = 600.0


class StepFailed(Exception):
    """The task ended in error; ``error`` is its Pulp error body (``code``, ``description``, ``sub_errors``)."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("description") or error.get("code") or "the push step failed")
        self.error = error


def run_locked(api: ApiState, repo_id: str, function: str, **args: Any) -> Any:
    """Run ``pulp_docker.plugins.push.operations.<function>(**args)`` under the repository's lock."""
    task_id = dispatch(api.celery, f"pulp_docker.plugins.push.operations:{function}", {"repo_id": repo_id, **args},
                       resource=repository_resource(repo_id), tags=[f"pulp:repository:{repo_id}",
                                                                    f"pulp:action:push_{function}"],
                       task_type=f"pulp_docker.push.{function}")
    tasks = TaskStatus._get_collection()
    started = time.monotonic()
    deadline = started + TIMEOUT
    delay = POLL
    while time.monotonic() < deadline:
        doc = tasks.find_one({"_id": task_id}, {"state": 1, "result": 1, "error": 1})
        if doc and doc["state"] == FINISHED:
            return doc.get("result")
        if doc and doc["state"] == ERROR:
            raise StepFailed(doc.get("error") or {})
        if doc and doc["state"] not in ("waiting", "running"):
            raise StepFailed({"code": "PLP0000", "description": f"the push step was {doc['state']}"})
        time.sleep(delay)
        delay = POLL_SLOW if time.monotonic() - started > SLOW_AFTER else min(delay * 1.5, POLL_MAX)
    raise StepFailed({"code": "PLP0000", "description": f"the push step (task {task_id}) did not finish in time"})
