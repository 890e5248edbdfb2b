"""Content units and their association with repositories.

Units are global and deduplicated by their unit key (one collection per type, ``units_<type_id>``, as
Pulp 2 had); a repository holds a unit through a ``repo_content_units`` row. A unit may keep one file
in the content store, named by ``_storage_path`` relative to the store's root.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

import mongoengine as me


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class ContentUnit(me.Document):
    """Base of every unit model; a plugin subclass sets ``type_id``, ``unit_key_fields`` and its fields."""

    type_id: ClassVar[str] = ""
    unit_key_fields: ClassVar[tuple[str, ...]] = ()

    id = me.StringField(primary_key=True, default=new_id)
    content_type_id = me.StringField(db_field="_content_type_id", required=True)
    storage_path = me.StringField(db_field="_storage_path")
    last_updated = me.DateTimeField(db_field="_last_updated", default=now)
    pulp_user_metadata = me.DictField()

    meta: ClassVar[dict[str, Any]] = {"abstract": True}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("content_type_id", self.type_id)
        super().__init__(*args, **kwargs)

    @property
    def unit_key(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.unit_key_fields}

    def metadata(self) -> dict[str, Any]:
        """The unit as Pulp 2's search answers show it: every stored field, ``_id`` included."""
        data = self.to_mongo().to_dict()
        data["_content_type_id"] = self.type_id
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data.items()}


class RepositoryContentUnit(me.Document):
    """One unit held by one repository."""

    repo_id = me.StringField(required=True)
    unit_id = me.StringField(required=True)
    unit_type_id = me.StringField(required=True)
    created = me.DateTimeField(default=now)
    updated = me.DateTimeField(default=now)

    meta: ClassVar[dict[str, Any]] = {
        "collection": "repo_content_units",
        "indexes": [
            {"fields": ["repo_id", "unit_type_id", "unit_id"], "unique": True},
            {"fields": ["unit_id"]},
        ],
    }
