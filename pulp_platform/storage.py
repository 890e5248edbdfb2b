"""The content store: files addressed by their sha256 digest, written once.

Layout under the content dir (shared storage when workers run on several machines)::

    <content_dir>/
        sha256/<hex[0:2]>/<hex>     one file per digest; never rewritten once in place
        tmp/<random>                staged files being written; same filesystem, so commit is a rename
        tmp/task-<task id>/<random> the same, for one task: whatever it left is removed when it ends,
                                    and recovery removes the dirs of tasks that died (``recovery``)

Every way content arrives (a tarball upload, a registry push, a sync) does the same three steps:
``stage`` a stream (copied to ``tmp/`` while its sha256 and size are computed, so each byte is read
and written once), let the caller verify the staged digest and size against what was promised, then
``commit`` it (an atomic rename; a file already in place with that digest is kept and the staged copy
dropped). ``Staging`` collects staged files and removes whatever was not committed, so a failure
leaves no file behind.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024
TASK_STAGING_PREFIX = "task-"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}\Z")  # \Z: "$" would also take a final newline


class DigestError(ValueError):
    """A string that is not a well-formed ``sha256:<64 hex>`` digest."""


class TooLarge(ValueError):
    """A stream ran past the size its caller allowed."""


def check_digest(digest: str) -> str:
    """Return ``digest`` if it is a well-formed sha256 digest, else raise DigestError.

    Validated before any digest is joined into a path, so a digest can never walk out of the store.
    """
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise DigestError(f"not a sha256 digest: {digest!r}")
    return digest


@dataclass(frozen=True)
class StagedFile:
    """A file written to the store's tmp dir: where it is, and what its bytes hash to."""

    path: Path
    digest: str
    size: int


