"""A member's bytes written by the chunk writes straight into its staged file, hashed as they are written.

A stream staging a member (``UploadTail.stage_range``) that has caught up with the upload claims the
rest of the member. Every chunk write of this process that continues the upload exactly where the
claim stands then puts those bytes into the staged file at their place and hashes them, in the thread
that writes the chunk. It maps them (a line in ``upload_holes``' map, before the upload file is
extended over them as a hole) rather than writing them into the upload file. Each such byte is copied
once, from the request to its staged file, and the stream has nothing left to do for it: a member
is hashed and staged as its last chunk is written.

The claim ends with the member. It is given up, and the stream reads the rest from the upload file as
before, when the upload grows some other way (its size passes the claim: another process wrote it),
when the map was restored (the upload must hold every byte again: ``upload_holes.restore``), or when
the stream stops. A write to the staged file that fails breaks the claim: the chunk's request fails as
it would have, and the stream gives up (its import reads the upload itself).

One lock per stream orders the chunk writes of this process with the claim's start and end, so a
claim starts at the upload's size and no write lands between.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from pulp_platform.storage import pwrite_all
from pulp_platform.upload_holes import Holes


class Claim:
    """Bytes ``next..end`` of the upload, to go to ``fd`` at their offset less ``base``, into ``sha``."""

    def __init__(self, start: int, end: int, base: int, fd: int, name: str, sha: Any, holes: Holes) -> None:
        self.next = start
        self.end = end
        self.base = base
        self.fd = fd
        self.name = name
        self.sha = sha
        self.holes = holes
        self.broken: OSError | None = None

    def done(self) -> bool:
        return self.next >= self.end

    def take(self, position: int, view: memoryview) -> int:
        """Write what of ``view`` (the chunk's bytes at ``position``) the claim wants; returns how many.

        0 when the bytes do not continue the claim, or the map was restored (the upload takes them).
        Raises the write's OSError, the claim broken, when the staged file cannot take them.
        """
        if position != self.next or self.broken is not None or self.done() or not self.holes.on:
            return 0  # (a restore seen by an earlier write: the stream ends the claim at its next look)
        part = view[:self.end - position]
        try:
            pwrite_all(self.fd, part, position - self.base)
        except OSError as exc:
            self.broken = exc
            raise
        if not self.holes.mapped(position, position + len(part), self.name, position - self.base):
            return 0  # restored meanwhile: the upload must hold these bytes itself
        self.sha.update(part)
        self.next += len(part)
        return len(part)


class Claims:
    """The claim of one stream, if any, and the lock its upload's chunk writes in this process take."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.claim: Claim | None = None

    def start(self, upload_fd: int, claim: Claim) -> bool:
        """Start ``claim`` if the upload holds no byte at its start yet (the stream has caught up)."""
        with self.lock:
            if os.fstat(upload_fd).st_size > claim.next or not claim.holes.on:
                return False
            self.claim = claim
            return True

    def end(self, upload_fd: int | None = None) -> None:
        """No more direct writes; with ``upload_fd``, only if the upload grew past the claim otherwise."""
        with self.lock:
            claim = self.claim
            if claim is not None and (upload_fd is None or os.fstat(upload_fd).st_size > claim.next):
                self.claim = None

    def write(self, upload_fd: int, position: int, view: memoryview) -> None:
        """A chunk write of ``view`` at ``position``: the claimed part to its staged file, the rest to the upload."""
        with self.lock:
            taken = self.claim.take(position, view) if self.claim is not None else 0
            pwrite_all(upload_fd, view[taken:], position + taken)
