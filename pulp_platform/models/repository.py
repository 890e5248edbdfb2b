"""Repositories with their importer and distributors, as Pulp 2 stored them."""

from __future__ import annotations

from typing import Any, ClassVar

import mongoengine as me

from pulp_platform import validation
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

    def clean(self) -> None:
        """Refuse, at save, what the API must not store (any writer, not only the REST handlers)."""
        validation.check_id(self.repo_id, "id")
        validation.check_text(self.display_name, "display_name", validation.MAX_DISPLAY_NAME)
        validation.check_text(self.description, "description", validation.MAX_DESCRIPTION)
        validation.check_notes(self.notes)


class RepoImporter(me.Document):
    repo_id = me.StringField(required=True, unique=True)
    importer_type_id = me.StringField(required=True)
    config = me.DictField()
    last_sync = me.DateTimeField()
    last_override_config = me.DictField()
    last_updated = me.DateTimeField(default=now)

    meta: ClassVar[dict[str, Any]] = {"collection": "repo_importers"}

    def clean(self) -> None:
        validation.check_id(self.importer_type_id, "importer_type_id")


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

    def clean(self) -> None:
        validation.check_id(self.distributor_id, "distributor_id")
        validation.check_id(self.distributor_type_id, "distributor_type_id")
