"""Worker records: heartbeats, and reaping workers whose heartbeat stopped.

Every worker writes ``workers.<name>.last_heartbeat`` a few times per ``worker_timeout``. Any process
that notices a record older than that (live workers and the API both look) reaps it: the dead
worker's running tasks become ``error`` (PLP0049), the tasks it had taken but not started are queued
again, and its resource locks are released. Each step is conditional, so two reapers racing do no harm.

A heartbeat cannot tell a dead worker from one a task stalls (a C call holding the GIL starves every
thread of the process): such a worker is reaped too, and its task, should it wake, is fenced off
(``fencing``): it may not commit, and undoes what it wrote. Records carry the process's identity, so
that recovery can ask the kernel whether a worker on this machine is really gone (``liveness``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from pulp_platform.errors import PLP0049, PulpCodedException
from pulp_platform.models.content import now
from pulp_platform.models.task import RUNNING, WAITING, TaskStatus, Worker
from pulp_platform.tasking import reservations
from pulp_platform.tasking.liveness import identity
from pulp_platform.tasking.runner import failure

log = logging.getLogger(__name__)


def beat_interval(worker_timeout: float) -> float:
    return max(0.2, min(10.0, worker_timeout / 3))


def heartbeat(name: str) -> None:
    Worker._get_collection().update_one(
        {"_id": name}, {"$set": {"last_heartbeat": now(), "process": identity()}, "$setOnInsert": {"started": now()}},
        upsert=True)


def unregister(name: str) -> None:
    Worker._get_collection().delete_one({"_id": name})


def live_workers(worker_timeout: float) -> list[dict]:
    cutoff = now() - timedelta(seconds=worker_timeout)
    return list(Worker._get_collection().find({"last_heartbeat": {"$gte": cutoff}}).sort("_id", 1))


def reap(worker_timeout: float, requeue: Callable[[str], None]) -> list[str]:
    """Reap every worker whose heartbeat is older than ``worker_timeout``; returns their names."""
    cutoff = now() - timedelta(seconds=worker_timeout)
    dead = [w["_id"] for w in Worker._get_collection().find({"last_heartbeat": {"$lt": cutoff}}, {"_id": 1})]
    # Running tasks whose worker left no record at all (it never beat, or was removed by hand).
    known = set(Worker._get_collection().distinct("_id"))
    running_on = TaskStatus._get_collection().distinct("worker_name", {"state": RUNNING})
    dead += [name for name in running_on if name and name not in known]
    for name in dead:
        reap_worker(name, cutoff, requeue)
    return dead


def reap_worker(name: str, cutoff: object, requeue: Callable[[str], None], *,
                error: Exception | None = None) -> list[str]:
    """Fail worker ``name``'s running tasks (PLP0049 unless ``error``), re-queue those it had taken, free
    its locks and drop its record (only if still older than ``cutoff``, when given); returns the tasks failed.

    Tasks are failed before their locks are released: a fenced task checks its state and its lock.
    """
    tasks = TaskStatus._get_collection()
    died = failure(error or PulpCodedException(PLP0049, http_status=500, worker_name=name))
    died["traceback"] = None
    running = [doc["_id"] for doc in tasks.find({"worker_name": name, "state": RUNNING}, {"_id": 1})]
    failed = [task_id for task_id in running
              if tasks.update_one({"_id": task_id, "worker_name": name, "state": RUNNING},
                                  {"$set": died}).modified_count]
    requeued = 0
    for doc in tasks.find({"worker_name": name, "state": WAITING}, {"_id": 1}):
        # Its message died with the worker; queue it again (a duplicate message is harmless).
        if tasks.update_one({"_id": doc["_id"], "state": WAITING, "worker_name": name},
                            {"$set": {"worker_name": None}}).modified_count:
            requeue(doc["_id"])
            requeued += 1
    released = reservations.release_worker(name)
    Worker._get_collection().delete_one({"_id": name, **({"last_heartbeat": {"$lt": cutoff}} if cutoff else {})})
    log.warning("worker %s is dead: %d running task(s) failed, %d re-queued, %d lock(s) released",
                name, len(failed), requeued, released)
    return failed


class Heartbeat(threading.Thread):
    """Beats for ``name`` (if given) and reaps dead workers, every ``beat_interval`` seconds."""

    def __init__(self, name: str | None, worker_timeout: float, requeue: Callable[[str], None],
                 after_pass: Callable[[], None] | None = None) -> None:
        super().__init__(name="pulp-heartbeat", daemon=True)
        self.worker = name
        self.worker_timeout = worker_timeout
        self.requeue = requeue
        self.after_pass = after_pass  # a worker's: undo dead tasks' journals (``recovery.periodic``)
        self.stopped = threading.Event()

    def run(self) -> None:
        interval = beat_interval(self.worker_timeout)
        while not self.stopped.is_set():
            try:
                if self.worker:
                    heartbeat(self.worker)
                reap(self.worker_timeout, self.requeue)
                if self.after_pass:
                    self.after_pass()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the heartbeat
                log.exception("heartbeat/reaper pass failed")
            self.stopped.wait(interval)

    def stop(self) -> None:
        self.stopped.set()
