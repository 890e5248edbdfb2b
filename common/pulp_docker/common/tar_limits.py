"""What one uploaded tarball may cost: bytes inflated and written, members, extended headers.

A compressed tar is an amplifier (a 456-byte bzip2 stream inflates to 512 MiB), and tar's extended
headers are read whole into memory and parsed by tarfile (quadratically on Python before 3.11.10,
CVE-2024-6232). ``tarball.walk`` keeps a ``Budget`` per upload and refuses, with DKR1045 naming the
limit and the server setting that raises it, as soon as one is passed:

- a compressed upload inflates to at most ``expansion_ratio`` times its size (at least
  ``expansion_floor`` bytes), and its regular members may claim no more than that in all, nor more
  than the staging directory has free when the walk starts (they are spooled there);
- at most ``max_members`` entries (files, folders, links);
- a pax or GNU long-name header of at most ``max_extended_header`` bytes, and at most
  ``max_extended_total`` bytes of them in all: checked on the header block, before tarfile reads one.

The decompressors are bounded too: xz by a memory limit, zstd by a window size (``XZ_MEMLIMIT``,
``ZSTD_MAX_WINDOW``); gzip and bzip2 need little memory whatever their input.
"""

from __future__ import annotations

import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pulp_docker.common.error_codes import DKR1031, DKR1045, DockerError

KiB, MiB = 1024, 1024 * 1024
# Defaults; the server's settings of the same meaning (``upload_*``, docs/configuration.md) override them.
EXPANSION_RATIO = 20.0
EXPANSION_FLOOR = 64 * MiB
MAX_MEMBERS = 10_000
# Real tools write pax records of a few hundred bytes (a long path, sub-second times). At 8 KiB the
# worst header costs Python 3.11.7's pax parser 0.07 s; at 64 KiB it costs 4.3 s, holding the GIL.
MAX_EXTENDED_HEADER = 8 * KiB
MAX_EXTENDED_TOTAL = 1 * MiB
# xz -9 needs 65 MiB to decompress; zstd's own default window limit is 128 MiB (window log 27).
XZ_MEMLIMIT = 128 * MiB
ZSTD_MAX_WINDOW = 128 * MiB

EXTENDED_TYPES = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME,
                  tarfile.GNUTYPE_LONGLINK)


@dataclass(frozen=True)
class TarLimits:
    """The limits of one walk (see the module docstring); the defaults are the server's."""

    expansion_ratio: float = EXPANSION_RATIO
    expansion_floor: int = EXPANSION_FLOOR
    max_members: int = MAX_MEMBERS
    max_extended_header: int = MAX_EXTENDED_HEADER
    max_extended_total: int = MAX_EXTENDED_TOTAL

    def unpacked_cap(self, upload_size: int) -> int:
        """How many bytes an upload of ``upload_size`` bytes may inflate to."""
        return max(self.expansion_floor, int(self.expansion_ratio * upload_size))


def _refuse(reason: str) -> DockerError:
    return DockerError(DKR1045, reason=reason)


class Budget:
    """What one walk has spent against its limits; each method raises DKR1045 once a limit is passed.

    ``staging_dir``, where members are spooled (those of a compressed tar, or of one read while it is
    uploaded), bounds them by its free space as measured when the walk starts (None: not checked, e.g.
    members read in place or kept in memory by a tool).
    """

    def __init__(self, limits: TarLimits, upload_size: int | Callable[[], int], *,
                 staging_dir: str | Path | None = None) -> None:
        self.limits = limits
        # A callable while the upload still arrives (``walk`` over an upload tail): bytes so far. The
        # cap it gives is never above the whole upload's, so what passes here passes the whole walk.
        self._upload_size = upload_size if callable(upload_size) else lambda: upload_size
        self.growing = callable(upload_size)
        self.free = shutil.disk_usage(staging_dir).free if staging_dir is not None else None
        self.inflated_bytes = 0
        self.member_bytes = 0
        self.members = 0
        self.extended_bytes = 0

    @property
    def upload_size(self) -> int:
        return self._upload_size()

    @property
    def cap(self) -> int:
        return self.limits.unpacked_cap(self.upload_size)

    def _cap_reason(self) -> str:
        return (f"{self.cap} bytes: {self.limits.expansion_ratio:g} times the {self.upload_size}-byte upload, "
                f"at least {self.limits.expansion_floor} (settings upload_expansion_ratio, upload_expansion_floor)")

    def header(self, kind: bytes, size: int, name: str) -> None:
        """A header block tarfile is about to process: refuse an oversized extended header or a sparse file."""
        if kind == tarfile.GNUTYPE_SPARSE:
            raise DockerError(DKR1031, member=name, reason="a sparse file (GNU sparse format)")
        if kind not in EXTENDED_TYPES:
            return
        what = "pax header" if kind in (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE) \
            else "GNU long-name header"
        if size > self.limits.max_extended_header:
            raise _refuse(f"a {what} of {size} bytes, more than {self.limits.max_extended_header} "
                          f"(setting upload_max_extended_header)")
        self.extended_bytes += size
        if self.extended_bytes > self.limits.max_extended_total:
            raise _refuse(f"its pax and GNU long-name headers add up to more than {self.limits.max_extended_total} "
                          f"bytes (setting upload_max_extended_total)")

    def member(self, name: str, size: int, regular: bool) -> None:
        """An entry of the tar (file, folder or link): count it, and a regular file's size."""
        self.members += 1
        if self.members > self.limits.max_members:
            raise _refuse(f"more than {self.limits.max_members} members (setting upload_max_members)")
        if not regular:
            return
        self.member_bytes += size
        # While the upload grows, a member's claim cannot be weighed against its size yet; its bytes are,
        # as they inflate (``inflated``), and an uncompressed member cannot outgrow the upload anyway.
        if not self.growing and self.member_bytes > self.cap:
            raise _refuse(f"its members up to {name} add up to {self.member_bytes} bytes, more than "
                          f"{self._cap_reason()}")
        if self.free is not None and self.member_bytes > self.free:
            raise _refuse(f"its members up to {name} add up to {self.member_bytes} bytes, more than the "
                          f"{self.free} bytes free in the staging directory")

    def inflated(self, size: int) -> None:
        """``size`` more bytes came out of the decompressor."""
        self.inflated_bytes += size
        if self.inflated_bytes > self.cap:
            raise _refuse(f"it inflates to more than {self._cap_reason()}")


class InflatedStream:
    """A decompressor's output as tarfile reads it, counted against the budget as it comes out."""

    def __init__(self, stream, budget: Budget, chunk: int) -> None:  # type: ignore[no-untyped-def]
        self.stream, self.budget, self.chunk = stream, budget, chunk

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0:
            return b"".join(iter(lambda: self.read(self.chunk), b""))
        data = self.stream.read(n)
        self.budget.inflated(len(data))
        return data
