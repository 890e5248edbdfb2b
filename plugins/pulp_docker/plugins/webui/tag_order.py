"""The order of a repository's tags, kept in memory and brought up to date by what changed.

The embedded database reads every document an index range holds before it sorts or skips any, so a
page of 50 of 10,000 tags cut by ``sort().skip().limit()`` costs 200 ms by name and over 400 ms by
date, on every view. Instead each API process keeps, for its ``KEPT`` most recently viewed
repositories, every tag's name, date and id, sorted here; a page reads only its own 50 documents.

When the repository changed (``sizes.stamp``: every task adding or removing units sets it) only the
tags written since the last read are read again, through an index on ``(repo_id, _last_updated)``
that this module creates (a tag's ``_last_updated`` is set when it is made or moved). A tag removed
from the repository stays in the order until its page finds it no longer held (then it is dropped);
a deleted unit simply is not found. Everything is read afresh every ``TTL`` seconds, and a margin of
``MARGIN`` re-reads recent writes each time, so clocks of other machines a little off do not matter.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pymongo
from pymongo.errors import PyMongoError

from pulp_docker.plugins.models import Tag
from pulp_docker.plugins.webui.sizes import stamp
from pulp_platform.models.content import now

log = logging.getLogger(__name__)
KEPT = 16
TTL = 600.0
MARGIN = timedelta(minutes=2)
UPDATED_INDEX = [("repo_id", pymongo.ASCENDING), ("_last_updated", pymongo.ASCENDING)]
_OLDEST = datetime.min.replace(tzinfo=UTC)
_FIELDS = {"name": 1, "_last_updated": 1}


@dataclass(frozen=True)
class TagKey:
    name: str
    updated: datetime | None
    unit_id: str


def _by_name(key: TagKey) -> tuple[str, str]:
    return key.name, key.unit_id


@dataclass
class TagOrder:
    """A repository's tag units by name (then id); the date order is derived when first asked for."""

    by_name: list[TagKey]
    names: list[str] = field(init=False)
    _newest: list[TagKey] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.names = [key.name for key in self.by_name]

    def _newest_first(self) -> list[TagKey]:
        if self._newest is None:
            self._newest = sorted(self.by_name, key=lambda k: (k.updated or _OLDEST, k.name), reverse=True)
        return self._newest

    def ordered(self, sort: str, prefix: str = "") -> list[TagKey]:
        """The keys in ``sort`` order (name, name-desc, newest, oldest), only names starting with ``prefix``."""
        if sort in ("name", "name-desc"):
            keys = self.by_name
            if prefix:
                low = bisect.bisect_left(self.names, prefix)
                keys = keys[low:bisect.bisect_left(self.names, prefix + "\U0010ffff", lo=low)]
            return keys if sort == "name" else keys[::-1]
        keys = self._newest_first()
        if prefix:
            keys = [k for k in keys if k.name.startswith(prefix)]
        return keys if sort == "newest" else keys[::-1]

    def merged(self, changed: list[TagKey]) -> TagOrder:
        """This order with ``changed`` keys put in (replacing those of the same unit)."""
        ids = {key.unit_id for key in changed}
        keys = [key for key in self.by_name if key.unit_id not in ids] + changed
        keys.sort(key=_by_name)  # nearly sorted already: one pass
        return TagOrder(keys)

    def without(self, unit_ids: set[str]) -> TagOrder:
        return TagOrder([key for key in self.by_name if key.unit_id not in unit_ids])


@dataclass(frozen=True)
class _Kept:
    stamp: str
    read_at: datetime  # tags written at or after this are read again at the next change
    full_until: float  # time.monotonic() after which everything is read again
    order: TagOrder


_kept: OrderedDict[str, _Kept] = OrderedDict()
_lock = threading.Lock()


_index_made = threading.Event()


def updated_index() -> bool:
    """Create the ``(repo_id, _last_updated)`` index (once per process); False while the database refuses."""
    if _index_made.is_set():
        return True
    try:
        Tag._get_collection().create_index(UPDATED_INDEX, name="webui_repo_id_last_updated")
    except PyMongoError as exc:
        log.warning("no index on units_docker_tag (repo_id, _last_updated): %s; the UI reads whole tag lists", exc)
        return False
    _index_made.set()
    return True


def make_index_soon() -> None:
    """Build the index in the background at start-up: over many tags it takes a while, and no page should wait."""
    threading.Thread(target=updated_index, name="webui-tag-index", daemon=True).start()


def _keys(rows: Iterable[dict[str, Any]]) -> list[TagKey]:
    return [TagKey(row["name"], row.get("_last_updated"), row["_id"]) for row in rows]


def read(repo_id: str) -> TagOrder:
    keys = _keys(Tag._get_collection().find({"repo_id": repo_id}, _FIELDS))
    keys.sort(key=_by_name)
    return TagOrder(keys)


def _changed_since(repo_id: str, since: datetime) -> list[TagKey]:
    query = {"repo_id": repo_id, "_last_updated": {"$gte": since}}
    # No hint: the embedded database then scans the index's whole repo_id range; its planner picks the
    # index with both bounds by itself.
    return _keys(Tag._get_collection().find(query, _FIELDS))


def _store(repo_id: str, kept: _Kept) -> None:
    with _lock:
        _kept[repo_id] = kept
        _kept.move_to_end(repo_id)
        while len(_kept) > KEPT:
            _kept.popitem(last=False)


def tag_order(repo: dict[str, Any]) -> TagOrder:
    """The order of the tags of ``repo`` (its raw ``repos`` document), brought up to date if it changed."""
    repo_id, current = repo["repo_id"], stamp(repo)
    with _lock:
        kept = _kept.get(repo_id)
        if kept is not None:
            _kept.move_to_end(repo_id)
    if kept is not None and kept.stamp == current and kept.full_until > time.monotonic():
        return kept.order
    started = now() - MARGIN
    if kept is not None and kept.full_until > time.monotonic() and updated_index():
        order = kept.order.merged(_changed_since(repo_id, kept.read_at))
        _store(repo_id, _Kept(current, started, kept.full_until, order))
        return order
    updated_index()
    order = read(repo_id)
    _store(repo_id, _Kept(current, started, time.monotonic() + TTL, order))
    return order


def forget(repo_id: str, unit_ids: set[str]) -> None:
    """Drop tag units a page found the repository no longer holds."""
    with _lock:
        kept = _kept.get(repo_id)
        if kept is not None:
            _kept[repo_id] = _Kept(kept.stamp, kept.read_at, kept.full_until, kept.order.without(unit_ids))
