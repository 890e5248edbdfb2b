"""Read an uploaded tarball once, front to back, handing each wanted regular file to a sink.

This is the one safe tar-member helper: every reader of every tarball kind goes through ``walk``.
The tar may be plain or compressed (gzip, bzip2, xz, zstd magic is recognised; tarfile's stream
mode decompresses all but zstd). Members are never extracted to a working directory: the caller's
sink sees each member's bytes once, so a blob can be hashed and copied to its one resting place.
An uncompressed tar is not pushed through tarfile's stream buffers: its members are handed over as
``FileRange`` objects, which the content store copies inside the kernel.

Refused, with DKR1031 naming the member: absolute paths, ``..``, devices and fifos, a regular member
that appears twice. With DKR1030: a member claiming more bytes than the whole upload, a truncated tar.
Links are not followed; they are listed in the result so that the reader of each kind decides (a skopeo
dir has none).
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO, Generic, TypeVar

from pulp_docker.common.error_codes import DKR1030, DKR1031, DockerError

T = TypeVar("T")

HEX64 = r"[0-9a-f]{64}"
# Names whose content a reader of some kind needs; anything else is a stray file and is skipped.
METADATA_NAMES = frozenset({"manifest.json", "version", "index.json", "oci-layout", "repositories"})
_INSTANCE_MANIFEST = re.compile(rf"^{HEX64}\.manifest\.json$")
_BLOB = re.compile(rf"^{HEX64}(\.tar|\.json)?$")
# Metadata files are small JSON; a bigger one is not what it claims to be.
MAX_METADATA_SIZE = 4 * 1024 * 1024
STREAM_BUFFER = 1024 * 1024


@dataclass(frozen=True)
class Member:
    """A regular file of the tarball: its normalised path and size."""

    path: str
    size: int

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    @property
    def is_metadata(self) -> bool:
        return self.name in METADATA_NAMES or bool(_INSTANCE_MANIFEST.match(self.name))

    @property
    def is_blob(self) -> bool:
        return bool(_BLOB.match(self.name))


@dataclass
class Archive(Generic[T]):
    """What ``walk`` found: the sink's result per kept file, by path relative to the image root."""

    files: dict[str, T] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)


def normalise(name: str) -> str:
    """A member name as a clean relative posix path; raises DKR1031 for absolute or escaping names."""
    if name.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", name):
        raise DockerError(DKR1031, member=name, reason="absolute path")
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise DockerError(DKR1031, member=name, reason="path leads outside the image ('..')")
    return "/".join(parts)


def read_metadata(member: Member, stream: BinaryIO) -> bytes:
    """Read a small metadata member whole, refusing one larger than any real one."""
    if member.size > MAX_METADATA_SIZE:
        raise DockerError(DKR1031, member=member.path, reason=f"metadata file larger than {MAX_METADATA_SIZE} bytes")
    return stream.read()


class FileRange:
    """A member's bytes in an uncompressed tar: read with ``pread``, never through tarfile's buffers.

    ``file_range()`` tells a consumer where the bytes sit, so that it can copy them inside the kernel
    (the content store does, with ``copy_file_range``) instead of through Python.
    """

    def __init__(self, fd: int, offset: int, size: int) -> None:
        self.fd, self.offset, self.size = fd, offset, size
        self.position = 0

    def file_range(self) -> tuple[int, int, int]:
        return self.fd, self.offset, self.size

    def read(self, n: int = -1) -> bytes:
        left = self.size - self.position
        n = left if n is None or n < 0 else min(n, left)
        data = os.pread(self.fd, n, self.offset + self.position) if n else b""
        if len(data) < n:
            raise DockerError(DKR1030, reason="the upload ended inside a member (truncated)")
        self.position += len(data)
        return data


def _compressed(fileobj: BinaryIO) -> bool:
    """True unless the file is a seekable, uncompressed tar (checked by magic bytes, not by name)."""
    try:
        fileobj.fileno()
        start = fileobj.tell()
        head = fileobj.read(6)
        fileobj.seek(start)
    except (OSError, AttributeError, io.UnsupportedOperation):
        return True  # not a real file: read it as a stream
    return head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd"))


def walk(fileobj: BinaryIO, sink: Callable[[Member, BinaryIO], T], *, upload_size: int | None = None) -> Archive[T]:
    """Read the tar in ``fileobj`` front to back; call ``sink`` for each metadata or blob-named file.

    A compressed tar is decompressed as a stream; an uncompressed one is read in place: headers through
    tarfile, member bytes as FileRange objects over the same file. Returns an Archive whose paths are
    relative to the image root: a ``./`` prefix or one top folder holding everything is removed.
    Raises DockerError DKR1030 when the input is not a whole tar, DKR1031 for an unsafe member.
    """
    found: dict[str, T] = {}
    links: list[str] = []
    seen: set[str] = set()
    in_place = not _compressed(fileobj)
    try:
        mode = "r:" if in_place else "r|*"
        with tarfile.open(fileobj=fileobj, mode=mode, bufsize=STREAM_BUFFER) as tar:
            for info in tar:
                path = normalise(info.name)
                if info.isdir() or not path:
                    continue
                if info.issym() or info.islnk():
                    links.append(path)
                    continue
                if not info.isreg() or info.issparse():
                    raise DockerError(DKR1031, member=info.name, reason="not a regular file (device, fifo or other)")
                # tarfile's own data filter refuses what we may have missed (it knows more tar variants).
                tarfile.data_filter(info, "/image")
                if path in seen:
                    raise DockerError(DKR1031, member=info.name, reason="appears more than once in the tar")
                seen.add(path)
                end = info.offset_data + info.size if in_place else info.size
                if upload_size is not None and end > upload_size:
                    # Checked before any copy: a lying header must not make us write past the upload.
                    raise DockerError(DKR1030, reason=f"member {info.name} claims {info.size} bytes, more than "
                                                      f"the {upload_size}-byte upload holds (truncated or corrupt)")
                member = Member(path, info.size)
                if not (member.is_metadata or member.is_blob):
                    continue  # a stray file
                if in_place:
                    stream: BinaryIO = FileRange(fileobj.fileno(), info.offset_data, info.size)  # type: ignore[assignment]
                else:
                    stream = tar.extractfile(info)  # type: ignore[assignment]
                found[path] = sink(member, stream)
    except DockerError:
        raise
    except tarfile.FilterError as exc:
        raise DockerError(DKR1031, member=getattr(exc, "tarinfo", None) and exc.tarinfo.name or "?",
                          reason=str(exc)) from None
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise DockerError(DKR1030, reason=str(exc) or type(exc).__name__) from None
    if not seen and not links:
        raise DockerError(DKR1030, reason="the archive holds no files")
    prefix = _common_top_folder(list(seen) + links)
    if prefix:
        cut = len(prefix) + 1
        found = {path[cut:]: value for path, value in found.items()}
        links = [path[cut:] for path in links]
    return Archive(found, links)


def _common_top_folder(paths: list[str]) -> str:
    """The one folder every path sits under (``tar -cf x.tar dir``), or '' when files sit at the root."""
    tops = {p.split("/", 1)[0] for p in paths}
    if len(tops) == 1 and all("/" in p for p in paths):
        return tops.pop()
    return ""
