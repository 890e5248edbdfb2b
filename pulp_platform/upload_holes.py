"""Upload bytes handed over to a stream's staged files: the upload file keeps holes, and a map says where.

A stream (``upload_streams``) copies each member of an uncompressed tar from the upload file into a
staged file of its own. Kept in both, those bytes would sit in the page cache twice, and a page new to
the page cache costs more than the copy (most on a VM that hands freed memory back to its host: there
it is faulted in again). So once a piece is in its staged file the stream punches it out of the upload
(``fallocate(PUNCH_HOLE)``), and the pages freed are those the next piece is written to.

The map (``moved`` in the stream dir, made with it) says where each hole's bytes are: lines ``start
length name offset``, appended by the stream, each before its punch, under an exclusive ``flock`` of
the map. Bytes a chunk write put straight into a staged file (``upload_claims``) are never in the
upload: their line is appended before the upload file is extended over them as a hole. Whoever else
reads the upload (an import that reads it itself, a chunk compared with what it overlaps, start-up
recovery) first puts the bytes back (``restore``) under the same lock and appends ``restored``; the
stream, which checks under the lock that the map is as it left it, then punches and maps nothing
more. So each byte of an upload is in the upload file or in a staged file the map names, and
nothing but the stream ever reads where a hole is.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pulp_platform.storage import copy_range

log = logging.getLogger(__name__)

MAP = "moved"
RESTORED = "restored"
_FALLOC_FL_KEEP_SIZE = 0x01
_FALLOC_FL_PUNCH_HOLE = 0x02


def _libc_fallocate():  # type: ignore[no-untyped-def]
    # The stdlib has posix_fallocate but not fallocate(2) with its mode flags, and no PyPI package
    # maintains one: libc's, through ctypes. None where there is none (not Linux).
    try:
        function = ctypes.CDLL(None, use_errno=True).fallocate
    except (AttributeError, OSError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    function.restype = ctypes.c_int
    return function


_fallocate = _libc_fallocate()


def punch(fd: int, offset: int, length: int) -> bool:
    """Deallocate ``length`` bytes at ``offset`` of ``fd`` (they read as zeros); False where unsupported."""
    if _fallocate is None:
        return False
    if _fallocate(fd, _FALLOC_FL_KEEP_SIZE | _FALLOC_FL_PUNCH_HOLE, offset, length) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
        return False
    raise OSError(code, os.strerror(code))


@contextmanager
def _locked(fd: int) -> Iterator[None]:
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def create_map(where: Path) -> None:
    """The empty map of a stream dir being made (before it is renamed into place)."""
    (where / MAP).touch()


class Holes:
    """The stream's side: give up the upload's copy of bytes that are in a staged file."""

    def __init__(self, upload: Path, where: Path) -> None:
        self.on = False
        self.fd = self.map_fd = -1
        self._written = 0
        try:
            self.map_fd = os.open(where / MAP, os.O_RDWR | os.O_APPEND)
            self.fd = os.open(upload, os.O_WRONLY)
        except OSError:
            self.close()
            return
        # The map is made empty with the dir: anything in it now was written by a restore.
        self.on = os.fstat(self.map_fd).st_size == 0
        self.block = os.fstat(self.fd).st_blksize or 4096

    def align_down(self, offset: int) -> int:
        return offset - offset % self.block

    def moved(self, start: int, end: int, name: str, offset: int) -> None:
        """Bytes ``start..end`` of the upload are now at ``offset`` of staged file ``name``: punch them out
        (the whole blocks among them; the edges stay in the upload too)."""
        if not self.on:
            return
        first = -(-start // self.block) * self.block
        last = self.align_down(end)
        if last <= first:
            return
        with _locked(self.map_fd):
            # Mapped before punched: a hole is never without its bytes.
            if self._append(first, last, name, offset + first - start) and not punch(self.fd, first, last - first):
                self.on = False  # the filesystem cannot: the line stands, both copies hold the bytes

    def mapped(self, start: int, end: int, name: str, offset: int) -> bool:
        """Bytes ``start..end``, never written to the upload, are at ``offset`` of staged file ``name``
        (``upload_claims``): map them, and extend the upload over them as a hole. False if the map was
        restored (or the dir removed): the upload must then take the bytes itself."""
        if not self.on:
            return False
        with _locked(self.map_fd):
            if not self._append(start, end, name, offset):  # mapped before the upload's size covers them
                return False
            if os.fstat(self.fd).st_size < end:
                os.ftruncate(self.fd, end)
            return True

    def _append(self, start: int, end: int, name: str, offset: int) -> bool:
        """The map's line for ``start..end``, under its lock; False (and off from now) if the map is not as
        this stream left it: restored, or the dir removed, so the upload must keep every byte from now."""
        status = os.fstat(self.map_fd)
        if status.st_size != self._written or status.st_nlink == 0:
            self.on = False
            return False
        line = f"{start} {end - start} {name} {offset}\n".encode()
        os.write(self.map_fd, line)
        self._written += len(line)
        return True

    def close(self) -> None:
        for fd in (self.fd, self.map_fd):
            if fd >= 0:
                os.close(fd)
        self.fd = self.map_fd = -1
        self.on = False


def restore(upload: Path, where: Path) -> bool:
    """Put every byte the stream in ``where`` handed over back into the upload file, and stop its punching.

    Returns whether anything was copied. Raises OSError (a full disk: the holes need their space again)
    with nothing lost: the map and the staged files stay, and the next restore does it all again.
    """
    try:
        map_fd = os.open(where / MAP, os.O_RDWR | os.O_APPEND)
    except FileNotFoundError:
        return False  # not a stream dir (or one of an older server): it never punched
    try:
        with _locked(map_fd):
            lines = os.pread(map_fd, os.fstat(map_fd).st_size, 0).decode().splitlines()
            if RESTORED in lines:
                return False
            if not lines or not upload.exists():
                os.write(map_fd, f"{RESTORED}\n".encode())
                return False
            _copy_back(upload, where, lines)
            os.write(map_fd, f"{RESTORED}\n".encode())
            log.debug("upload %s: %d handed-over ranges restored", upload.name, len(lines))
            return True
    finally:
        os.close(map_fd)


def _copy_back(upload: Path, where: Path, lines: list[str]) -> None:
    with open(upload, "r+b") as out:
        for line in lines:
            start, length, name, offset = line.split(" ")
            source = os.open(where / "files" / name, os.O_RDONLY)
            try:
                out.seek(int(start))
                copy_range(source, int(offset), int(length), out)
            except EOFError as exc:
                raise OSError(errno.EIO, f"staged file {name} ends before the bytes it holds") from exc
            finally:
                os.close(source)
