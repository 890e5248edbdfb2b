"""Task state as Pulp 2 kept it: task reports, resource reservations and worker heartbeats.

``task_status`` holds one document per task in Pulp 2's report shape (see ``tasking.reports``);
``reserved_resources`` holds one lock per busy resource (its ``_id`` is the resource name, so the
primary key makes taking it atomic); ``workers`` holds each worker's last heartbeat. ``counters``
hands out the monotonic sequence numbers that order tasks on one resource first in, first out.
"""

from __future__ import annotations

from typing import Any, ClassVar

import mongoengine as me
import pymongo
from pymongo.errors import DuplicateKeyError

from pulp_platform.models.content import now

WAITING, SKIPPED, RUNNING, SUSPENDED = "waiting", "skipped", "running", "suspended"
FINISHED, ERROR, CANCELED = "finished", "error", "canceled"
FINAL_STATES = (SKIPPED, FINISHED, ERROR, CANCELED)
UNFINISHED_STATES = (WAITING, RUNNING, SUSPENDED)


class TaskStatus(me.Document):
    """One task: what it runs (``operation`` with JSON ``args``), on which resource, and how it went."""

    task_id = me.StringField(primary_key=True)
    task_type = me.StringField()
    operation = me.StringField(required=True)
    args = me.DictField()
    resource = me.StringField()
    sequence = me.IntField(required=True)
    state = me.StringField(required=True, default=WAITING)
    worker_name = me.StringField()
    tags = me.ListField(me.StringField())
    progress_report = me.DictField()
    result = me.DynamicField()
    error = me.DictField(null=True, default=None)
    exception = me.StringField(null=True)
    traceback = me.DynamicField(null=True)  # a list of lines, as Pulp 2 reported it
    spawned_tasks = me.ListField()
    queued_time = me.DateTimeField(default=now)
    start_time = me.DateTimeField()
    finish_time = me.DateTimeField()

    meta: ClassVar[dict[str, Any]] = {
        "collection": "task_status",
        "indexes": [
            {"fields": ["resource", "state", "sequence"]},
            {"fields": ["tags"]},
            {"fields": ["worker_name", "state"]},
            {"fields": ["state"]},
        ],
    }


class ReservedResource(me.Document):
    """A resource (``repository:<id>``) held by the task running on it."""

    resource = me.StringField(primary_key=True)
    task_id = me.StringField(required=True)
    worker_name = me.StringField(required=True)
    taken_at = me.DateTimeField(default=now)

    meta: ClassVar[dict[str, Any]] = {
        "collection": "reserved_resources",
        "indexes": [{"fields": ["worker_name"]}, {"fields": ["task_id"]}],
    }


class Worker(me.Document):
    name = me.StringField(primary_key=True)
    started = me.DateTimeField(default=now)
    last_heartbeat = me.DateTimeField(default=now)

    meta: ClassVar[dict[str, Any]] = {"collection": "workers", "indexes": [{"fields": ["last_heartbeat"]}]}


class Counter(me.Document):
    name = me.StringField(primary_key=True)
    value = me.IntField(default=0)

    meta: ClassVar[dict[str, Any]] = {"collection": "counters"}


def next_sequence(name: str = "task_sequence") -> int:
    """The next value of a named counter; atomic across processes and machines.

    The counter's first upserts may race: the loser gets a duplicate key error, or (from some servers)
    no document, and tries again; it then increments the counter the winner made.
    """
    counters = Counter._get_collection()
    for _ in range(5):
        try:
            doc = counters.find_one_and_update({"_id": name}, {"$inc": {"value": 1}}, upsert=True,
                                               return_document=pymongo.ReturnDocument.AFTER)
        except DuplicateKeyError:
            continue
        if doc is not None:
            return int(doc["value"])
    raise RuntimeError(f"counter {name!r}: no value after five upserts")
