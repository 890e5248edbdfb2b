"""What a worker does with one ``pulp.run_task`` message."""

from __future__ import annotations

import importlib
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pulp_platform import plugin_api
from pulp_platform.config import Settings
from pulp_platform.errors import error_dict
from pulp_platform.models.content import now
from pulp_platform.models.task import CANCELED, ERROR, FINISHED, RUNNING, WAITING, TaskStatus
from pulp_platform.storage import ContentStore
from pulp_platform.tasking import reservations

log = logging.getLogger(__name__)
# How long a task blocked on its resource waits before going back to the queue.
REQUEUE_DELAY = 0.1


@dataclass
class TaskContext:
    """What an operation gets besides its JSON arguments."""

    task_id: str
    settings: Settings

    def set_progress(self, report: dict[str, Any]) -> None:
        TaskStatus._get_collection().update_one(
            {"_id": self.task_id, "state": RUNNING}, {"$set": {"progress_report": report}})

    def is_canceled(self) -> bool:
        """True once the task is no longer ``running``: canceled, or failed by the dead-worker reaper."""
        doc = TaskStatus._get_collection().find_one({"_id": self.task_id}, {"state": 1})
        return doc is None or doc["state"] != RUNNING

    def conduit(self, repo_id: str) -> plugin_api.Conduit:
        return plugin_api.Conduit(repo_id, ContentStore(self.settings.content_path),
                                  progress=self.set_progress, canceled=self.is_canceled)

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
    if resource and not reservations.acquire(resource, task_id, doc["sequence"], worker_name):
        time.sleep(REQUEUE_DELAY)
        requeue()
        return
    try:
        claimed = tasks.find_one_and_update(
            {"_id": task_id, "state": WAITING},
            {"$set": {"state": RUNNING, "start_time": now(), "worker_name": worker_name}})
        if claimed is not None:
            _run(claimed, TaskContext(task_id, settings))
    finally:
        if resource:
            reservations.release(resource, task_id)


def _run(doc: dict[str, Any], ctx: TaskContext) -> None:
    tasks = TaskStatus._get_collection()
    task_id = doc["_id"]
    log.info("task %s (%s) started", task_id, doc["operation"])
    try:
        result = resolve(doc["operation"])(ctx, **(doc.get("args") or {}))
        changed = tasks.update_one({"_id": task_id, "state": RUNNING},
                                   {"$set": {"state": FINISHED, "result": result, "finish_time": now()}})
    except plugin_api.Canceled:
        log.info("task %s canceled", task_id)
        tasks.update_one({"_id": task_id, "state": RUNNING}, {"$set": {"state": CANCELED, "finish_time": now()}})
        return
    except Exception as exc:  # noqa: BLE001 - any failure of an operation becomes the task's error
        log.warning("task %s failed: %s", task_id, exc, exc_info=True)
        tasks.update_one({"_id": task_id, "state": RUNNING}, {"$set": failure(exc)})
        return
    if changed.modified_count:
        log.info("task %s finished", task_id)


def failure(exc: BaseException) -> dict[str, Any]:
    """The fields of a task report that failed with ``exc``."""
    return {
        "state": ERROR,
        "error": error_dict(exc),
        "exception": "".join(traceback.format_exception_only(type(exc), exc)).strip(),
        "traceback": traceback.format_exception(type(exc), exc, exc.__traceback__),
        "finish_time": now(),
    }