def copy_hashing(src: BinaryIO, dst: BinaryIO, limit: int | None = None) -> tuple[str, int]:
    """Copy ``src`` to ``dst`` in chunks, returning (sha256 digest, size); raise TooLarge past ``limit``."""
    sha = hashlib.sha256()
    size = 0
    while True:
        chunk = src.read(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if limit is not None and size > limit:
            raise TooLarge(f"more than {limit} bytes")
        sha.update(chunk)
        dst.write(chunk)
    return f"sha256:{sha.hexdigest()}", size


def copy_range(fd: int, offset: int, length: int, out: BinaryIO) -> None:
    """Copy ``length`` bytes at ``offset`` of ``fd`` to ``out`` at its position (the end, for a file the
    store is writing), in the kernel where it can."""
    out.flush()
    out_fd, done = out.fileno(), 0
    try:
        while done < length:
            n = os.copy_file_range(fd, out_fd, length - done, offset + done)
            if n == 0:
                raise EOFError(f"the source ended {length - done} bytes early")
            done += n
        return
    except OSError as exc:
        # Other filesystems (or old kernels) refuse a cross-file copy: fall back to plain reads.
        if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
            raise
    while done < length:
        chunk = os.pread(fd, min(CHUNK, length - done), offset + done)
        if not chunk:
            raise EOFError(f"the source ended {length - done} bytes early")
        out.write(chunk)
        done += len(chunk)
    out.flush()


def pwrite_all(fd: int, data: bytes | memoryview, offset: int) -> None:
    """Write all of ``data`` at ``offset`` of ``fd`` (``os.pwrite`` may write less than it is given)."""
    with memoryview(data) as view:
        done = 0
        while done < len(view):
            done += os.pwrite(fd, view[done:], offset + done)


def task_staging_dir(root: str | os.PathLike, task_id: str) -> Path:
    """Where task ``task_id`` stages files (``tmp/task-<id>``), so that what a dead task left is known."""
    return Path(root) / "tmp" / f"{TASK_STAGING_PREFIX}{task_id}"


def remove_task_staging(root: str | os.PathLike, task_id: str) -> None:
    shutil.rmtree(task_staging_dir(root, task_id), ignore_errors=True)


class ContentStore:
    """Content-addressed files under one root directory; ``task_id`` stages into that task's own dir,
    ``staging_dir`` (under ``tmp/``) into another (an upload read as it arrives, ``upload_streams``)."""

    def __init__(self, root: str | os.PathLike, task_id: str | None = None,
                 staging_dir: Path | None = None) -> None:
        self.root = Path(root)
        if staging_dir is not None:
            self.tmp = staging_dir  # its owner's to make (and to remove: it is never made again here)
        else:
            self.tmp = task_staging_dir(root, task_id) if task_id else self.root / "tmp"
            self.tmp.mkdir(parents=True, exist_ok=True)

    def relative_path(self, digest: str) -> str:
        """The path of a digest's file relative to the root (what units keep as ``_storage_path``)."""
        hexdigest = check_digest(digest).split(":", 1)[1]
        return f"sha256/{hexdigest[:2]}/{hexdigest}"

    def path(self, digest: str) -> Path:
        return self.root / self.relative_path(digest)

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def size(self, digest: str) -> int:
        return self.path(digest).stat().st_size

    def stage(self, stream: BinaryIO, limit: int | None = None) -> StagedFile:
        """Copy ``stream`` into tmp/ while hashing it; the caller verifies, then commits or discards.

        A stream whose ``staged_file`` is a file this store staged already is taken as it is. A stream
        with a ``file_range() -> (fd, offset, length)`` method (bytes lying in another file,
        such as a member of an uploaded tar) is copied inside the kernel, then hashed from the copy,
        so the digest always describes the bytes actually stored.
        """
        staged = getattr(stream, "staged_file", None)
        if isinstance(staged, StagedFile) and self.root / "tmp" in staged.path.parents and staged.path.exists():
            # Already written to tmp/ by a store on this root (a member spooled while a compressed tar
            # streamed past, or while its upload arrived), hashed as it was written: take it as it is
            # rather than write the bytes again.
            if limit is not None and staged.size > limit:
                raise TooLarge(f"more than {limit} bytes")
            return staged
        path = self.tmp / uuid.uuid4().hex
        try:
            with open(path, "wb") as out:
                file_range = getattr(stream, "file_range", None)
                if file_range is not None:
                    fd, offset, length = file_range()
                    if limit is not None and length > limit:
                        raise TooLarge(f"more than {limit} bytes")
                    copy_range(fd, offset, length, out)
                    out.flush()
                    with open(path, "rb") as copy:
                        digest, size = f"sha256:{hashlib.file_digest(copy, 'sha256').hexdigest()}", length
                else:
                    digest, size = copy_hashing(stream, out, limit)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return StagedFile(path, digest, size)

    def stage_bytes(self, data: bytes) -> StagedFile:
        path = self.tmp / uuid.uuid4().hex
        path.write_bytes(data)
        return StagedFile(path, f"sha256:{hashlib.sha256(data).hexdigest()}", len(data))

    def commit(self, staged: StagedFile) -> bool:
        """Move a staged file into place under its digest; True if this call put it there."""
        target = self.path(staged.digest)
        if target.exists():
            staged.path.unlink(missing_ok=True)
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(staged.path, 0o444)
        # os.link refuses to replace: when two tasks commit the same digest at once, one wins and the
        # other's identical copy is dropped, and no reader ever sees a partly written file.
        try:
            os.link(staged.path, target)
        except FileExistsError:
            return False
        except OSError:
            # Filesystems without hard links (some network storage): rename is atomic too.
            os.replace(staged.path, target)
            return True
        finally:
            staged.path.unlink(missing_ok=True)
        return True

    def remove(self, digest: str) -> None:
        self.path(digest).unlink(missing_ok=True)

    def digests(self) -> Iterator[str]:
        """Every digest with a file in the store (for orphan clean-up)."""
        base = self.root / "sha256"
        if not base.is_dir():
            return
        for sub in base.iterdir():
            for f in sub.iterdir():
                yield f"sha256:{f.name}"

    def staging(self) -> Staging:
        return Staging(self)


class Staging:
    """A set of staged files that are all removed on exit unless committed (use as a context manager)."""

    def __init__(self, store: ContentStore) -> None:
        self.store = store
        self.files: list[StagedFile] = []

    def stage(self, stream: BinaryIO, limit: int | None = None) -> StagedFile:
        staged = self.store.stage(stream, limit)
        self.files.append(staged)
        return staged

    def stage_bytes(self, data: bytes) -> StagedFile:
        staged = self.store.stage_bytes(data)
        self.files.append(staged)
        return staged

    def commit(self, staged: StagedFile) -> bool:
        return self.store.commit(staged)

    def discard(self) -> None:
        for staged in self.files:
            staged.path.unlink(missing_ok=True)
        self.files.clear()

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()

