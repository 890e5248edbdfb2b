"""The web UI's routes, loaded by ``app`` on the first request for one of them.

::

    GET  /                                            -> /ui/
    GET  /ui/                                         repositories (?q=prefix&page=N)
    GET  /ui/signin, POST /ui/signin, POST /ui/signout
    GET  /ui/repositories/new, POST /ui/repositories/ create
    GET  /ui/repositories/<id>/                       tags (?q=prefix&sort=name|name-desc|newest|oldest&page=N)
    GET|POST /ui/repositories/<id>/delete             confirm, delete
    POST /ui/repositories/<id>/publish
    POST /ui/repositories/<id>/tags/                  add a tag
    GET|POST /ui/repositories/<id>/tags/<name>/remove confirm, remove
    GET  /ui/repositories/<id>/manifests/<digest>
    GET  /ui/tasks/, /ui/tasks/<task id>/
    /ui/api/...                                       JSON for the pages' scripts (api.py)
    /ui/static/...                                    CSS and JavaScript
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from pulp_docker.plugins.webui import api, views_auth, views_manifests, views_repositories, views_tasks
from pulp_docker.plugins.webui.guard import not_found, page
from pulp_docker.plugins.webui.rendering import HERE
from pulp_docker.plugins.webui.sessions import Visitor

REPO = "/ui/repositories/{repo_id}/"


async def to_ui(request: Request) -> Response:
    return RedirectResponse("/ui/", status_code=307)


@page
def unknown(request: Request, visitor: Visitor) -> Response:
    raise not_found("page at this address")


def routes() -> list[BaseRoute]:
    return [
        Route("/", to_ui, methods=["GET", "HEAD"]),
        Route("/ui", to_ui, methods=["GET", "HEAD"]),
        Route("/ui/", views_repositories.repositories, methods=["GET", "HEAD"]),
        Route("/ui/signin", views_auth.signin_form, methods=["GET", "HEAD"]),
        Route("/ui/signin", views_auth.signin, methods=["POST"]),
        Route("/ui/signout", views_auth.signout, methods=["POST"]),
        Route("/ui/repositories/new", views_repositories.new_repository, methods=["GET", "HEAD"]),
        Route("/ui/repositories/", views_repositories.create_repository, methods=["POST"]),
        Route(REPO, views_repositories.repository, methods=["GET", "HEAD"]),
        Route(REPO + "delete", views_repositories.confirm_delete, methods=["GET", "HEAD"]),
        Route(REPO + "delete", views_repositories.delete_repository, methods=["POST"]),
        Route(REPO + "publish", views_repositories.publish, methods=["POST"]),
        Route(REPO + "tags/", views_repositories.add_tag, methods=["POST"]),
        Route(REPO + "tags/{name}/remove", views_repositories.confirm_remove_tag, methods=["GET", "HEAD"]),
        Route(REPO + "tags/{name}/remove", views_repositories.remove_tag, methods=["POST"]),
        Route(REPO + "manifests/{digest}", views_manifests.manifest, methods=["GET", "HEAD"]),
        Route("/ui/tasks/", views_tasks.tasks, methods=["GET", "HEAD"]),
        Route("/ui/tasks/{task_id}/", views_tasks.task, methods=["GET", "HEAD"]),
        Route("/ui/api/tasks/", api.task_states, methods=["GET"]),
        Route("/ui/api/uploads/", api.create_upload, methods=["POST"]),
        Route("/ui/api/uploads/{upload_id}/", api.upload_status, methods=["GET"]),
        Route("/ui/api/uploads/{upload_id}/", api.delete_upload, methods=["DELETE"]),
        Route("/ui/api/uploads/{upload_id}/{offset}/", api.put_chunk, methods=["PUT"]),
        Route("/ui/api/repositories/{repo_id}/import_upload/", api.import_upload, methods=["POST"]),
        Mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static"),
        Route("/ui/{path:path}", unknown, methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]),
    ]

