"""The write journal of a running task: what it is about to make visible, so a crash can take it back.

There are no multi-document transactions, so a task killed between two writes leaves the first. Before
each visible write (a repository starting to hold a unit, a unit's fields being overwritten, such as a
tag moving) the conduit appends the intent here; the runner deletes the document once the task has
finished (the ``finished`` state is the commit point). A journal whose task did not finish and whose
worker is gone is undone by ``tasking.journal.roll_back``: at start-up, by the reaper, or by the task
itself when it finds it was fenced off.
"""

from __future__ import annotations

from typing import Any, ClassVar

import mongoengine as me

from pulp_platform.models.content import now


class TaskJournal(me.Document):
    """``_id`` is the task id; ``token`` the reservation token the task held when it wrote.

    ``associations``: ``{repo_id, unit_type_id, unit_id}`` rows the task was about to create;
    ``updates``: ``{collection, unit_id, before, unset, after}`` unit fields it was about to overwrite
    (``before``/``unset`` restore them; ``after`` tells whether the value is still the task's);
    ``owner``: the worker process (``tasking.liveness.identity``) and its ``worker_name``;
    ``closed``: set by whoever rolls it back, after which no more intents are accepted.
    """

    task_id = me.StringField(primary_key=True)
    token = me.StringField()
    worker_name = me.StringField()
    owner = me.DictField()
    associations = me.ListField(me.DictField())
    updates = me.ListField(me.DictField())
    closed = me.BooleanField(default=False)
    created = me.DateTimeField(default=now)

    meta: ClassVar[dict[str, Any]] = {"collection": "task_journals"}
