"""``plugins/types|importers|distributors/``: what is installed."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from pulp_platform.errors import MissingResource
from pulp_platform.webapi.endpoint import endpoint, href, state


def _types(request: Request) -> list[dict[str, Any]]:
    return [{"id": type_id, "display_name": getattr(model, "display_name", type_id),
             "description": (model.__doc__ or "").strip().split("\n")[0],
             "unit_key": list(model.unit_key_fields), "search_indexes": [], "referenced_types": [],
             "_href": href(f"plugins/types/{type_id}/"), "_ns": "content_types"}
            for type_id, model in sorted(state(request).plugins.unit_models.items())]


def _importers(request: Request) -> list[dict[str, Any]]:
    return [{"id": type_id, "display_name": cls.display_name or type_id, "types": list(cls.unit_types),
             "_href": href(f"plugins/importers/{type_id}/")}
            for type_id, cls in sorted(state(request).plugins.importers.items())]


def _distributors(request: Request) -> list[dict[str, Any]]:
    return [{"id": type_id, "display_name": cls.display_name or type_id, "types": list(cls.unit_types),
             "_href": href(f"plugins/distributors/{type_id}/")}
            for type_id, cls in sorted(state(request).plugins.distributors.items())]


_KINDS = {"types": _types, "importers": _importers, "distributors": _distributors}


def _entries(request: Request) -> list[dict[str, Any]]:
    kind = request.path_params["kind"]
    if kind not in _KINDS:
        raise MissingResource(path=request.url.path)
    return _KINDS[kind](request)


@endpoint
def list_plugins(request: Request, body: None) -> list:
    return _entries(request)


@endpoint
def get_plugin(request: Request, body: None) -> dict:
    kind, plugin_id = request.path_params["kind"], request.path_params["plugin_id"]
    for entry in _entries(request):
        if entry["id"] == plugin_id:
            return entry
    raise MissingResource(**{kind.rstrip("s"): plugin_id})
