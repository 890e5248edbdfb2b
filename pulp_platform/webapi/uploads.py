"""``content/uploads/``: create, write a chunk at an offset (streamed to disk), size, list, delete."""

from __future__ import annotations

import asyncio

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from pulp_platform.diskspace import RoomWatch, check_room, full_disk_is_an_error
from pulp_platform.webapi.body_batches import batches
from pulp_platform.webapi.endpoint import Reply, endpoint, href, state, stream_endpoint

WRITE_BATCH = 1024 * 1024  # bytes of a chunk's body gathered before one write in a worker thread


@endpoint
def create_upload(request: Request, body: dict) -> Reply:
    upload_id = state(request).uploads.create()
    location = href(f"content/uploads/{upload_id}/")
    return Reply(201, {"_href": location, "upload_id": upload_id}, {"Location": location})


@endpoint
def list_uploads(request: Request, body: None) -> dict:
    return {"upload_ids": state(request).uploads.ids()}


@endpoint
def get_upload(request: Request, body: None) -> dict:
    upload_id = request.path_params["upload_id"]
    return {"upload_id": upload_id, "size": state(request).uploads.size(upload_id),
            "_href": href(f"content/uploads/{upload_id}/")}


@endpoint
def delete_upload(request: Request, body: None) -> None:
    state(request).streams.delete(request.path_params["upload_id"])
    return None


@stream_endpoint
async def put_chunk(request: Request) -> None:
    """Write the request body at the offset as it arrives; nothing is held in memory but one chunk.

    A chunk whose declared length does not fit is refused before a byte is written; a disk that fills
    while writing is a 507 with an error body too (the client may resend the chunk at the same offset).
    Each batch written wakes the upload's stream, if an importer reads it as it arrives (``upload_streams``).
    """
    uploads = state(request).uploads
    handle = await run_in_threadpool(state(request).streams.writer, request.path_params["upload_id"],
                                     request.path_params["offset"])
    writing: asyncio.Future | None = None
    with full_disk_is_an_error("the upload chunk"):
        try:
            declared = request.headers.get("content-length")
            if declared and declared.isdigit():
                check_room(uploads.root, int(declared), "the upload chunk")
            watch = RoomWatch(uploads.root, "the upload chunk")
            # Writes go to a worker thread in batches: a write can block (a slow or full disk, page
            # cache writeback), and the event loop must keep answering other requests meanwhile. One
            # batch is written while the next is received (a write may hash, too: ``upload_claims``);
            # the one before is written by then, as ``batches`` needs before it refills its buffer.
            async for batch in batches(request.stream(), WRITE_BATCH):
                if writing is not None:
                    await writing
                writing = asyncio.ensure_future(run_in_threadpool(handle.write, batch))
                watch.wrote(len(batch))
            if writing is not None:
                await writing
        finally:
            if writing is not None:
                # Never closed under a write; its error, if it had one, was raised above (or another was).
                await asyncio.gather(writing, return_exceptions=True)
            await run_in_threadpool(handle.close)
    return None

