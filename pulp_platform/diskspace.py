"""Disk space: free bytes where the server writes, and "the disk is full" as an error, not an outage.

Every write path that a client feeds (upload chunks, registry blob uploads) checks the room for what
the request declares before writing, and turns ENOSPC/EDQUOT met while writing into
``InsufficientStorage``: HTTP 507 with an error body, the connection kept. A small reserve stays free
for the database and the broker, so a full content store does not also stop task dispatch.
"""

from __future__ import annotations

import contextlib
import errno
import shutil
from collections.abc import Iterator
from pathlib import Path

from pulp_platform.errors import ErrorCode, PulpCodedException

PLP0051 = ErrorCode("PLP0051", "Not enough disk space for {what}: {reason}", ("what", "reason"))
# Kept free for the database's journal and the broker's queue when a client upload is checked.
RESERVE_BYTES = 16 * 1024 * 1024
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class InsufficientStorage(PulpCodedException):
    """The disk cannot take what a request or task writes (HTTP 507)."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(PLP0051, http_status=507, what=what, reason=reason)


def usage(path: str | Path) -> dict[str, int]:
    """``{"free_bytes", "total_bytes"}`` of the filesystem holding ``path`` (its nearest existing parent)."""
    where = Path(path)
    while not where.exists() and where != where.parent:
        where = where.parent
    total, _, free = shutil.disk_usage(where)
    return {"free_bytes": free, "total_bytes": total}


def check_room(path: str | Path, needed: int, what: str) -> None:
    """Refuse up front when ``needed`` bytes (plus the reserve) do not fit where ``path`` lives."""
    free = usage(path)["free_bytes"]
    if needed + RESERVE_BYTES > free:
        raise InsufficientStorage(what, f"{needed} bytes declared, {max(free - RESERVE_BYTES, 0)} available")


class RoomWatch:
    """Checks, every ``every`` bytes written, that the reserve is still free: a body of undeclared
    length (chunked) stops before it eats the space the database and the broker need."""

    def __init__(self, path: str | Path, what: str, every: int = 4 * 1024 * 1024) -> None:
        self.path, self.what, self.every, self._since = path, what, every, 0

    def wrote(self, count: int) -> None:
        self._since += count
        if self._since >= self.every:
            self._since = 0
            free = usage(self.path)["free_bytes"]
            if free < RESERVE_BYTES // 2:
                raise InsufficientStorage(self.what, f"only {free} bytes left on the disk")


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` or anything in its cause/context chain is a full disk (ENOSPC, EDQUOT, SQLite's
    "database or disk is full")."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in FULL_ERRNOS:
            return True
        if "database or disk is full" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


@contextlib.contextmanager
def full_disk_is_an_error(what: str) -> Iterator[None]:
    """Turn a full disk met inside the block into ``InsufficientStorage``; other errors pass."""
    try:
        yield
    except InsufficientStorage:
        raise
    except Exception as exc:
        if is_disk_full(exc):
            raise InsufficientStorage(what, "no space left on device") from exc
        raise
