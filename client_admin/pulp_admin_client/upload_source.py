"""What an upload sends: a file's bytes, or a directory tarred on the fly, from any offset.

A file is sent as slices read straight from disk. A directory is written as a tar stream
(``tarfile`` mode ``w|``) into the chunk sender, so no copy of it exists in memory or on disk. The
stream is reproducible (sorted names, fixed owner and mode, whole-second mtimes), which is what makes
a directory upload resumable: resuming regenerates the stream and drops the bytes the server holds.
Its size is computed in advance from the tar headers, so progress and resume know the total.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from pulp_admin_client.failures import ClientError, ExitCode

TAR_FORMAT = tarfile.PAX_FORMAT
TAR_ENCODING = "utf-8"


class ChunkSink(Protocol):
    """Where sources put their bytes (``pulp_admin_client.uploads.ChunkSender``)."""

    def send_file_range(self, path: Path, start: int, end: int) -> None: ...

    def write(self, data: bytes) -> int: ...

    def flush(self) -> None: ...


class FileSlice:
    """A read-only window ``[start, end)`` of an open file, with a length so requests streams it."""

    def __init__(self, handle: IO[bytes], start: int, end: int) -> None:
        self.handle = handle
        self.remaining = end - start
        handle.seek(start)

    def __len__(self) -> int:
        return self.remaining

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        size = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self.handle.read(size)
        if not data:
            raise ClientError("the file being uploaded got shorter while it was sent", ExitCode.DATA)
        self.remaining -= len(data)
        return data


@dataclass(frozen=True)
class FileSource:
    path: Path
    size: int
    fingerprint: str
    kind: str = "file"

    def send(self, sink: ChunkSink, offset: int) -> None:
        sink.send_file_range(self.path, offset, self.size)


@dataclass(frozen=True)
class EmptySource:
    """Nothing to send: uploads whose unit is described by key and metadata alone (a tag)."""

    path: Path = Path()
    size: int = 0
    fingerprint: str = ""
    kind: str = "empty"

    def send(self, sink: ChunkSink, offset: int) -> None:
        return None


def _padded(size: int) -> int:
    return -(-size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE


@dataclass(frozen=True)
class DirectorySource:
    """The regular, non-hidden files directly inside ``path``, as a tar with the members at its root."""

    path: Path
    members: tuple[tuple[str, int, int], ...]  # (name, size, mtime in whole seconds)
    size: int
    fingerprint: str
    kind: str = "directory"

    def _info(self, name: str, size: int, mtime: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, mtime, 0o644
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    def send(self, sink: ChunkSink, offset: int) -> None:
        counter = _Counter(sink, skip=offset)
        try:
            with tarfile.open(fileobj=counter, mode="w|", format=TAR_FORMAT, encoding=TAR_ENCODING) as tar:
                for name, size, mtime in self.members:
                    with open(self.path / name, "rb") as handle:
                        tar.addfile(self._info(name, size, mtime), handle)
        except OSError as exc:  # a member vanished or shrank under us (tarfile: "unexpected end of data")
            raise ClientError(f"{self.path} changed while it was sent: {exc}", ExitCode.DATA) from exc
        if counter.count != self.size:
            raise ClientError(f"{self.path} changed while it was sent (expected {self.size} tar bytes, "
                              f"made {counter.count})", ExitCode.DATA)
        sink.flush()

    @classmethod
    def scan(cls, path: Path) -> DirectorySource:
        members = []
        with os.scandir(path) as entries:
            for entry in entries:
                # Hidden files stay out, as with ``cd dir && tar -cf ../x.tar *``.
                if entry.is_file(follow_symlinks=False) and not entry.name.startswith("."):
                    st = entry.stat(follow_symlinks=False)
                    members.append((entry.name, st.st_size, int(st.st_mtime)))
        members.sort()
        if not any(name == "manifest.json" for name, _, _ in members):
            raise ClientError(f"{path} is a directory without a manifest.json: not an image directory "
                              "(make one with `skopeo copy IMAGE dir:PATH`)", ExitCode.DATA)
        probe = cls(path, tuple(members), 0, "")
        size = sum(len(probe._info(*m).tobuf(TAR_FORMAT, TAR_ENCODING, "surrogateescape")) + _padded(m[1])
                   for m in members)
        size += 2 * tarfile.BLOCKSIZE
        size = -(-size // tarfile.RECORDSIZE) * tarfile.RECORDSIZE
        digest = hashlib.sha256(repr(members).encode()).hexdigest()
        return cls(path, tuple(members), size, digest)


class _Counter:
    """Counts the bytes tarfile writes, passing on only those past ``skip`` (what the server holds)."""

    def __init__(self, sink: ChunkSink, skip: int) -> None:
        self.sink = sink
        self.skip = skip
        self.count = 0

    def write(self, data: bytes) -> int:
        start = self.count
        self.count += len(data)
        if self.count > self.skip:
            self.sink.write(bytes(data[max(self.skip - start, 0):]))
        return len(data)


Source = FileSource | DirectorySource | EmptySource


def open_source(path: str | os.PathLike) -> Source:
    """The source for a path on the command line: a regular file or an image directory."""
    resolved = Path(path).expanduser().absolute()
    try:
        st = resolved.stat()
    except OSError as exc:
        raise ClientError(f"cannot read {path}: {exc.strerror}", ExitCode.DATA) from exc
    if stat.S_ISDIR(st.st_mode):
        return DirectorySource.scan(resolved)
    if not stat.S_ISREG(st.st_mode):
        raise ClientError(f"{path} is neither a file nor a directory", ExitCode.DATA)
    if not os.access(resolved, os.R_OK):
        raise ClientError(f"cannot read {path}: permission denied", ExitCode.DATA)
    return FileSource(resolved, st.st_size, f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}")
