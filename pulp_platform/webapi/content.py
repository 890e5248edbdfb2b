"""Unit search in a repository, and orphans (``content/orphans/``)."""

from __future__ import annotations

from starlette.requests import Request

from pulp_platform.errors import MissingResource
from pulp_platform.operations import orphans
from pulp_platform.operations.repositories import get_repository
from pulp_platform.operations.units import parse_criteria, search
from pulp_platform.tasking.dispatch import dispatch
from pulp_platform.tasking.reports import call_report
from pulp_platform.tasking.reservations import GLOBAL
from pulp_platform.webapi.endpoint import Reply, endpoint, state


@endpoint
def search_units(request: Request, body: dict) -> list:
    repo_id = get_repository(request.path_params["repo_id"]).repo_id
    plugins = state(request).plugins
    return search(repo_id, parse_criteria(body.get("criteria"), plugins), plugins)


@endpoint
def orphan_summary(request: Request, body: None) -> dict:
    return orphans.summary(state(request).plugins)


@endpoint
def orphans_of_type(request: Request, body: None) -> list:
    return orphans.list_orphans(state(request).plugins, request.path_params["type_id"])


@endpoint
def remove_orphans(request: Request, body: dict | None) -> Reply:
    type_id = request.path_params.get("type_id")
    if type_id is not None and type_id not in state(request).plugins.unit_models:
        raise MissingResource(content_type=type_id)
    task_id = dispatch(state(request).celery, "pulp_platform.operations.orphans:remove_orphans",
                       {"type_id": type_id}, resource=GLOBAL, tags=["pulp:content_unit:orphans"],
                       task_type="pulp.server.managers.content.orphan.delete_all_orphans")
    return Reply(202, call_report([task_id]))
