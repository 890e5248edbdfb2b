"""Queueing tasks and canceling them; used by the API and by plugins that spawn tasks."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import Celery

from pulp_platform.diskspace import InsufficientStorage, is_disk_full
from pulp_platform.errors import MissingResource, PulpException
from pulp_platform.models.content import now
from pulp_platform.models.task import CANCELED, UNFINISHED_STATES, WAITING, TaskStatus, next_sequence
from pulp_platform.tasking.celery_app import send
from pulp_platform.tasking.runner import failure

log = logging.getLogger(__name__)


class QueueingFailed(PulpException):
    """The broker refused the task's message."""


def dispatch(app: Celery, operation: str, args: dict[str, Any], *, tags: list[str],
             resource: str | None = None, task_type: str | None = None) -> str:
    """Record a waiting task that runs ``operation`` (``module:function``) with ``args``; returns its id.

    ``resource`` (``repository:<id>``) makes the task wait for earlier tasks on the same resource.
    """
    task_id = str(uuid.uuid4())
    TaskStatus._get_collection().insert_one({
        "_id": task_id,
        "task_type": task_type or operation.replace(":", "."),
        "operation": operation,
        "args": args,
        "resource": resource,
        "sequence": next_sequence(),
        "state": WAITING,
        "worker_name": None,
        "tags": tags,
        "progress_report": {},
        "result": None,
        "error": None,
        "exception": None,
        "traceback": None,
        "spawned_tasks": [],
        "queued_time": now(),
        "start_time": None,
        "finish_time": None,
    })
    try:
        send(app, task_id)
    except Exception as exc:
        # Without its message the task would wait forever and block its resource: fail it now.
        TaskStatus._get_collection().update_one({"_id": task_id, "state": WAITING}, {"$set": failure(exc)})
        log.error("could not queue task %s: %s", task_id, exc)
        if is_disk_full(exc):  # the embedded broker's SQLite file sits on a full disk
            raise InsufficientStorage("the task's message", "the broker's disk is full") from exc
        raise QueueingFailed(f"could not queue the task: {exc}") from exc
    return task_id


def cancel(task_id: str) -> None:
    """Cancel a waiting or running task; a finished one is left as it is (Pulp 2 answered 200 too)."""
    tasks = TaskStatus._get_collection()
    changed = tasks.update_one({"_id": task_id, "state": {"$in": list(UNFINISHED_STATES)}},
                               {"$set": {"state": CANCELED, "finish_time": now()}})
    if changed.matched_count == 0 and tasks.find_one({"_id": task_id}, {"_id": 1}) is None:
        raise MissingResource(task_id=task_id)
    if changed.modified_count:
        log.info("task %s canceled", task_id)
