"""Blob uploads (distribution spec "push"): sessions, chunks, monolithic uploads and cross-repository mounts.

::

    POST   /v2/<name>/blobs/uploads/                  202: a new session (Location, Range, Docker-Upload-UUID)
    POST   /v2/<name>/blobs/uploads/?digest=D         201: the body is the whole blob (monolithic)
    POST   /v2/<name>/blobs/uploads/?mount=D&from=N   201 when the caller may pull N and it holds D; else 202
    POST   /v2/<name>/blobs/uploads/?mount=D          201 when the store knows D (automatic cross-mount)
    PATCH  /v2/<name>/blobs/uploads/<id>              202: a chunk; Content-Range must start at the session's end (416)
    PUT    /v2/<name>/blobs/uploads/<id>?digest=D     201: closes the session, with or without a last chunk
    GET    /v2/<name>/blobs/uploads/<id>              204: the session's Range
    DELETE /v2/<name>/blobs/uploads/<id>              204: cancels it

Bytes are appended to the session's file in the content store's staging dir as they arrive and
hashed as they arrive (``push.sessions``); closing commits the file by rename through the ingest
path's ``store_blob``, and publishes the blob under the name at once.
"""

from __future__ import annotations

import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from pulp_docker.common.error_codes import DockerError
from pulp_docker.common.references import is_sha256_digest
from pulp_docker.plugins import publication
from pulp_docker.plugins.ingest.blob import hold_blob, store_blob
from pulp_docker.plugins.models import Blob
from pulp_docker.plugins.push import targets
from pulp_docker.plugins.push.sessions import Sessions, UploadSession
from pulp_docker.plugins.registry import auth
from pulp_docker.plugins.registry.base import content_store
from pulp_docker.plugins.registry.errors import (
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    NameInvalid,
    RegistryError,
    StorageFull,
    registry_stream_view,
)
from pulp_platform.diskspace import InsufficientStorage, RoomWatch, check_room, is_disk_full
from pulp_platform.plugin_api import Conduit
from pulp_platform.storage import ContentStore
from pulp_platform.webapi.body_batches import batches
from pulp_platform.webapi.endpoint import state

CHUNK_MIN = 1024 * 1024  # OCI-Chunk-Min-Length: smaller chunks are accepted, this is a hint
WRITE_BATCH = 1024 * 1024  # bytes gathered before one write-and-hash in a worker thread
_RANGE = re.compile(r"^(?:bytes[ =])?(\d+)-(\d+)$")


class RangeNotSatisfiable(RegistryError):
    code, status, message = "BLOB_UPLOAD_INVALID", 416, "the chunk does not start where the upload ends"


@cache
def _sessions(root: Path) -> Sessions:
    return Sessions(ContentStore(root))


def sessions(request: Request) -> Sessions:
    return _sessions(content_store(request).root)


def _name(request: Request) -> str:
    name = request.path_params["name"]
    if not publication.valid_name(name):
        raise NameInvalid({"name": name})
    return name


def _target(request: Request, name: str) -> targets.Target:
    """The repository ``name`` pushes into, once the caller may push it (created when new)."""
    auth.require(request, name, auth.PUSH)
    return targets.find_or_create(state(request).plugins, name)


def _conduit(request: Request, repo_id: str) -> Conduit:
    return Conduit(repo_id, content_store(request))


def _session_headers(request: Request, name: str, session: UploadSession) -> dict[str, str]:
    return {"Location": f"/v2/{name}/blobs/uploads/{session.id}",
            "Range": f"0-{max(session.offset - 1, 0)}",
            "Docker-Upload-UUID": session.id, "OCI-Chunk-Min-Length": str(CHUNK_MIN)}


def _created(name: str, digest: str) -> Response:
    return Response(status_code=201, headers={"Location": f"/v2/{name}/blobs/{digest}",
                                              "Docker-Content-Digest": digest, "Content-Length": "0"})


def _commit(request: Request, target: targets.Target, session: UploadSession, digest: str) -> Response:
    """Close a session as blob ``digest``: verify, commit, associate, publish (in a worker thread)."""
    store = sessions(request)
    staged = store.staged(session)
    conduit = _conduit(request, target.repo_id)
    try:
        unit = store_blob(conduit, staged, digest)
    except DockerError:
        store.finish(session)
        raise DigestInvalid({"digest": digest, "actual": staged.digest}) from None
    store.finish(session)
    publication.publish_units(conduit, target.config, [unit])
    return _created(session.name, digest)


def _mount(request: Request, target: targets.Target, name: str, digest: str, source: str | None) -> Response | None:
    """Mount ``digest`` from ``source`` (or from the store) into the target; None when it cannot."""
    if not is_sha256_digest(digest):
        return None
    if source is not None:
        published = publication.Published.lookup(source)
        if published is None or published.blob(digest) is None:
            return None
        if not auth.identify(request).may_pull(published):
            return None
    unit = Blob.objects(digest=digest).first()
    store = content_store(request)
    if unit is None or not store.exists(digest):
        return None
    conduit = _conduit(request, target.repo_id)
    publication.publish_units(conduit, target.config, [hold_blob(conduit, unit)])
    return _created(name, digest)


async def _append(request: Request, store: Sessions, session: UploadSession) -> None:
    """Append the request body to the session's file, hashing it, in batches handed to a worker thread.

    A body whose declared length does not fit is refused before a byte is written; a disk that fills
    while writing ends the session (its file is removed: a half-written batch would leave the file and
    its running hash apart) with a 507, and the client starts the blob again.
    """
    declared = request.headers.get("content-length")
    try:
        if declared and declared.isdigit():
            await run_in_threadpool(check_room, store.path(session.id).parent, int(declared), "the blob upload")
        await _write_body(request, store, session)
    except Exception as exc:
        if not isinstance(exc, InsufficientStorage) and not is_disk_full(exc):
            raise
        await run_in_threadpool(store.finish, session)
        raise StorageFull({"session": session.id, "reason": str(exc)}) from exc


