"""Repositories with their importer and distributors, as Pulp 2 stored them."""

from __future__ import annotations

from typing import Any, ClassVar

import mongoengine as me

from pulp_platform.models.content import now


class Repository(me.Document):
    repo_id = me.StringField(required=True, unique=True)
    display_name = me.StringField()
    description = me.StringField()
    notes = me.DictField()
    scratchpad = me.DictField()
    content_unit_counts = me.DictField()
    last_unit_added = me.DateTimeField()
    last_unit_removed = me.DateTimeField()

    meta: ClassVar[dict[str, Any]] = {"collection": "repos"}


class RepoImporter(me.Document):
    repo_id = me.StringField(required=True, unique=True)
    importer_type_id = me.StringField(required=True)
    config = me.DictField()
    last_sync = me.DateTimeField()
    last_override_config = me.DictField()
    last_updated = me.DateTimeField(default=now)

    meta: ClassVar[dict[str, Any]] = {"collection": "repo_importers"}


class RepoDistributor(me.Document):
    repo_id = me.StringField(required=True)
    distributor_id = me.StringField(required=True)
    distributor_type_id = me.StringField(required=True)
    config = me.DictField()
    auto_publish = me.BooleanField(default=False)
    last_publish = me.DateTimeField()
    last_updated = me.DateTimeField(default=now)

    meta: ClassVar[dict[str, Any]] = {
        "collection": "repo_distributors",
        "indexes": [{"fields": ["repo_id", "distributor_id"], "unique": True}],
    }
