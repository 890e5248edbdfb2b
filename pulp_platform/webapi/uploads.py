"""``content/uploads/``: create, write a chunk at an offset (streamed to disk), size, list, delete."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from pulp_platform.webapi.endpoint import Reply, endpoint, href, state, stream_endpoint


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
    state(request).uploads.delete(request.path_params["upload_id"])
    return None


@stream_endpoint
async def put_chunk(request: Request) -> None:
    """Write the request body at the offset as it arrives; nothing is held in memory but one chunk."""
    handle = await run_in_threadpool(state(request).uploads.open_at, request.path_params["upload_id"],
                                     request.path_params["offset"])
    try:
        async for chunk in request.stream():
            handle.write(chunk)
    finally:
        handle.close()
    return None
