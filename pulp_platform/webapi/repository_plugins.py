"""``repositories/<id>/importers/``, ``…/distributors/`` and ``…/history/``: Pulp 2's sub-resources.

Shapes and statuses are Pulp 2's: listing and reading answer the bodies of ``webapi.repositories``;
setting, updating or removing an importer and updating or removing a distributor answer 202 with a
call report (a task on the repository); adding a distributor answers 201 with it and ``Location``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from pulp_platform.errors import MissingValue
from pulp_platform.models.repository import RepoDistributor, RepoImporter
from pulp_platform.operations import history
from pulp_platform.operations import repository_plugins as ops
from pulp_platform.operations.repositories import get_repository
from pulp_platform.tasking.dispatch import dispatch
from pulp_platform.tasking.reports import call_report
from pulp_platform.tasking.reservations import repository_resource
from pulp_platform.webapi.endpoint import Reply, endpoint, href, state
from pulp_platform.webapi.repositories import distributor_body, importer_body

_OPERATIONS = "pulp_platform.operations.repository_plugins"


def _repo_id(request: Request) -> str:
    return get_repository(request.path_params["repo_id"]).repo_id


def _queue(request: Request, repo_id: str, operation: str, args: dict[str, Any], action: str,
           task_type: str, resource_tag: str | None = None) -> Reply:
    tags = [f"pulp:repository:{repo_id}", *([resource_tag] if resource_tag else []), f"pulp:action:{action}"]
    task_id = dispatch(state(request).celery, f"{_OPERATIONS}:{operation}", args,
                       resource=repository_resource(repo_id), tags=tags, task_type=task_type)
    return Reply(202, call_report([task_id]))


# -- importers ----------------------------------------------------------------------------------
@endpoint
def list_importers(request: Request, body: None) -> list:
    return [importer_body(doc) for doc in RepoImporter.objects(repo_id=_repo_id(request))]


@endpoint
def get_importer(request: Request, body: None) -> dict:
    return importer_body(ops.importer(request.path_params["repo_id"], request.path_params["importer_id"]))


@endpoint
def set_importer(request: Request, body: dict) -> Reply:
    repo_id = _repo_id(request)
    type_id, config = ops.new_importer_config(state(request).plugins, body)
    return _queue(request, repo_id, "set_importer",
                  {"repo_id": repo_id, "importer_type_id": type_id, "importer_config": config},
                  "add_importer", "pulp.server.managers.repo.importer.set_importer")


@endpoint
def update_importer(request: Request, body: dict) -> Reply:
    doc = ops.importer(request.path_params["repo_id"], request.path_params["importer_id"])
    change = ops.object_field(body, "importer_config", required=True)
    ops.updated_importer_config(state(request).plugins, doc, change)
    return _queue(request, doc.repo_id, "update_importer",
                  {"repo_id": doc.repo_id, "importer_id": doc.importer_type_id, "importer_config": change},
                  "update_importer", "pulp.server.managers.repo.importer.update_importer_config",
                  f"pulp:repository_importer:{doc.importer_type_id}")


@endpoint
def remove_importer(request: Request, body: None) -> Reply:
    doc = ops.importer(request.path_params["repo_id"], request.path_params["importer_id"])
    return _queue(request, doc.repo_id, "remove_importer",
                  {"repo_id": doc.repo_id, "importer_id": doc.importer_type_id},
                  "delete_importer", "pulp.server.managers.repo.importer.remove_importer",
                  f"pulp:repository_importer:{doc.importer_type_id}")


# -- distributors -------------------------------------------------------------------------------
@endpoint
def list_distributors(request: Request, body: None) -> list:
    repo_id = _repo_id(request)
    return [distributor_body(d) for d in RepoDistributor.objects(repo_id=repo_id).order_by("distributor_id")]


@endpoint
def add_distributor(request: Request, body: dict) -> Reply:
    dist = ops.add_distributor(state(request).plugins, _repo_id(request), body)
    location = href(f"repositories/{dist.repo_id}/distributors/{dist.distributor_id}/")
    return Reply(201, distributor_body(dist), {"Location": location})


@endpoint
def get_distributor(request: Request, body: None) -> dict:
    return distributor_body(ops.distributor(request.path_params["repo_id"], request.path_params["distributor_id"]))


@endpoint
def update_distributor(request: Request, body: dict) -> Reply:
    dist = ops.distributor(request.path_params["repo_id"], request.path_params["distributor_id"])
    if body.get("distributor_config") is None:
        raise MissingValue("distributor_config")  # Pulp 2 wanted it even when only delta changes
    change = ops.object_field(body, "distributor_config")
    delta = ops.object_field(body, "delta")
    ops.updated_distributor(state(request).plugins, dist, change, delta)
    return _queue(request, dist.repo_id, "update_distributor",
                  {"repo_id": dist.repo_id, "distributor_id": dist.distributor_id, "distributor_config": change,
                   "delta": delta},
                  "update_distributor", "pulp.server.tasks.repository.distributor_update",
                  f"pulp:repository_distributor:{dist.distributor_id}")


@endpoint
def remove_distributor(request: Request, body: None) -> Reply:
    dist = ops.distributor(request.path_params["repo_id"], request.path_params["distributor_id"])
    return _queue(request, dist.repo_id, "remove_distributor",
                  {"repo_id": dist.repo_id, "distributor_id": dist.distributor_id},
                  "remove_distributor", "pulp.server.tasks.repository.distributor_delete",
                  f"pulp:repository_distributor:{dist.distributor_id}")


# -- history ------------------------------------------------------------------------------------
@endpoint
def sync_history(request: Request, body: None) -> list:
    return history.sync_history(_repo_id(request), request.query_params)


@endpoint
def publish_history(request: Request, body: None) -> list:
    dist = ops.distributor(request.path_params["repo_id"], request.path_params["distributor_id"])
    return history.publish_history(dist.repo_id, dist.distributor_id, request.query_params)
