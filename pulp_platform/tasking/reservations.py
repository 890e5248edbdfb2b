"""Per-resource locks: one running task per resource, taken in the order tasks were queued.

A lock is a ``reserved_resources`` document whose ``_id`` is the resource name, so inserting it is
atomic everywhere MongoDB is. A task may take it only when no task queued earlier on the same
resource is still unfinished, which makes the order first in, first out.

``GLOBAL`` excludes every other resource (orphan removal must not delete a unit that an import is
about to associate): a global task waits for every earlier task with a resource, and every task with
a resource waits for an earlier global one.

Each lock carries a fencing token, a new ObjectId per reservation, also stored on the task: a task
whose lock was released (the reaper declared it dead) finds a different token or none at its next
write, and may not commit (``fencing``).
"""

from __future__ import annotations

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from pulp_platform.models.content import now
from pulp_platform.models.task import UNFINISHED_STATES, ReservedResource, TaskStatus

GLOBAL = "global"


def repository_resource(repo_id: str) -> str:
    return f"repository:{repo_id}"


def acquire(resource: str, task_id: str, sequence: int, worker_name: str) -> str | None:
    """Take ``resource`` for a task; returns the reservation's token, None when it must wait."""
    blocking = {"$ne": None} if resource == GLOBAL else {"$in": [resource, GLOBAL]}
    earlier = TaskStatus._get_collection().find_one(
        {"resource": blocking, "sequence": {"$lt": sequence}, "state": {"$in": list(UNFINISHED_STATES)}},
        {"_id": 1})
    if earlier is not None:
        return None
    locks = ReservedResource._get_collection()
    token = str(ObjectId())
    try:
        locks.insert_one({"_id": resource, "task_id": task_id, "worker_name": worker_name, "taken_at": now(),
                          "token": token})
    except DuplicateKeyError:
        holder = locks.find_one({"_id": resource}, {"task_id": 1, "token": 1})
        if holder is not None and holder["task_id"] == task_id:
            return holder.get("token") or ""
        return None
    return token


def release(resource: str, task_id: str, token: str | None = None) -> None:
    """Free ``resource`` if this task (with this token) still holds it (the reaper may have freed it)."""
    query = {"_id": resource, "task_id": task_id}
    if token is not None:
        query["token"] = token
    ReservedResource._get_collection().delete_one(query)


def release_task(task_id: str) -> int:
    """Free every lock a (dead) task held."""
    return ReservedResource._get_collection().delete_many({"task_id": task_id}).deleted_count


def release_worker(worker_name: str) -> int:
    """Free every lock a (dead) worker held."""
    return ReservedResource._get_collection().delete_many({"worker_name": worker_name}).deleted_count
