"""Bytes a source has already written to the content store's staging dir, handed to the ingest as they are.

A compressed tarball's members are spooled while it streams past; a sync's blobs are downloaded
straight to staging. Either way the store hashed them as it wrote them, and ``ContentStore.stage``
recognises ``staged_file`` and takes the file without writing it again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO

from pulp_platform.storage import StagedFile


class Spooled:
    """A member of a compressed tar, already written to the staging dir (hashed as it was written)."""

    def __init__(self, staged: StagedFile) -> None:
        self.staged_file = staged
        self.size = staged.size

    def open(self) -> SpooledReader:
        return SpooledReader(self.staged_file)


class SpooledReader:
    """Reads a spooled member; the content store recognises ``staged_file`` and commits it as it is."""

    def __init__(self, staged: StagedFile) -> None:
        self.staged_file = staged
        self.size = staged.size
        self._file: BinaryIO | None = None

    def read(self, n: int = -1) -> bytes:
        if self._file is None:
            self._file = open(self.staged_file.path, "rb")  # noqa: SIM115 (closed by close())
        return self._file.read(n)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def spool_into(stager: Any) -> Callable[[Any, BinaryIO], Spooled]:
    """A ``tarball.walk`` spool that stages each member with ``stager.stage`` (a ``Staging`` or a
    ``ContentStore``), bounded by the size its tar header claims, so a lying header cannot fill the disk."""
    def spool(member: Any, stream: BinaryIO) -> Spooled:
        return Spooled(stager.stage(stream, limit=member.size))

    return spool
