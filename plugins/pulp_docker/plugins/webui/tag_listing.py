"""The repository page's tags: one page, sorted and cut in the database, with each tag's manifest.

Tags are read from the tag units of the repository (``units_docker_tag`` by ``repo_id``, indexed by
name); a tag unit the repository no longer holds (removed, waiting for orphan removal) is dropped
from the page after the database cut it, so such a page shows fewer rows, and none is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pymongo

from pulp_docker.common import constants
from pulp_docker.plugins.models import Manifest, ManifestList, Tag
from pulp_docker.plugins.webui.paging import Listing, prefix_range
from pulp_platform.models.content import RepositoryContentUnit

SORTS = ("name", "name-desc", "newest", "oldest")
ORDER = {"name": [("name", pymongo.ASCENDING)], "name-desc": [("name", pymongo.DESCENDING)],
         "newest": [("_last_updated", pymongo.DESCENDING)], "oldest": [("_last_updated", pymongo.ASCENDING)]}


@dataclass(frozen=True)
class Target:
    """What a tag points at: an image manifest, or a list/index with its platforms."""

    digest: str
    media_type: str | None = None
    manifest_size: int | None = None
    image_size: int | None = None  # compressed layers (what a pull downloads); images only
    platforms: list[str] = field(default_factory=list)
    is_list: bool = False
    found: bool = True


@dataclass(frozen=True)
class TagRow:
    name: str
    updated: datetime | None
    schema_version: int | None
    target: Target


@dataclass(frozen=True)
class TagPage:
    rows: list[TagRow]
    has_next: bool


def platform(entry: dict[str, Any]) -> str:
    parts = [entry.get("os") or "?", entry.get("arch") or "?"]
    if entry.get("variant"):
        parts.append(entry["variant"])
    return "/".join(parts)


def image_target(doc: dict[str, Any]) -> Target:
    layers = doc.get("fs_layers") or []
    image_size = sum(layer.get("size") or 0 for layer in layers) if layers else None
    return Target(doc["digest"], doc.get("media_type"), doc.get("size"), image_size)


def list_target(doc: dict[str, Any]) -> Target:
    return Target(doc["digest"], doc.get("media_type"), doc.get("size"),
                  platforms=[platform(m) for m in doc.get("manifests") or []], is_list=True)


def targets(digests: set[str], lists: set[str]) -> dict[str, Target]:
    """The manifests and lists with these digests (a page's worth: short ``$in`` lists)."""
    found: dict[str, Target] = {}
    if digests:
        fields = {"digest": 1, "media_type": 1, "size": 1, "fs_layers.size": 1}
        for doc in Manifest._get_collection().find({"digest": {"$in": sorted(digests)}}, fields):
            found[doc["digest"]] = image_target(doc)
    if lists:
        fields = {"digest": 1, "media_type": 1, "size": 1, "manifests": 1}
        for doc in ManifestList._get_collection().find({"digest": {"$in": sorted(lists)}}, fields):
            found[doc["digest"]] = list_target(doc)
    return found


def held(repo_id: str, unit_ids: list[str]) -> set[str]:
    rows = RepositoryContentUnit._get_collection().find(
        {"repo_id": repo_id, "unit_type_id": constants.TAG_TYPE_ID, "unit_id": {"$in": unit_ids}}, {"unit_id": 1})
    return {row["unit_id"] for row in rows}


def tag_page(repo_id: str, listing: Listing) -> TagPage:
    query: dict[str, Any] = {"repo_id": repo_id}
    if listing.prefix:
        query["name"] = prefix_range(listing.prefix)
    fields = {"name": 1, "_last_updated": 1, "schema_version": 1, "manifest_type": 1, "manifest_digest": 1}
    order = [*ORDER[listing.sort], ("_id", pymongo.ASCENDING)]
    docs = list(Tag._get_collection().find(query, fields).sort(order).skip(listing.skip)
                .limit(listing.per_page + 1))
    has_next = len(docs) > listing.per_page
    docs = docs[:listing.per_page]
    kept = held(repo_id, [doc["_id"] for doc in docs]) if docs else set()
    docs = [doc for doc in docs if doc["_id"] in kept]
    is_list = {doc["manifest_digest"] for doc in docs if doc.get("manifest_type") == constants.MANIFEST_TYPE_LIST}
    found = targets({doc["manifest_digest"] for doc in docs} - is_list, is_list)
    rows = [TagRow(doc["name"], doc.get("_last_updated"), doc.get("schema_version"),
                   found.get(doc["manifest_digest"]) or Target(doc["manifest_digest"], found=False))
            for doc in docs]
    return TagPage(rows, has_next)



def has_tag(repo_id: str, name: str) -> bool:
    """Whether the repository holds a tag of this name (an exact index lookup)."""
    docs = list(Tag._get_collection().find({"repo_id": repo_id, "name": name}, {"_id": 1}))
    return bool(docs) and bool(held(repo_id, [doc["_id"] for doc in docs]))
