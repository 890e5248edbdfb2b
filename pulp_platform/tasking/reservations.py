"""Per-resource locks: one running task per resource, taken in the order tasks were queued.

A lock is a ``reserved_resources`` document whose ``_id`` is the resource name, so inserting it is
atomic everywhere MongoDB is. A task may take it only when no task queued earlier on the same
resource is still unfinished, which makes the order first in, first out.

``GLOBAL`` excludes every other resource (orphan removal must not delete a unit that an import is
about to associate): a global task waits for every earlier task with a resource, and every task with
a resource waits for an earlier global one.
"""

from __future__ import annotations

from pymongo.errors import DuplicateKeyError

from pulp_platform.models.content import now
from pulp_platform.models.task import UNFINISHED_STATES, ReservedResource, TaskStatus

GLOBAL = "global"


def repository_resource(repo_id: str) -> str:
    return f"repository:{repo_id}"


def acquire(resource: str, task_id: str, sequence: int, worker_name: str) -> bool:
    """Take ``resource`` for a task; False when it must wait (an earlier task or a holder exists)."""
    blocking = {"$ne": None} if resource == GLOBAL else {"$in": [resource, GLOBAL]}
    earlier = TaskStatus._get_collection().find_one(
        {"resource": blocking, "sequence": {"$lt": sequence}, "state": {"$in": list(UNFINISHED_STATES)}},
        {"_id": 1})
    if earlier is not None:
        return False
    locks = ReservedResource._get_collection()
    try:
        locks.insert_one({"_id": resource, "task_id": task_id, "worker_name": worker_name, "taken_at": now()})
    except DuplicateKeyError:
        holder = locks.find_one({"_id": resource}, {"task_id": 1})
        return holder is not None and holder["task_id"] == task_id
    return True


def release(resource: str, task_id: str) -> None:
    """Free ``resource`` if this task still holds it (the reaper may already have freed it)."""
    ReservedResource._get_collection().delete_one({"_id": resource, "task_id": task_id})


def release_worker(worker_name: str) -> int:
    """Free every lock a (dead) worker held."""
    return ReservedResource._get_collection().delete_many({"worker_name": worker_name}).deleted_count
