"""What a worker does with one ``pulp.run_task`` message."""

from __future__ import annotations

import importlib
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from pulp_platform import plugin_api
from pulp_platform.config import Settings
from pulp_platform.errors import error_dict
from pulp_platform.models.content import now
from pulp_platform.models.task import CANCELED, ERROR, FINISHED, RUNNING, WAITING, TaskStatus
from pulp_platform.storage import ContentStore, remove_task_staging
from pulp_platform.tasking import journal, reservations
from pulp_platform.tasking.fencing import ReservationLost, TaskOwner

log = logging.getLogger(__name__)
# How long a task blocked on its resource waits before going back to the queue.
REQUEUE_DELAY = 0.1


@dataclass
class TaskContext:
    """What an operation gets besides its JSON arguments."""

    task_id: str
    settings: Settings
    owner: TaskOwner | None = None

    def set_progress(self, report: dict[str, Any]) -> None:
        TaskStatus._get_collection().update_one(
            {"_id": self.task_id, "state": RUNNING}, {"$set": {"progress_report": report}})

    def is_canceled(self) -> bool:
        """True once the task is no longer ``running``: canceled, or failed by the dead-worker reaper."""
        doc = TaskStatus._get_collection().find_one({"_id": self.task_id}, {"state": 1})
        return doc is None or doc["state"] != RUNNING

    def conduit(self, repo_id: str) -> plugin_api.Conduit:
        """A conduit whose visible writes are fenced and journaled, staging into this task's own dir."""
        return plugin_api.Conduit(repo_id, ContentStore(self.settings.content_path, self.task_id),
                                  progress=self.set_progress, canceled=self.is_canceled, owner=self.owner)

    def plugins(self) -> plugin_api.Plugins:
        return plugin_api.plugins(self.settings.plugin_modules)


def resolve(operation: str) -> Callable[..., Any]:
    """``package.module:function`` -> the function."""
    module, _, name = operation.partition(":")
    return getattr(importlib.import_module(module), name)


def execute(task_id: str, settings: Settings, worker_name: str, requeue: Callable[[], None]) -> None:
    """Run task ``task_id`` if it is waiting and its resource is free; else re-queue or drop the message."""
    tasks = TaskStatus._get_collection()
    doc = tasks.find_one_and_update({"_id": task_id, "state": WAITING}, {"$set": {"worker_name": worker_name}})
    if doc is None:
        # Canceled while waiting, already run (a duplicate message), or unknown: nothing to do.
        return
    resource = doc.get("resource")
    token = reservations.acquire(resource, task_id, doc["sequence"], worker_name) if resource else str(ObjectId())
    if token is None:
        time.sleep(REQUEUE_DELAY)
        requeue()
        return
    try:
        claimed = tasks.find_one_and_update(
            {"_id": task_id, "state": WAITING},
            {"$set": {"state": RUNNING, "start_time": now(), "worker_name": worker_name,
                      "reservation_token": token}})
        if claimed is not None:
            _run(claimed, TaskContext(task_id, settings, TaskOwner(task_id, token, resource, worker_name)))
    finally:
        if resource:
            reservations.release(resource, task_id, token)


def _run(doc: dict[str, Any], ctx: TaskContext) -> None:
    """Run the operation; ``finished`` is the commit point, after which the task's journal is dropped.

    A task fenced off (declared failed, its lock released) undoes what it wrote, as does one whose
    final transition finds it no longer ``running``. Other failures leave the undoing to the plugin
    (the docker ingest is all or nothing by itself), as they always did.
    """
    tasks = TaskStatus._get_collection()
    task_id = doc["_id"]
    token = ctx.owner.token if ctx.owner else None
    log.info("task %s (%s) started", task_id, doc["operation"])
    try:
        result = resolve(doc["operation"])(ctx, **(doc.get("args") or {}))
    except plugin_api.Canceled:
        log.info("task %s canceled", task_id)
        _end(ctx, {"state": CANCELED, "finish_time": now()})
        return
    except ReservationLost as exc:
        log.warning("task %s lost its reservation and was stopped: %s", task_id, exc)
        _abort(ctx, failure(exc))
        return
    except Exception as exc:  # noqa: BLE001 - any failure of an operation becomes the task's error
        log.warning("task %s failed: %s", task_id, exc, exc_info=True)
        _end(ctx, failure(exc))
        return
    remove_task_staging(ctx.settings.content_path, task_id)
    changed = tasks.update_one({"_id": task_id, "state": RUNNING, "reservation_token": token},
                               {"$set": {"state": FINISHED, "result": result, "finish_time": now()}})
    if changed.modified_count:
        journal.discard(task_id)
        log.info("task %s finished", task_id)
        return
    # Canceled, or declared dead, between its last write and now: it did not finish, so nothing stays.
    log.warning("task %s was no longer running when it finished; undoing its writes", task_id)
    tasks.update_one({"_id": task_id}, {"$set": {"fenced_at": now()}})
    journal.roll_back(task_id)


def _end(ctx: TaskContext, fields: dict[str, Any]) -> None:
    """A task that ends without finishing: its plugin undid what it chose to; the journal is dropped.

    Unless the task was declared dead meanwhile (it may notice that as a cancellation, or fail for
    another reason while stalled): then nothing of it stays, as for a fenced task.
    """
    state = (TaskStatus._get_collection().find_one({"_id": ctx.task_id}, {"state": 1}) or {}).get("state")
    if state not in (RUNNING, CANCELED):
        log.warning("task %s was declared %s while it ran; undoing its writes", ctx.task_id, state)
        _abort(ctx, {})
        return
    remove_task_staging(ctx.settings.content_path, ctx.task_id)
    journal.discard(ctx.task_id)
    TaskStatus._get_collection().update_one({"_id": ctx.task_id, "state": RUNNING}, {"$set": fields})


def _abort(ctx: TaskContext, fields: dict[str, Any]) -> None:
    """A fenced task: everything it journaled is undone; it is failed if nobody failed it yet."""
    journal.roll_back(ctx.task_id)
    remove_task_staging(ctx.settings.content_path, ctx.task_id)
    if fields:
        TaskStatus._get_collection().update_one({"_id": ctx.task_id, "state": RUNNING}, {"$set": fields})


def failure(exc: BaseException) -> dict[str, Any]:
    """The fields of a task report that failed with ``exc``."""
    return {
        "state": ERROR,
        "error": error_dict(exc),
        "exception": "".join(traceback.format_exception_only(type(exc), exc)).strip(),
        "traceback": traceback.format_exception(type(exc), exc, exc.__traceback__),
        "finish_time": now(),
    }
