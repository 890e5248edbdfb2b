"""The UI's JSON endpoints under ``/ui/api/``, for its JavaScript: uploads in chunks, and task states.

Uploads are the platform's upload sessions (``content/uploads/``): the same files, created, sized and
deleted through ``ApiState.uploads``, and each chunk is written by the REST API's own chunk handler
(``webapi.uploads.put_chunk``, unwrapped from its Basic/Bearer check, which the session and CSRF
checks here replace), so its streaming and disk-space checks are the same. The import is dispatched
as ``actions/import_upload/`` dispatches it.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from pulp_docker.plugins.webui import actions, task_display
from pulp_docker.plugins.webui.guard import UiError, api
from pulp_docker.plugins.webui.sessions import Visitor
from pulp_docker.plugins.webui.views_repositories import visible_repository
from pulp_platform.webapi import uploads as rest_uploads
from pulp_platform.webapi.endpoint import parse_json, state

MAX_POLLED = 50


@api
def create_upload(request: Request, visitor: Visitor) -> Response | dict[str, Any]:
    return {"upload_id": state(request).uploads.create()}


@api
def upload_status(request: Request, visitor: Visitor) -> dict[str, Any]:
    upload_id = request.path_params["upload_id"]
    return {"upload_id": upload_id, "size": state(request).uploads.size(upload_id)}


@api
def delete_upload(request: Request, visitor: Visitor) -> dict[str, Any]:
    state(request).streams.delete(request.path_params["upload_id"])  # the upload and what was read of it
    return {}


@api
async def put_chunk(request: Request, visitor: Visitor) -> dict[str, Any]:
    await rest_uploads.put_chunk.__wrapped__(request)
    return {"size": state(request).uploads.size(request.path_params["upload_id"])}


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > 64 * 1024:
        raise UiError(413, "The request is larger than 64 KiB.")
    body = parse_json(raw) if raw.strip() else {}
    if not isinstance(body, dict):
        raise UiError(400, "The request must be a JSON object.")
    return body


@api
async def import_upload(request: Request, visitor: Visitor) -> dict[str, Any]:
    """``{"upload_id", "tag"}`` -> ``{"task_id"}``: import the uploaded tarball into the repository."""
    body = await _json_body(request)
    upload_id, tag = body.get("upload_id"), body.get("tag") or None
    if not isinstance(upload_id, str) or (tag is not None and not isinstance(tag, str)):
        raise UiError(400, "Send upload_id (and optionally tag) as strings.")

    def queue() -> str:
        doc, _ = visible_repository(visitor, request.path_params["repo_id"])
        return actions.import_image(state(request).celery, state(request).uploads, doc["repo_id"], upload_id,
                                    tag.strip() if tag else None)

    return {"task_id": await run_in_threadpool(queue)}


@api
def task_states(request: Request, visitor: Visitor) -> dict[str, Any]:
    """``?id=A&id=B``: the state, progress and outcome of each task (what the pages poll every second)."""
    ids = request.query_params.getlist("id")[:MAX_POLLED]
    return {"tasks": [view.as_json() for view in task_display.tasks(ids)]} if ids else {"tasks": []}
