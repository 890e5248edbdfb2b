"""Fencing: a task that was declared failed, or lost its reservation, can no longer commit.

A reservation (``reservations.acquire``) carries a token, stored on the lock and on the task. Before
every write a client would see (an association, a unit overwritten, the final recount) the conduit
asks ``TaskOwner.check``: the lock must still be this task's with this token (a conditional update,
so it is ordered with the reaper's release) and the task must still be ``running``. The reaper fails a
task before it releases its lock, so a task that stalled past the worker timeout finds either one gone
at its next write, raises ``ReservationLost`` and undoes what it wrote (``journal.roll_back``). Before
each such write the conduit also records the intent in the task's journal, on the condition that the
journal was not closed by someone rolling it back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from pulp_platform.errors import PLP0053, PulpCodedException
from pulp_platform.models.content import now
from pulp_platform.models.journal import TaskJournal
from pulp_platform.models.task import CANCELED, RUNNING, ReservedResource, TaskStatus
from pulp_platform.tasking.liveness import identity

log = logging.getLogger(__name__)


def to_millis(value: Any) -> Any:
    """``value`` with every datetime cut to milliseconds, as BSON stores it (so it can be matched later)."""
    if isinstance(value, datetime):
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    if isinstance(value, dict):
        return {k: to_millis(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_millis(v) for v in value]
    return value


class ReservationLost(PulpCodedException):
    """The task was declared failed or its reservation was released: it must not commit."""

    def __init__(self, reason: str) -> None:
        super().__init__(PLP0053, http_status=409, reason=reason)


@dataclass(frozen=True)
class TaskOwner:
    """A running task's claim on its resource: what the conduit checks and journals its writes under."""

    task_id: str
    token: str
    resource: str | None
    worker_name: str

    def check(self) -> None:
        """Raise ReservationLost unless this task still holds its reservation and runs (or is being canceled)."""
        if self.resource:
            held = ReservedResource._get_collection().update_one(
                {"_id": self.resource, "task_id": self.task_id, "token": self.token},
                {"$set": {"checked_at": now()}})
            if held.matched_count == 0:
                self._lost(f"the lock on {self.resource} is no longer its own")
        doc = TaskStatus._get_collection().find_one({"_id": self.task_id}, {"state": 1, "reservation_token": 1})
        if doc is None or doc.get("reservation_token") != self.token:
            self._lost("the task's reservation changed")
        # A canceled task still holds its lock until it ends: it may undo what it did, and its final
        # transition (conditional on ``running``) will not mark it finished.
        if doc["state"] not in (RUNNING, CANCELED):
            self._lost(f"the task is {doc['state']}")

    def intend(self, kind: str, *entries: dict[str, Any]) -> None:
        """Append ``entries`` to the journal's ``kind`` list (``associations`` or ``updates``) before writing them."""
        try:
            TaskJournal._get_collection().update_one(
                {"_id": self.task_id, "token": self.token, "closed": {"$ne": True}},
                {"$push": {kind: {"$each": list(entries)}},
                 "$setOnInsert": {"worker_name": self.worker_name, "owner": identity(), "created": now()}},
                upsert=True)
        except DuplicateKeyError:
            # A journal of this id exists but did not match: closed by a rollback, or another token's.
            self._lost("its journal was closed by a rollback")

    def _lost(self, reason: str) -> None:
        log.warning("task %s may not commit: %s", self.task_id, reason)
        TaskStatus._get_collection().update_one({"_id": self.task_id}, {"$set": {"fenced_at": now()}})
        raise ReservationLost(reason)

    def journal_associations(self, repo_id: str, units: list[tuple[str, str]]) -> None:
        """Journal that ``units`` (type id, unit id) are about to be associated with ``repo_id``."""
        self.intend("associations", *({"repo_id": repo_id, "unit_type_id": type_id, "unit_id": unit_id}
                                      for type_id, unit_id in units))

    def journal_update(self, collection: Any, key: dict[str, Any], fields: dict[str, Any],
                       repo_id: str) -> dict[str, Any]:
        """Journal that the unit matching ``key`` is about to get ``fields``; returns the fields to write.

        Datetimes are cut to what BSON keeps, so that a rollback can tell whether the stored value is
        still this task's. A unit that does not exist yet needs no entry: created and then left
        unassociated, it is an orphan.
        """
        fields = to_millis(fields)
        previous = collection.find_one(key)
        if previous is None:
            return fields
        before = {name: previous[name] for name in fields if name in previous and previous[name] != fields[name]}
        unset = [name for name in fields if name not in previous]
        if before or unset:
            after = {name: fields[name] for name in [*before, *unset]}
            self.intend("updates", {"repo_id": repo_id, "collection": collection.name, "unit_id": previous["_id"],
                                    "before": before, "unset": unset, "after": after})
        return fields