async def _write_body(request: Request, store: Sessions, session: UploadSession) -> None:
    path = store.path(session.id)
    handle = await run_in_threadpool(open, path, "ab")
    watch = RoomWatch(path.parent, "the blob upload")
    try:
        async for batch in batches(request.stream(), WRITE_BATCH):
            await run_in_threadpool(store.append, session, batch, handle)
            watch.wrote(len(batch))
    finally:
        await run_in_threadpool(handle.close)
    await run_in_threadpool(store.record, session)


@registry_stream_view
async def start_upload(request: Request) -> Response:
    """``POST /v2/<name>/blobs/uploads/``: a session, a monolithic upload, or a mount."""
    name = _name(request)
    target = await run_in_threadpool(_target, request, name)
    store = sessions(request)
    await run_in_threadpool(store.purge, state(request).settings.push_session_ttl)
    query = request.query_params
    if "mount" in query:
        mounted = await run_in_threadpool(_mount, request, target, name, query["mount"], query.get("from"))
        if mounted is not None:
            return mounted
    session = await run_in_threadpool(store.create, name, target.repo_id)
    digest = query.get("digest")
    if digest is not None:
        if not is_sha256_digest(digest):
            await run_in_threadpool(store.finish, session)
            raise DigestInvalid({"digest": digest})
        await _append(request, store, session)
        return await run_in_threadpool(_commit, request, target, session, digest)
    return Response(status_code=202, headers={**_session_headers(request, name, session), "Content-Length": "0"})


def _pushing(request: Request) -> tuple[str, targets.Target]:
    """The name and the repository of a session's request, once the caller may push it."""
    name = _name(request)
    auth.require(request, name, auth.PUSH)
    target = targets.find(name)
    if target is None:
        raise BlobUploadUnknown({"name": name, "session": request.path_params["session_id"]})
    return name, target


def _existing(request: Request) -> tuple[str, targets.Target, UploadSession]:
    """``_pushing`` and the session, read without its lock (status and cancel do not write it)."""
    name, target = _pushing(request)
    session = sessions(request).get(request.path_params["session_id"], name)
    if session is None:
        raise BlobUploadUnknown({"name": name, "session": request.path_params["session_id"]})
    return name, target, session


def _check_range(request: Request, session: UploadSession) -> None:
    header = request.headers.get("content-range")
    if header is None:
        return
    match = _RANGE.match(header.strip())
    if not match:
        raise RangeNotSatisfiable({"Content-Range": header}, message="Content-Range is not start-end")
    start, end = int(match.group(1)), int(match.group(2))
    if start != session.offset or end < start:
        raise RangeNotSatisfiable({"Content-Range": header, "upload_size": session.offset})
    length = request.headers.get("content-length")
    if length is not None and int(length) != end - start + 1:
        raise BlobUploadInvalid({"Content-Range": header, "Content-Length": length},
                                message="Content-Range and Content-Length disagree")


def _read_locked(store: Sessions, lock: threading.Lock, session_id: str, name: str) -> UploadSession:
    """The session, read once its lock is held (so its offset is the last write's); else BlobUploadUnknown."""
    lock.acquire()
    session = store.get(session_id, name)
    if session is None:
        lock.release()
        store.forget_lock(session_id, lock)
        raise BlobUploadUnknown({"name": name, "session": session_id})
    return session


@asynccontextmanager
async def _writing(request: Request, store: Sessions, name: str) -> AsyncIterator[UploadSession]:
    """Hold this process's lock on the session, read it under the lock, and check the request's Content-Range.

    One read, under the lock: a read before it would have to be read again, as another request of
    this process may have appended meanwhile."""
    session_id = request.path_params["session_id"]
    lock = store.lock(session_id)
    session = await run_in_threadpool(_read_locked, store, lock, session_id, name)
    try:
        _check_range(request, session)
        yield session
    finally:
        lock.release()


@registry_stream_view
async def patch_upload(request: Request) -> Response:
    """``PATCH``: append a chunk (in order)."""
    name, _target = await run_in_threadpool(_pushing, request)
    store = sessions(request)
    async with _writing(request, store, name) as session:
        await _append(request, store, session)
    return Response(status_code=202, headers={**_session_headers(request, name, session), "Content-Length": "0"})


@registry_stream_view
async def finish_upload(request: Request) -> Response:
    """``PUT ?digest=``: close the session, appending a last chunk if the request has a body."""
    name, target = await run_in_threadpool(_pushing, request)
    digest = request.query_params.get("digest")
    if digest is None or not is_sha256_digest(digest):
        raise DigestInvalid({"digest": digest}, message="PUT needs ?digest=sha256:<hex>")
    store = sessions(request)
    async with _writing(request, store, name) as session:
        await _append(request, store, session)
        return await run_in_threadpool(_commit, request, target, session, digest)


@registry_stream_view
async def upload_status(request: Request) -> Response:
    """``GET``: where the session stands."""
    name, _target, session = await run_in_threadpool(_existing, request)
    return Response(status_code=204, headers=_session_headers(request, name, session))


@registry_stream_view
async def cancel_upload(request: Request) -> Response:
    """``DELETE``: cancel the session and remove its file."""
    _name_, _target, session = await run_in_threadpool(_existing, request)
    await run_in_threadpool(sessions(request).finish, session)
    return Response(status_code=204)
