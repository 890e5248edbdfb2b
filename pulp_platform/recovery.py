"""Crash recovery: what a server, or one of its workers, killed mid-task left behind is taken back.

Run once at start (``server_cli.prepare_database``, and by a ``pulp-server worker`` started on its
own), and in part by every worker's heartbeat pass. Nothing here touches the work of a process that
may still be alive: a worker counts as dead when the kernel says its pid is gone (same machine) or its
heartbeat is older than ``worker_timeout`` (another machine), see ``tasking.liveness``.

1. Tasks of dead workers: a ``running`` one becomes ``error`` (PLP0052, "the server stopped while the
   task ran"), one taken but not started is queued again, and their locks are released.
2. Journals (``models.journal``) of tasks that did not finish and whose writer is dead are rolled back:
   the associations the task created and the unit fields it overwrote (a tag it moved) are undone,
   and each repository touched is auto-published again, so the registry serves what it holds.
   The journal of a task that did finish is only dropped (the crash came after the commit).
3. Staging: ``tmp/task-<id>`` dirs of tasks whose worker is dead, loose staged files (no code stages
   outside a task dir but push sessions), and registry blob-upload files whose session is gone (older
   than ``SESSION_FILE_GRACE``) are removed. Platform uploads (``uploads/``) are Pulp 2
   uploads that live until deleted, and are not touched; what was read of them as they arrived
   (``tmp/stream-<id>``, ``upload_streams``) stays if the stream finished; any other first puts back
   the bytes it handed over (``upload_holes``), then goes: their imports read the uploads anew.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pulp_platform import upload_streams
from pulp_platform.config import Settings
from pulp_platform.errors import PLP0052, PulpCodedException
from pulp_platform.models.journal import TaskJournal
from pulp_platform.models.repository import RepoDistributor
from pulp_platform.models.task import FINISHED, RUNNING, WAITING, TaskStatus, Worker
from pulp_platform.storage import TASK_STAGING_PREFIX
from pulp_platform.tasking import journal, workers
from pulp_platform.tasking.liveness import owner_alive, process_alive, worker_alive
from pulp_platform.upload_streams import STREAM_PREFIX
from pulp_platform.uploads import Uploads

log = logging.getLogger(__name__)
# Loose files in the staging dir that outlive a request on purpose, and the collection whose row keeps
# each one alive: the registry's blob upload sessions (``pulp_docker.plugins.push.sessions``).
SESSION_FILES = {"push-": "docker_upload_sessions"}
# A session file younger than this may belong to a session another API process is opening right now
# (its file is created just before its row): it is left for the next start.
SESSION_FILE_GRACE = 600.0
AUTO_PUBLISH = "pulp_platform.operations.publish:auto_publish"
_recovered = False


def recover(settings: Settings) -> dict[str, Any]:
    """Start-up recovery (once per process); returns what it did."""
    global _recovered
    if _recovered:
        return {}
    _recovered = True
    from pulp_platform.tasking.celery_app import create_app, send

    app = create_app(settings)
    report = {
        "tasks_failed": fail_dead_tasks(settings.worker_timeout, lambda task_id: send(app, task_id)),
        "workers_forgotten": forget_dead_workers(),
        "repositories_rolled_back": sorted(roll_back_dead_journals(settings.worker_timeout,
                                                                   republisher(app))),
        "staged_removed": sweep_staging(settings.content_path, settings.worker_timeout,
                                        uploads=Uploads(settings.upload_path)),
    }
    if any(report.values()):
        log.warning("recovered from an unclean stop: %s", report)
    return report


def periodic(settings: Settings, republish: Callable[[str], None]) -> None:
    """What a worker's heartbeat pass adds to reaping: undo dead tasks' journals, drop their staging."""
    roll_back_dead_journals(settings.worker_timeout, republish)
    sweep_task_staging(settings.content_path, settings.worker_timeout)


def fail_dead_tasks(worker_timeout: float, requeue: Callable[[str], None]) -> list[str]:
    """Fail the running tasks of dead workers (PLP0052), re-queue those they had taken; returns task ids."""
    tasks = TaskStatus._get_collection()
    names = tasks.distinct("worker_name", {"state": {"$in": [RUNNING, WAITING]}, "worker_name": {"$ne": None}})
    failed: list[str] = []
    for name in names:
        if worker_alive(name, worker_timeout):
            continue
        error = PulpCodedException(PLP0052, http_status=500, worker_name=name)
        failed += workers.reap_worker(name, None, requeue, error=error)
    return failed


def forget_dead_workers() -> list[str]:
    """Remove the records of workers this machine knows to be dead (so status does not list them)."""
    gone = [doc["_id"] for doc in Worker._get_collection().find({}, {"process": 1})
            if process_alive(doc.get("process")) is False]
    if gone:
        Worker._get_collection().delete_many({"_id": {"$in": gone}})
    return gone


def roll_back_dead_journals(worker_timeout: float, republish: Callable[[str], None] | None = None) -> set[str]:
    """Undo the journals of unfinished tasks whose writer is dead; returns the repositories changed."""
    changed: set[str] = set()
    tasks = TaskStatus._get_collection()
    for doc in TaskJournal._get_collection().find({}, {"owner": 1, "worker_name": 1}):
        task = tasks.find_one({"_id": doc["_id"]}, {"state": 1}) or {}
        if task.get("state") == FINISHED:
            journal.discard(doc["_id"])  # it committed; the crash came before its journal was dropped
            continue
        if task.get("state") == RUNNING:
            continue  # its worker is alive, or will be reaped first
        if owner_alive(doc.get("owner"), doc.get("worker_name"), worker_timeout):
            continue  # declared dead but still running (stalled): it undoes itself when it notices
        changed |= journal.roll_back(doc["_id"])
    if republish is not None:
        for repo_id in sorted(changed):
            republish(repo_id)
    return changed


def republisher(app: Any) -> Callable[[str], None]:
    """Queue an auto-publish of a repository whose content a rollback changed (if it auto-publishes)."""
    from pulp_platform.tasking.dispatch import dispatch
    from pulp_platform.tasking.reservations import repository_resource

    def republish(repo_id: str) -> None:
        if RepoDistributor._get_collection().find_one({"repo_id": repo_id, "auto_publish": True}) is None:
            return
        try:
            dispatch(app, AUTO_PUBLISH, {"repo_id": repo_id}, tags=[f"pulp:repository:{repo_id}",
                                                                   "pulp:action:auto_publish"],
                     resource=repository_resource(repo_id))
        except Exception:  # noqa: BLE001 - the next publish serves the right content anyway
            log.exception("could not queue the auto-publish of %s after a rollback", repo_id)

    return republish


def sweep_staging(content_path: Path, worker_timeout: float, *, session_grace: float = SESSION_FILE_GRACE,
                  uploads: Uploads | None = None) -> int:
    """Remove what no live task or session will commit from the staging dir; returns how many entries.

    Upload streams (with ``uploads``) are settled by ``upload_streams.recover``: a finished one stays."""
    removed = sweep_task_staging(content_path, worker_timeout)
    tmp = content_path / "tmp"
    if not tmp.is_dir():
        return removed
    database = TaskStatus._get_db()
    for entry in tmp.iterdir():
        if entry.name.startswith(TASK_STAGING_PREFIX) and entry.is_dir():
            continue
        prefix = next((p for p in SESSION_FILES if entry.name.startswith(p)), None)
        if prefix and database[SESSION_FILES[prefix]].find_one({"_id": entry.name[len(prefix):]}, {"_id": 1}):
            continue
        if uploads is not None and entry.name.startswith(STREAM_PREFIX) and "." not in entry.name:
            try:
                removed += upload_streams.recover(entry, uploads)
            except OSError:
                log.exception("could not give upload %s its bytes back; its stream dir stays", entry.name)
            continue
        try:
            if prefix and time.time() - entry.stat().st_mtime < session_grace:
                continue
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except FileNotFoundError:
            continue
        removed += 1
    return removed


def sweep_task_staging(content_path: Path, worker_timeout: float) -> int:
    """Remove ``tmp/task-<id>`` dirs whose task's worker is dead (a live one removes its own)."""
    tmp = content_path / "tmp"
    if not tmp.is_dir():
        return 0
    removed = 0
    tasks = TaskStatus._get_collection()
    for entry in tmp.glob(f"{TASK_STAGING_PREFIX}*"):
        task = tasks.find_one({"_id": entry.name[len(TASK_STAGING_PREFIX):]}, {"worker_name": 1}) or {}
        if worker_alive(task.get("worker_name"), worker_timeout):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed += 1
    return removed
