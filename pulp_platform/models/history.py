"""Sync and publish history: one document per finished sync or publish, as Pulp 2 kept them.

``repo_sync_results`` and ``repo_publish_results`` hold Pulp 2's ``RepoSyncResult`` and
``RepoPublishResult`` fields. ``result`` is ``success``, ``failed`` (the plugin reported failure),
``error`` (it raised) or ``canceled``. Records are written by ``operations.history``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import mongoengine as me

SUCCESS, FAILED, ERROR, CANCELED = "success", "failed", "error", "canceled"


class _Result(me.Document):
    """What every history record holds: when it ran, how it ended, and the plugin's report."""

    repo_id = me.StringField(required=True)
    started = me.DateTimeField(required=True)
    completed = me.DateTimeField(required=True)
    result = me.StringField(required=True)
    summary = me.DynamicField(null=True)
    details = me.DynamicField(null=True)
    error_message = me.StringField(null=True)
    exception = me.StringField(null=True)
    traceback = me.ListField(me.StringField(), null=True)

    meta: ClassVar[dict[str, Any]] = {"abstract": True}


class RepoSyncResult(_Result):
    importer_id = me.StringField()
    importer_type_id = me.StringField()
    added_count = me.IntField(null=True)
    removed_count = me.IntField(null=True)
    updated_count = me.IntField(null=True)

    meta: ClassVar[dict[str, Any]] = {
        "collection": "repo_sync_results",
        "indexes": [{"fields": ["repo_id", "started"]}],
    }


class RepoPublishResult(_Result):
    distributor_id = me.StringField(required=True)
    distributor_type_id = me.StringField()
    distributor_config = me.DictField()

    meta: ClassVar[dict[str, Any]] = {
        "collection": "repo_publish_results",
        "indexes": [{"fields": ["repo_id", "distributor_id", "started"]}],
    }
