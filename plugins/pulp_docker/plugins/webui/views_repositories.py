"""The repositories page, a repository's page, and the forms that change them."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pulp_docker.common import constants
from pulp_docker.plugins.webui import actions, repository_listing, sizes, tag_listing, task_display, visibility
from pulp_docker.plugins.webui.guard import UiError, action, not_found, page
from pulp_docker.plugins.webui.paging import listing
from pulp_docker.plugins.webui.rendering import render
from pulp_docker.plugins.webui.sessions import Visitor, served_over_tls
from pulp_docker.plugins.webui.visibility import Serving
from pulp_platform.errors import PulpException
from pulp_platform.models.repository import Repository
from pulp_platform.webapi.endpoint import state

_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


def registry_host(request: Request) -> str:
    """The host clients reach this server by (the request's ``Host``), as ``docker pull`` names it."""
    host = request.headers.get("host", "")
    return host if _HOST.match(host) else request.url.netloc


def task_redirect(task_id: str) -> Response:
    return RedirectResponse(f"/ui/tasks/{task_id}/", status_code=303)


def visible_repository(visitor: Visitor, repo_id: str) -> tuple[dict[str, Any], Serving]:
    """The repository's document and how it is served; 404 when it is missing or the visitor may not see it."""
    doc = Repository._get_collection().find_one({"repo_id": repo_id})
    if doc is None:
        raise not_found("repository of this id")
    serving = visibility.serving_of([repo_id])[repo_id]
    if not visibility.may_see(visitor, serving):
        raise not_found("repository of this id")
    return doc, serving


@page
def repositories(request: Request, visitor: Visitor) -> Response:
    wanted = listing(request, repository_listing.SORTS)
    found = repository_listing.repository_page(visitor, wanted)
    return render(request, visitor, "repositories.html", listing=wanted, page=found)


@page
def new_repository(request: Request, visitor: Visitor) -> Response:
    if not visitor.signed_in:
        return RedirectResponse("/ui/signin?next=" + quote("/ui/repositories/new"), status_code=303)
    return render(request, visitor, "repository_new.html", form={}, error=None)


@action
def create_repository(request: Request, visitor: Visitor, form: dict[str, str]) -> Response:
    try:
        repo = actions.create_repository(state(request).plugins, form)
    except PulpException as exc:
        # The form comes back with what was typed and what is wrong with it.
        status = exc.http_status if 400 <= exc.http_status < 500 else 400
        return render(request, visitor, "repository_new.html", status=status, form=form, error=exc.description)
    return RedirectResponse(f"/ui/repositories/{quote(repo.repo_id)}/", status_code=303)


@page
def repository(request: Request, visitor: Visitor) -> Response:
    doc, serving = visible_repository(visitor, request.path_params["repo_id"])
    wanted = listing(request, tag_listing.SORTS)
    tags = tag_listing.tag_page(doc, wanted)
    pull_tag = "latest" if tag_listing.has_tag(doc["repo_id"], "latest") else \
        (tags.rows[0].name if tags.rows else None)
    counts = doc.get("content_unit_counts") or {}
    context: dict[str, Any] = {
        "repo": doc, "serving": serving, "listing": wanted, "tags": tags, "counts": counts,
        "tag_count": counts.get(constants.TAG_TYPE_ID, 0), "size": sizes.stored_sizes([doc])[doc["repo_id"]],
        "last_change": repository_listing.last_change(doc), "host": registry_host(request),
        "tls": served_over_tls(request), "pull_tag": pull_tag, "running": [], "recent": []}
    if visitor.signed_in:
        context.update(running=task_display.unfinished(doc["repo_id"]),
                       recent=task_display.recent(doc["repo_id"], limit=5))
    return render(request, visitor, "repository.html", **context)


@page
def confirm_delete(request: Request, visitor: Visitor) -> Response:
    if not visitor.signed_in:
        raise UiError(403, "Sign in to delete repositories.")
    doc, serving = visible_repository(visitor, request.path_params["repo_id"])
    return render(request, visitor, "confirm.html", title=f"Delete repository {doc['repo_id']}?",
                  message=f"Repository {doc['repo_id']} and what it holds go; {serving.name} is no longer served. "
                          "Images other repositories hold stay.",
                  action=f"/ui/repositories/{quote(doc['repo_id'])}/delete", button="Delete repository",
                  back=f"/ui/repositories/{quote(doc['repo_id'])}/")


@action
def delete_repository(request: Request, visitor: Visitor, form: dict[str, str]) -> Response:
    doc, _ = visible_repository(visitor, request.path_params["repo_id"])
    return task_redirect(actions.delete_repository(state(request).celery, doc["repo_id"]))


@action
def publish(request: Request, visitor: Visitor, form: dict[str, str]) -> Response:
    doc, _ = visible_repository(visitor, request.path_params["repo_id"])
    return task_redirect(actions.publish(state(request).celery, doc["repo_id"]))


@action
def add_tag(request: Request, visitor: Visitor, form: dict[str, str]) -> Response:
    doc, _ = visible_repository(visitor, request.path_params["repo_id"])
    task_id = actions.add_tag(state(request).celery, doc["repo_id"], form.get("name", ""), form.get("digest", ""))
    return task_redirect(task_id)


@page
def confirm_remove_tag(request: Request, visitor: Visitor) -> Response:
    if not visitor.signed_in:
        raise UiError(403, "Sign in to remove tags.")
    doc, serving = visible_repository(visitor, request.path_params["repo_id"])
    name = request.path_params["name"]
    if not tag_listing.has_tag(doc["repo_id"], name):
        raise not_found("tag of this name in this repository")
    back = f"/ui/repositories/{quote(doc['repo_id'])}/"
    return render(request, visitor, "confirm.html", title=f"Remove tag {name}?",
                  message=f"{serving.name}:{name} will no longer be pulled. The image it names stays in the "
                          "repository, under its digest and any other tags.",
                  action=f"{back}tags/{quote(name)}/remove", button="Remove tag", back=back)


@action
def remove_tag(request: Request, visitor: Visitor, form: dict[str, str]) -> Response:
    doc, _ = visible_repository(visitor, request.path_params["repo_id"])
    task_id = actions.remove_tag(state(request).plugins, state(request).celery, doc["repo_id"],
                                 request.path_params["name"])
    return task_redirect(task_id)
