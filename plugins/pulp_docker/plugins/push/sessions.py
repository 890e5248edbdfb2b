"""Blob upload sessions: a database row each, and a file in the content store's staging dir.

The bytes go to disk once, appended as they arrive, and are hashed as they arrive: each API process
keeps the running sha256 of the sessions it is writing (``hashlib`` states cannot be stored). When a
session is closed by another process, or after a restart, that state is missing and the file is
hashed once at close instead. On close the file is committed by rename, so it is never copied.

Sessions live in the database (``docker_upload_sessions``), so they survive a restart of the server;
those untouched for ``push_session_ttl`` seconds are purged with their files, as distribution's
upload purge does.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import mongoengine as me

from pulp_platform.models.content import now
from pulp_platform.storage import ContentStore, StagedFile

log = logging.getLogger(__name__)
PURGE_INTERVAL = 60.0  # seconds between purges started by one process


class UploadSession(me.Document):
    """One blob upload in progress: where it goes and how many bytes it holds."""

    id = me.StringField(primary_key=True)
    name = me.StringField(required=True)
    repo_id = me.StringField(required=True)
    offset = me.IntField(default=0)
    created = me.DateTimeField(default=now)
    updated = me.DateTimeField(default=now)

    meta: ClassVar[dict[str, Any]] = {"collection": "docker_upload_sessions", "indexes": [{"fields": ["updated"]}]}


@dataclass
class _Hashing:
    offset: int
    sha: Any = field(default_factory=hashlib.sha256)


class Sessions:
    """The sessions of one content store, with this process's running hashes."""

    def __init__(self, store: ContentStore) -> None:
        self.store = store
        self._hashing: dict[str, _Hashing] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._last_purge = 0.0

    def path(self, session_id: str) -> Path:
        return self.store.tmp / f"push-{session_id}"

    def lock(self, session_id: str) -> threading.Lock:
        """Serialises writes to one session within this process."""
        with self._guard:
            return self._locks.setdefault(session_id, threading.Lock())

    def forget_lock(self, session_id: str, lock: threading.Lock) -> None:
        """Drop the lock ``lock`` made for a session id that names no session (so unknown ids leave nothing)."""
        with self._guard:
            if self._locks.get(session_id) is lock and not lock.locked():
                del self._locks[session_id]

    def create(self, name: str, repo_id: str) -> UploadSession:
        session = UploadSession(id=uuid.uuid4().hex, name=name, repo_id=repo_id)
        self.path(session.id).touch(exist_ok=False)
        session.save(force_insert=True)
        self._hashing[session.id] = _Hashing(0)
        return session

    def get(self, session_id: str, name: str) -> UploadSession | None:
        if not isinstance(session_id, str) or len(session_id) != 32 or not session_id.isalnum():
            return None
        session = UploadSession.objects(id=session_id, name=name).first()
        if session is not None and not self.path(session_id).is_file():
            return None
        return session

    def append(self, session: UploadSession, chunk: bytes, handle: Any) -> None:
        """Write ``chunk`` at the end of the session's file (``handle``, opened for appending) and hash it."""
        handle.write(chunk)
        state = self._hashing.get(session.id)
        if state is not None and state.offset == session.offset:
            state.sha.update(chunk)
            state.offset += len(chunk)
        else:
            self._hashing.pop(session.id, None)  # written elsewhere too: hash at close
        session.offset += len(chunk)

    def record(self, session: UploadSession) -> None:
        """Store the session's new size (and that it was touched)."""
        UploadSession._get_collection().update_one({"_id": session.id},
                                                   {"$set": {"offset": session.offset, "updated": now()}})

    def staged(self, session: UploadSession) -> StagedFile:
        """The session's file as a staged file, with the digest of its bytes (hashed now if need be)."""
        path = self.path(session.id)
        size = path.stat().st_size
        state = self._hashing.pop(session.id, None)
        if state is not None and state.offset == size:
            digest = f"sha256:{state.sha.hexdigest()}"
        else:
            with open(path, "rb") as handle:
                digest = f"sha256:{hashlib.file_digest(handle, 'sha256').hexdigest()}"
        return StagedFile(path, digest, size)

    def finish(self, session: UploadSession) -> None:
        """Forget the session (its file was committed, or is removed here)."""
        self._hashing.pop(session.id, None)
        with self._guard:
            self._locks.pop(session.id, None)
        self.path(session.id).unlink(missing_ok=True)
        UploadSession._get_collection().delete_one({"_id": session.id})

    def purge(self, ttl: float, *, force: bool = False) -> int:
        """Remove sessions untouched for ``ttl`` seconds, with their files; at most once a minute (or ttl/2)."""
        if not force and time.monotonic() - self._last_purge < min(PURGE_INTERVAL, ttl / 2):
            return 0
        self._last_purge = time.monotonic()
        cutoff = now() - timedelta(seconds=ttl)
        stale = [doc["_id"] for doc in UploadSession._get_collection().find({"updated": {"$lt": cutoff}}, {"_id": 1})]
        for session_id in stale:
            self.path(session_id).unlink(missing_ok=True)
            UploadSession._get_collection().delete_one({"_id": session_id})
            self._hashing.pop(session_id, None)
        if stale:
            log.info("purged %d stale blob upload sessions", len(stale))
        return len(stale)
