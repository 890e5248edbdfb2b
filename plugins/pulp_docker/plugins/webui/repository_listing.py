"""The repositories page's rows: one page of repositories, sorted and cut in the database, with what
each row shows (unit counts, stored size, last change, registry name, protected)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pulp_docker.plugins.webui import sizes, visibility
from pulp_docker.plugins.webui.paging import Listing, prefix_range
from pulp_docker.plugins.webui.sessions import Visitor
from pulp_docker.plugins.webui.visibility import Serving
from pulp_platform.models.repository import Repository

SORTS = ("name",)
_FIELDS = {"repo_id": 1, "display_name": 1, "description": 1, "content_unit_counts": 1, "last_unit_added": 1,
           "last_unit_removed": 1}


@dataclass(frozen=True)
class RepositoryRow:
    repo_id: str
    display_name: str | None
    counts: dict[str, int]
    size: int
    last_change: datetime | None
    serving: Serving

    @property
    def total_units(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class RepositoryPage:
    rows: list[RepositoryRow]
    has_next: bool


def last_change(repo: dict[str, Any]) -> datetime | None:
    times = [t for t in (repo.get("last_unit_added"), repo.get("last_unit_removed")) if t is not None]
    return max(times) if times else None


def rows_for(docs: list[dict[str, Any]]) -> list[RepositoryRow]:
    repo_ids = [doc["repo_id"] for doc in docs]
    serving = visibility.serving_of(repo_ids)
    stored = sizes.stored_sizes(docs)
    return [RepositoryRow(doc["repo_id"], doc.get("display_name"), dict(doc.get("content_unit_counts") or {}),
                          stored[doc["repo_id"]], last_change(doc), serving[doc["repo_id"]]) for doc in docs]


def repository_page(visitor: Visitor, listing: Listing) -> RepositoryPage:
    """One page of the repositories ``visitor`` may see whose id starts with the listing's prefix."""
    collection = Repository._get_collection()
    wanted = listing.per_page + 1  # one more than shown says whether there is a next page
    if visitor.signed_in:
        query = {"repo_id": prefix_range(listing.prefix)} if listing.prefix else {}
        docs = list(collection.find(query, _FIELDS).sort("repo_id", 1).skip(listing.skip).limit(wanted))
    else:
        # Which repositories are public is the distributors' to say: one pass over them gives the ids in
        # order, and only the page's few repository documents are read.
        ids = [r for r in visibility.anonymous_repo_ids() if r.startswith(listing.prefix)]
        page_ids = ids[listing.skip:listing.skip + wanted]
        by_id = {doc["repo_id"]: doc for doc in collection.find({"repo_id": {"$in": page_ids}}, _FIELDS)}
        docs = [by_id[r] for r in page_ids if r in by_id]
    has_next = len(docs) > listing.per_page
    docs = docs[:listing.per_page]
    rows = [row for row in rows_for(docs) if visibility.may_see(visitor, row.serving)]
    return RepositoryPage(rows, has_next)
