"""The tasks page and a task's page (signed-in users only: tasks name every repository)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pulp_docker.plugins.webui import task_display
from pulp_docker.plugins.webui.guard import not_found, page
from pulp_docker.plugins.webui.rendering import render
from pulp_docker.plugins.webui.sessions import Visitor
from pulp_platform.models.repository import Repository


def _signin(request: Request) -> Response:
    return RedirectResponse("/ui/signin?next=" + quote(request.url.path), status_code=303)


@page
def tasks(request: Request, visitor: Visitor) -> Response:
    if not visitor.signed_in:
        return _signin(request)
    return render(request, visitor, "tasks.html", running=task_display.unfinished(), recent=task_display.recent())


@page
def task(request: Request, visitor: Visitor) -> Response:
    if not visitor.signed_in:
        return _signin(request)
    found = task_display.task(request.path_params["task_id"])
    if found is None:
        raise not_found("task of this id")
    repo_exists = bool(found.repo_id) and Repository.objects(repo_id=found.repo_id).only("id").first() is not None
    return render(request, visitor, "task.html", task=found, repo_exists=repo_exists)
