"""Undoing what a task's journal (``models.journal.TaskJournal``) lists, and forgetting a committed one.

A rollback closes the journal first (no intent is accepted after that), then restores the unit fields
the task overwrote and removes the associations it created, newest first, and recounts the
repositories it touched. Each undo is conditional on the value still being the task's: a field since
overwritten by another task, or an association another task has made since (``associated_by``), is
left alone. So a rollback is safe to repeat, and safe to run while a successor holds the lock.
"""

from __future__ import annotations

import logging
from typing import Any

import pymongo

from pulp_platform.models.content import RepositoryContentUnit
from pulp_platform.models.journal import TaskJournal
from pulp_platform.plugin_api import update_unit_counts

log = logging.getLogger(__name__)


def discard(task_id: str) -> None:
    """Forget the journal of a task whose writes stand (it finished, or its plugin undid them itself)."""
    TaskJournal._get_collection().delete_one({"_id": task_id})


def roll_back(task_id: str) -> set[str]:
    """Undo what task ``task_id`` journaled; returns the repositories whose content changed."""
    journals = TaskJournal._get_collection()
    doc = journals.find_one_and_update({"_id": task_id}, {"$set": {"closed": True}},
                                       return_document=pymongo.ReturnDocument.AFTER)
    if doc is None:
        return set()
    changed: set[str] = set()
    database = journals.database
    for update in reversed(doc.get("updates") or []):
        change: dict[str, Any] = {}
        if update.get("before"):
            change["$set"] = update["before"]
        if update.get("unset"):
            change["$unset"] = {name: "" for name in update["unset"]}
        if change and database[update["collection"]].update_one(
                {"_id": update["unit_id"], **update["after"]}, change).modified_count:
            changed.add(update["repo_id"])
    associations = RepositoryContentUnit._get_collection()
    for row in reversed(doc.get("associations") or []):
        removed = associations.delete_one({"repo_id": row["repo_id"], "unit_type_id": row["unit_type_id"],
                                           "unit_id": row["unit_id"], "created_by": task_id,
                                           "associated_by": task_id})
        if removed.deleted_count:
            changed.add(row["repo_id"])
    for repo_id in changed:
        update_unit_counts(repo_id)
    journals.delete_one({"_id": task_id})
    if changed:
        log.warning("rolled back what task %s wrote in %s", task_id, ", ".join(sorted(changed)))
    return changed
