"""``tasks/``: list (by ``?tag=`` and ``?state=``), get one, cancel."""

from __future__ import annotations

from starlette.requests import Request

from pulp_platform.errors import MissingResource
from pulp_platform.models.task import TaskStatus
from pulp_platform.tasking import dispatch
from pulp_platform.tasking.reports import task_report
from pulp_platform.webapi.endpoint import endpoint


@endpoint
def list_tasks(request: Request, body: None) -> list:
    query: dict = {}
    tags = request.query_params.getlist("tag")
    if tags:
        query["tags"] = {"$all": tags}
    states = request.query_params.getlist("state")
    if states:
        query["state"] = {"$in": states}
    return [task_report(doc) for doc in TaskStatus._get_collection().find(query).sort("sequence", 1)]


@endpoint
def get_task(request: Request, body: None) -> dict:
    task_id = request.path_params["task_id"]
    doc = TaskStatus._get_collection().find_one({"_id": task_id})
    if doc is None:
        raise MissingResource(task_id=task_id)
    return task_report(doc)


@endpoint
def cancel_task(request: Request, body: None) -> None:
    dispatch.cancel(request.path_params["task_id"])
    return None
