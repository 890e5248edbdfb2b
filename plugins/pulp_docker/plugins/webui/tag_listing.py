"""The repository page's tags: one page in the order asked for (``tag_order``), with each tag's manifest.

Tags are the tag units of the repository (``units_docker_tag`` by ``repo_id``); a tag unit the
repository no longer holds (removed, waiting for orphan removal) is dropped from its page after the
cut, so such a page shows fewer rows, and none is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pulp_docker.common import constants
from pulp_docker.plugins.models import Manifest, ManifestList, Tag
from pulp_docker.plugins.webui.paging import Listing
from pulp_docker.plugins.webui.tag_order import forget, tag_order
from pulp_platform.models.content import RepositoryContentUnit

SORTS = ("name", "name-desc", "newest", "oldest")


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
    matching: int  # tag units matching the filter (a removed tag awaiting orphan removal included)


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


def tag_page(repo: dict[str, Any], listing: Listing) -> TagPage:
    """One page of the tags of ``repo`` (its raw ``repos`` document) in the listing's order."""
    repo_id = repo["repo_id"]
    keys = tag_order(repo).ordered(listing.sort, listing.prefix)
    page = keys[listing.skip:listing.skip + listing.per_page]
    fields = {"name": 1, "_last_updated": 1, "schema_version": 1, "manifest_type": 1, "manifest_digest": 1}
    ids = [key.unit_id for key in page]
    by_id = {doc["_id"]: doc for doc in Tag._get_collection().find({"_id": {"$in": ids}}, fields)} if ids else {}
    kept = held(repo_id, list(by_id)) if by_id else set()
    if len(kept) < len(ids):
        forget(repo_id, set(ids) - kept)
    docs = [by_id[i] for i in ids if i in kept]
    is_list = {doc["manifest_digest"] for doc in docs if doc.get("manifest_type") == constants.MANIFEST_TYPE_LIST}
    found = targets({doc["manifest_digest"] for doc in docs} - is_list, is_list)
    rows = [TagRow(doc["name"], doc.get("_last_updated"), doc.get("schema_version"),
                   found.get(doc["manifest_digest"]) or Target(doc["manifest_digest"], found=False))
            for doc in docs]
    return TagPage(rows, len(keys) > listing.skip + listing.per_page, len(keys))


def has_tag(repo_id: str, name: str) -> bool:
    """Whether the repository holds a tag of this name (an exact index lookup)."""
    docs = list(Tag._get_collection().find({"repo_id": repo_id, "name": name}, {"_id": 1}))
    return bool(docs) and bool(held(repo_id, [doc["_id"] for doc in docs]))
