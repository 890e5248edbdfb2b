"""Reading an upload while its chunks arrive, so that the import finds the work done.

A Pulp 2 upload is a file written chunk by chunk (``uploads``); the import that follows would read it
whole. An importer may name an ``upload_consumer`` (``plugin_api.UploadConsumer``): shown an upload's
first bytes, it says whether it wants them, and then reads the upload front to back, in a thread of
the API process that took the first chunk, through an ``UploadTail``: the upload file, read at the
pace it is written. What the consumer stages goes to ``<content>/tmp/stream-<upload id>/files/`` (the
content store's filesystem, so the import commits by rename) and what it returns is kept beside it
as ``result.json``.

A member of an uncompressed tar is staged with ``UploadTail.stage_range``, which hands what it has
staged over from the upload file (``upload_holes``: the upload keeps a hole, mapped to the staged file),
so each byte takes the page cache and the disk once. Once it has caught up with the upload, the chunk
writes of this process stage and hash the rest of the member themselves (``upload_claims``).

The import task takes that result (``take``): it seals the stream (the upload is whole: past its size
is the end), waits while the consumer reads the last chunk's bytes, and links the staged files into
its own staging dir (the stream dir stays while the upload does: another import takes it again). It
gets None, and reads the upload itself as before, with every byte put back first, whenever the
stream cannot be trusted or did not finish:

- a chunk rewrote bytes already in the upload with different ones (compared before the write, in
  ``ChunkWriter``; a resent identical chunk is skipped and the stream stays good);
- the consumer failed: bad input, whose error the import's own read reports the same way;
- the upload stalled for ``STALL_SECONDS``, the server restarted while it was read, ``MAX_STREAMS``
  already ran, or, for what is copied rather than handed over (a compressed tar's members), the disk
  came within ``STREAM_MIN_FREE`` of full (the stream's copy is removed, giving the space back).

Bytes below the upload file's size are final: a chunk appends, or rewrites what is there (caught
above). So the tail reads any byte below the size whichever process wrote it; writes in this process
wake it at once, others are seen by polling the size while it waits.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pulp_platform import upload_holes
from pulp_platform.diskspace import RESERVE_BYTES
from pulp_platform.storage import ContentStore, StagedFile, pwrite_all
from pulp_platform.upload_claims import Claim, Claims
from pulp_platform.uploads import Uploads

log = logging.getLogger(__name__)

STREAM_PREFIX = "stream-"
MAX_STREAMS = 16              # per API process; an upload beyond them is read by its import as before
STALL_SECONDS = 120.0         # a tail waiting this long for bytes gives up (an abandoned upload)
ALIVE_INTERVAL = 0.5          # how often a reading stream says so (the mtime of ``alive``)
TAKE_STALL = 10.0             # an import waits no longer than this for a stream that shows no progress
HEAD_BYTES = 4096             # what a consumer sees to decide
# A stream is optional work: it stops well before the reserve the database and the broker need.
STREAM_MIN_FREE = 2 * RESERVE_BYTES
ROOM_CHECK_BYTES = 1024 * 1024
PIECE = 1024 * 1024           # what ``stage_range`` reads at a time
HANDOVER_BYTES = 4 * PIECE    # how much of a member is staged before the upload gives up its copy


class StreamGone(Exception):
    """The stream was invalidated, its upload deleted, or it stalled: the consumer stops."""


class UploadConsumer(Protocol):
    """What an importer offers to read uploads as they arrive (``Importer.upload_consumer``)."""

    def claims(self, head: bytes) -> bool:
        """Whether an upload starting with ``head`` (up to ``HEAD_BYTES``) is one to read now."""

    def consume(self, tail: UploadTail, store: ContentStore) -> dict[str, Any]:
        """Read the upload through ``tail``, staging into ``store``; return a JSON-able result.

        Raise anything to give up: the import then reads the upload itself.
        """


def stream_dir(content_path: str | os.PathLike, upload_id: str) -> Path:
    return Path(content_path) / "tmp" / f"{STREAM_PREFIX}{upload_id}"


class UploadTail:
    """The upload file read front to back, waiting for bytes not written yet.

    ``read(n)`` returns what is there, up to ``n`` bytes, as a pipe does; it waits only when nothing is,
    and returns b"" once the stream is sealed (the upload's size is then its end). Short reads let a
    complete compressed tar finish as soon as its last block is in, without waiting for the seal.
    ``read_at`` reads by position, waiting for all it asks (an uncompressed tar is read so).
    """

    def __init__(self, path: Path, where: Path, wake: threading.Event, claims: Claims | None = None) -> None:
        self.fd = os.open(path, os.O_RDONLY)
        self.where = where
        self.claims = claims  # None: every byte is read from the upload file
        self.holes = upload_holes.Holes(path, where)
        self.position = 0
        self.seen = 0  # the largest size of the upload seen so far
        self._wake = wake
        self._alive_at = 0.0
        self._unchecked = 0

    def size_so_far(self) -> int:
        """Bytes of the upload known to exist (what bounds a compressed upload's expansion so far)."""
        return max(self.seen, self.position)

    def tell(self) -> int:
        return self.position

    def seek(self, position: int, whence: int = os.SEEK_SET) -> int:
        if whence != os.SEEK_SET:
            raise OSError("an upload tail seeks to absolute positions only")
        self.position = position
        return position

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0:
            raise ValueError("an upload tail reads in pieces")
        self._wait_for(self.position + 1)
        data = self._pread(self.position, n)
        self.position += len(data)
        return data

    def read_at(self, offset: int, n: int) -> bytes:
        """``n`` bytes at ``offset``, waiting until they are in; fewer only where the sealed upload ends.

        What ``tarball.walk`` reads an uncompressed tar by (``tarball.Arriving``): whole reads, as from a
        file, so that members go straight from the upload to their spool in large pieces.
        """
        self._wait_for(offset + n)
        return self._pread(offset, n)

    def _wait_for(self, end: int) -> None:
        """Until the upload holds ``end`` bytes or is sealed (its size is then its end)."""
        waited_since = None
        while self.seen < end:
            self.seen = os.fstat(self.fd).st_size
            if self.seen >= end or self._sealed():
                return
            now = time.monotonic()
            waited_since = waited_since or now
            if now - waited_since > STALL_SECONDS:
                raise StreamGone(f"no new bytes for {STALL_SECONDS:.0f} s")
            # Woken by this process's writes; another process's are seen by polling the size.
            self._wake.wait(0.05 if now - waited_since < 5 else 1.0)
            self._wake.clear()

    def _pread(self, offset: int, n: int) -> bytes:
        data = os.pread(self.fd, max(0, min(n, self.seen - offset)), offset)
        self._say_alive()
        self._unchecked += len(data)
        # What is read is written again by the consumer; what is handed over takes no new space.
        if self._unchecked >= ROOM_CHECK_BYTES and not self.holes.on:
            self._unchecked = 0
            if shutil.disk_usage(self.where).free < STREAM_MIN_FREE:
                raise StreamGone("the disk is nearly full: the import reads the upload itself")
        return data

    def stage_range(self, offset: int, size: int, store: ContentStore) -> StagedFile:
        """Bytes ``offset..offset+size`` of the upload (a member), staged into ``store``, hashed as written.

        Every few MiB staged are handed over (``upload_holes``): the upload file gives up its copy. Once
        the stream has caught up with the upload, the rest of the member is claimed: this process's chunk
        writes put it into the staged file themselves (``upload_claims``). On a failure the staged file
        stays, since the map may name it: the stream's end restores and removes.
        """
        path = store.tmp / uuid.uuid4().hex
        sha = hashlib.sha256()
        done = handed = 0
        with open(path, "wb", buffering=0) as out:
            while done < size:
                piece = min(PIECE, size - done)
                if self.claims is not None and self.holes.on:
                    there = os.fstat(self.fd).st_size - (offset + done)
                    if there <= 0 and not self._sealed():
                        self.holes.moved(offset + handed, offset + done, path.name, handed)
                        claim = Claim(offset + done, offset + size, offset, out.fileno(), path.name, sha, self.holes)
                        done = handed = self._claim(claim) - offset
                        continue
                    piece = min(piece, max(there, 1))  # what is there: the rest may come by the claim
                data = self.read_at(offset + done, piece)
                if not data:
                    raise StreamGone("the upload ended inside a member")
                sha.update(data)
                pwrite_all(out.fileno(), data, done)
                done += len(data)
                if done == size or done - handed >= HANDOVER_BYTES:
                    # Pieces end on a block boundary but the last, so that none leaves a block between two.
                    cut = done if done == size else self.holes.align_down(offset + done) - offset
                    self.holes.moved(offset + handed, offset + cut, path.name, handed)
                    handed = cut
        return StagedFile(path, f"sha256:{sha.hexdigest()}", size)

    def _claim(self, claim: Claim) -> int:
        """Let the chunk writes stage the claim's bytes; returns where the member's staging stands after it."""
        assert self.claims is not None
        if not self.claims.start(self.fd, claim):
            return claim.next
        try:
            waited_since, reached = time.monotonic(), claim.next
            while not claim.done() and claim.broken is None:
                self.claims.end(self.fd)  # ended if the upload grew another way (another process wrote it)
                if self.claims.claim is not claim or self._sealed():
                    break  # the rest is read from the upload file (a sealed upload ends inside the member)
                now = time.monotonic()
                if claim.next != reached:
                    waited_since, reached = now, claim.next
                    self._say_alive()
                elif now - waited_since > STALL_SECONDS:
                    raise StreamGone(f"no new bytes for {STALL_SECONDS:.0f} s")
                self._wake.wait(0.05 if now - waited_since < 5 else 1.0)
                self._wake.clear()
        finally:
            self.claims.end()
        if claim.broken is not None:
            raise StreamGone(f"a chunk's write into a staged file failed: {claim.broken}")
        return claim.next

    def _sealed(self) -> bool:
        if (self.where / "invalid").exists() or not self.where.is_dir():
            raise StreamGone("the upload was rewritten or deleted")
        if (self.where / "sealed").exists():
            self.seen = os.fstat(self.fd).st_size  # the seal comes after the last chunk: this is the size
            return True
        return False

    def _say_alive(self) -> None:
        now = time.monotonic()
        if now - self._alive_at > ALIVE_INTERVAL:
            self._alive_at = now
            (self.where / "alive").touch()

    def close(self) -> None:
        os.close(self.fd)
        self.holes.close()


class _Stream:
    def __init__(self, upload_id: str, where: Path) -> None:
        self.upload_id = upload_id
        self.where = where
        self.wake = threading.Event()
        self.done = threading.Event()
        self.claims = Claims()


# Streams running in this process, by upload id: writes and seals wake them without waiting for a poll.
_LIVE: dict[str, _Stream] = {}
_LIVE_LOCK = threading.Lock()


def _wake(upload_id: str) -> None:
    stream = _LIVE.get(upload_id)
    if stream is not None:
        stream.wake.set()


class UploadStreams:
    """Starts a consumer's stream on an upload's first chunk (see the module docstring)."""

    def __init__(self, uploads: Uploads, content_path: str | os.PathLike,
                 consumers: list[UploadConsumer]) -> None:
        self.uploads = uploads
        self.content_path = Path(content_path)
        self.consumers = consumers

    def writer(self, upload_id: str, offset: str | int) -> ChunkWriter:
        """A writer of one chunk at ``offset`` (0 <= offset <= the upload's size)."""
        handle = self.uploads.open_at(upload_id, offset)
        return ChunkWriter(self, upload_id, handle)

    def wrote(self, upload_id: str, offset: int, data: bytes | memoryview) -> None:
        """Bytes ``data`` are in the upload at ``offset``: wake its stream, or start one at offset 0."""
        if offset != 0 or not self.consumers or upload_id in _LIVE:
            _wake(upload_id)
            return
        head = bytes(data[:HEAD_BYTES])
        consumer = next((c for c in self.consumers if c.claims(head)), None)
        if consumer is None:
            return
        with _LIVE_LOCK:
            if upload_id in _LIVE or len(_LIVE) >= MAX_STREAMS:
                return
            where = stream_dir(self.content_path, upload_id)
            if not _make_stream_dir(where):
                return  # an earlier stream of this upload (failed, or done and kept): the import decides
            stream = _LIVE[upload_id] = _Stream(upload_id, where)
        threading.Thread(target=self._run, args=(stream, consumer), daemon=True,
                         name=f"upload-stream-{upload_id[:8]}").start()

    def _run(self, stream: _Stream, consumer: UploadConsumer) -> None:
        where = stream.where
        tail = None
        try:
            tail = UploadTail(self.uploads.path(stream.upload_id), where, stream.wake, stream.claims)
            result = consumer.consume(tail, ContentStore(self.content_path, staging_dir=where / "files"))
            partial = where / "result.json.part"
            partial.write_text(json.dumps(result))
            if (where / "invalid").exists():
                raise StreamGone("the upload was rewritten while it was read")
            partial.rename(where / "result.json")
        except Exception as exc:  # noqa: BLE001 - any failure means: the import reads the upload itself
            log.debug("upload %s: read as it arrived, given up (%s); its import reads it", stream.upload_id, exc)
            if tail is not None:
                tail.close()
                tail = None
            try:
                (where / "failed").write_text(str(exc)[:500])
                upload_holes.restore(self.uploads.root / stream.upload_id, where)
            except OSError as error:
                # The dir is gone (the upload was deleted), or the disk is full: what is staged stays,
                # named by the map, until a restore can put it back (the import's, or recovery's).
                log.debug("upload %s: stream not cleared (%s)", stream.upload_id, error)
            else:
                shutil.rmtree(where / "files", ignore_errors=True)
        finally:
            if tail is not None:
                tail.close()
            with _LIVE_LOCK:
                _LIVE.pop(stream.upload_id, None)
            stream.done.set()

    def delete(self, upload_id: str) -> None:
        """Delete the upload, and with it its stream (every way an upload is deleted comes here)."""
        self.uploads.delete(upload_id)
        self.discard(upload_id)

    def discard(self, upload_id: str) -> None:
        """The upload is deleted: its stream stops and what it staged goes."""
        where = stream_dir(self.content_path, upload_id)
        invalidate(self.content_path, upload_id)
        _wake(upload_id)
        # Moved aside first: a stream still running may write a marker by its path at any moment, which
        # would make rmtree leave the dir; under its new name nothing can be added to it.
        gone = where.with_name(f"{where.name}.gone-{uuid.uuid4().hex}")
        try:
            where.rename(gone)
        except FileNotFoundError:
            return
        shutil.rmtree(gone, ignore_errors=True)


def recover(where: Path, uploads: Uploads) -> bool:
    """At start, a stream dir no thread reads: a finished stream stays for its import, any other gives
    its upload every byte back and goes. Returns whether it went (OSError: a full disk, it stays)."""
    upload = uploads.root / where.name[len(STREAM_PREFIX):]
    finished = (where / "result.json").exists() and not any(
        (where / marker).exists() for marker in ("invalid", "failed"))
    if finished and upload.is_file():
        return False
    upload_holes.restore(upload, where)
    shutil.rmtree(where, ignore_errors=True)
    return True


def _make_stream_dir(where: Path) -> bool:
    """Make the stream dir whole (files/, the empty map, alive) under another name, then rename it into
    place: a restore never finds a stream dir without its map. False if the upload has one already."""
    making = where.with_name(f"new-{where.name}-{uuid.uuid4().hex}")
    (making / "files").mkdir(parents=True)
    upload_holes.create_map(making)
    (making / "alive").touch()
    try:
        making.rename(where)
        return True
    except OSError:
        shutil.rmtree(making, ignore_errors=True)
        return False


def _mark(content_path: str | os.PathLike, upload_id: str, marker: str) -> None:
    """Leave ``marker`` in the upload's stream dir, if it has one (it may go at any moment: a DELETE)."""
    where = stream_dir(content_path, upload_id)
    if where.is_dir():
        try:
            (where / marker).touch()
        except FileNotFoundError:
            pass


def invalidate(content_path: str | os.PathLike, upload_id: str) -> None:
    """Bytes the stream may have read changed: no import may use what it found."""
    _mark(content_path, upload_id, "invalid")


class ChunkWriter:
    """Writes one chunk's bytes at its offset; bytes that rewrite the upload are compared first.

    A resent chunk with the same bytes is skipped (nothing rewritten, the stream stays good); one with
    different bytes invalidates the stream before a byte of it is written.
    """

    def __init__(self, streams: UploadStreams, upload_id: str, handle: Any) -> None:
        self.streams = streams
        self.upload_id = upload_id
        self.handle = handle
        self.fd = handle.fileno()
        self.position = handle.tell()

    def write(self, data: bytes | memoryview) -> None:
        offset = self.position
        overlap = min(len(data), max(0, os.fstat(self.fd).st_size - offset))
        start = 0
        if overlap:
            # What it overlaps may have been handed over to the stream's staged files: back first.
            upload_holes.restore(self.streams.uploads.root / self.upload_id,
                                 stream_dir(self.streams.content_path, self.upload_id))
            if os.pread(self.fd, overlap, offset) == data[:overlap]:
                start = overlap
            else:
                invalidate(self.streams.content_path, self.upload_id)
        stream = _LIVE.get(self.upload_id)
        with memoryview(data) as view:
            if stream is not None:
                stream.claims.write(self.fd, offset + start, view[start:])
            else:
                pwrite_all(self.fd, view[start:], offset + start)
        self.position += len(data)
        self.streams.wrote(self.upload_id, offset, data)

    def close(self) -> None:
        self.handle.close()


@dataclass(frozen=True)
class StreamedUpload:
    """A stream's result, moved into the importing task's staging dir (``take``)."""

    where: Path
    result: dict[str, Any]

    def file(self, name: str) -> Path:
        """A file the consumer staged, by the name it gave in its result."""
        if not name or "/" in name or name in (".", ".."):
            raise ValueError(f"not a staged file's name: {name!r}")
        return self.where / "files" / name


def seal(content_path: str | os.PathLike, upload_id: str) -> None:
    """The upload is whole: its stream may take the end of the file as the end."""
    _mark(content_path, upload_id, "sealed")
    _wake(upload_id)


def take(content_path: str | os.PathLike, upload_id: str, upload: Path, into: Path,
         canceled: Callable[[], bool] | None = None) -> StreamedUpload | None:
    """The result of the upload's stream, once it has finished, linked under ``into``; None to read it anew.

    Seals the stream first, then waits while it shows progress (``alive``), at most ``TAKE_STALL``
    seconds without any. The stream dir stays (its staged files are linked, not moved): its map may
    name them for the upload's holes, and another import of the upload takes them again. Whenever it
    returns None the upload file holds every byte again (``upload_holes.restore``).
    """
    where = stream_dir(content_path, upload_id)
    if not where.is_dir():
        return None
    seal(content_path, upload_id)
    taken = _wait_and_link(where, upload_id, into, canceled)
    if taken is None:
        upload_holes.restore(upload, where)
    return taken


def _wait_and_link(where: Path, upload_id: str, into: Path,
                   canceled: Callable[[], bool] | None) -> StreamedUpload | None:
    asked = time.monotonic()
    while True:
        if (where / "invalid").exists() or (where / "failed").exists():
            return None
        if (where / "result.json").exists():
            break
        try:
            idle = time.time() - (where / "alive").stat().st_mtime
        except FileNotFoundError:
            return None
        if idle > TAKE_STALL:
            return None
        if canceled is not None and time.monotonic() - asked > ALIVE_INTERVAL:  # a database query: not each turn
            asked = time.monotonic()
            if canceled():
                return None
        live = _LIVE.get(upload_id)
        if live is not None:
            live.done.wait(0.05)
        else:
            time.sleep(0.01)
    taken = into / where.name
    try:
        result = json.loads((where / "result.json").read_text())
        (taken / "files").mkdir(parents=True)
        for staged in (where / "files").iterdir():
            os.link(staged, taken / "files" / staged.name)
    except (OSError, ValueError):
        shutil.rmtree(taken, ignore_errors=True)  # removed meanwhile, or a filesystem without links
        return None
    if (where / "invalid").exists():
        shutil.rmtree(taken, ignore_errors=True)
        return None
    return StreamedUpload(taken, result)
