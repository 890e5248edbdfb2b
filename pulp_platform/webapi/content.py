"""Unit search in a repository, content units and types (``content/units|types/``), and orphans."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from pulp_platform.errors import InvalidValue, MissingResource, MissingValue
from pulp_platform.operations import content_units, orphans
from pulp_platform.operations.repositories import get_repository
from pulp_platform.operations.units import parse_criteria, search
from pulp_platform.tasking.dispatch import dispatch
from pulp_platform.tasking.reports import call_report
from pulp_platform.tasking.reservations import GLOBAL
from pulp_platform.webapi.endpoint import Reply, endpoint, href, state


@endpoint
def search_units(request: Request, body: dict) -> list:
    repo_id = get_repository(request.path_params["repo_id"]).repo_id
    plugins = state(request).plugins
    return search(repo_id, parse_criteria(body.get("criteria"), plugins), plugins)


# -- content units ------------------------------------------------------------------------------
def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InvalidValue(name, reason="must be true or false")


def _query_criteria(request: Request) -> tuple[dict[str, Any], bool]:
    """Pulp 2's GET search: ``filters`` and ``sort`` as JSON, ``field`` repeated, ``limit``, ``skip``."""
    raw: dict[str, Any] = {}
    include_repos = False
    for name in request.query_params:
        values = request.query_params.getlist(name)
        if name == "field":
            raw["fields"] = values
        elif name == "include_repos":
            include_repos = _flag(name, values[-1])
        elif name in ("filters", "sort"):
            try:
                raw[name] = json.loads(values[-1])
            except ValueError:
                raise InvalidValue(name, reason="must be JSON") from None
        else:
            raw[name] = values[-1]  # limit, skip; anything else is refused as a criteria key
    return raw, include_repos


@endpoint
def search_content_units(request: Request, body: dict | None) -> list:
    """``content/units/<type_id>/search/``: POST ``{"criteria": {...}, "include_repos": bool}``, or GET."""
    plugins = state(request).plugins
    type_id = request.path_params["type_id"]
    content_units.unit_model(plugins, type_id)
    if body is None:
        raw, include_repos = _query_criteria(request)
    else:
        if "criteria" not in body:
            raise MissingValue("criteria")
        raw, include_repos = body["criteria"], _flag("include_repos", body.get("include_repos", False))
    return content_units.search_units(plugins, type_id, content_units.parse_unit_criteria(raw), include_repos)


@endpoint
def list_content_units(request: Request, body: None) -> list:
    """``content/units/<type_id>/``: every unit of the type, as Pulp 2 listed them."""
    return content_units.search_units(state(request).plugins, request.path_params["type_id"],
                                      content_units.UnitCriteria())


@endpoint
def get_content_unit(request: Request, body: None) -> dict:
    return content_units.get_unit(state(request).plugins, request.path_params["type_id"],
                                  request.path_params["unit_id"])


def _type_body(type_id: str, model: Any) -> dict[str, Any]:
    return {"id": type_id, "display_name": getattr(model, "display_name", type_id),
            "description": (model.__doc__ or "").strip().split("\n")[0],
            "unit_key": list(model.unit_key_fields), "search_indexes": [], "referenced_types": [],
            "_ns": "content_types", "_href": href(f"content/types/{type_id}/"),
            "content_units": {"_href": href(f"content/units/{type_id}/")}}


@endpoint
def list_content_types(request: Request, body: None) -> list:
    return [{"content_type": type_id, "_href": href(f"content/types/{type_id}/")}
            for type_id in sorted(state(request).plugins.unit_models)]


@endpoint
def get_content_type(request: Request, body: None) -> dict:
    type_id = request.path_params["type_id"]
    return _type_body(type_id, content_units.unit_model(state(request).plugins, type_id))


# -- orphans ------------------------------------------------------------------------------------
@endpoint
def orphan_summary(request: Request, body: None) -> dict:
    return orphans.summary(state(request).plugins)


@endpoint
def orphans_of_type(request: Request, body: None) -> list:
    return orphans.list_orphans(state(request).plugins, request.path_params["type_id"])


@endpoint
def get_orphan_endpoint(request: Request, body: None) -> dict:
    return get_orphan(request)


def get_orphan(request: Request) -> dict:
    """``content/orphans/<type_id>/<unit_id>/``: one orphan (404 if the unit is held, or in use)."""
    type_id, unit_id = request.path_params["type_id"], request.path_params["unit_id"]
    # The orphan listing decides what an orphan is (held by no repository, served by no distributor).
    for doc in orphans.list_orphans(state(request).plugins, type_id):
        if doc["_id"] == unit_id:
            return doc
    raise MissingResource(orphan=unit_id, content_type=type_id)


@endpoint
def remove_orphans(request: Request, body: dict | None) -> Reply:
    """All orphans, those of a type, or (``content/orphans/<type>/<unit_id>/``) one: 404 unless it is one."""
    type_id = request.path_params.get("type_id")
    unit_id = request.path_params.get("unit_id")
    if type_id is not None and type_id not in state(request).plugins.unit_models:
        raise MissingResource(content_type=type_id)
    if unit_id is not None:
        get_orphan(request)  # 404 when the unit is held or served
    args = {"type_id": type_id, **({"unit_ids": [unit_id]} if unit_id is not None else {})}
    task_type = ("pulp.server.managers.content.orphan.delete_orphans_by_id" if unit_id is not None
                 else "pulp.server.managers.content.orphan.delete_all_orphans")
    task_id = dispatch(state(request).celery, "pulp_platform.operations.orphans:remove_orphans", args,
                       resource=GLOBAL, tags=["pulp:content_unit:orphans"], task_type=task_type)
    return Reply(202, call_report([task_id]))
