"""``repositories/<id>/actions/``: import_upload, associate, unassociate, publish, sync (each queues a task)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from pulp_platform.errors import InvalidValue, MissingResource, MissingValue
from pulp_platform.models.repository import RepoDistributor, RepoImporter
from pulp_platform.operations.repositories import get_repository
from pulp_platform.operations.units import parse_criteria
from pulp_platform.tasking.dispatch import dispatch
from pulp_platform.tasking.reports import call_report
from pulp_platform.tasking.reservations import repository_resource
from pulp_platform.webapi.endpoint import Reply, endpoint, state


def _object(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = body.get(name)
    if value is not None and not isinstance(value, dict):
        raise InvalidValue(name, reason="must be an object")
    return value


def _queue(request: Request, repo_id: str, action: str, operation: str, args: dict[str, Any],
           task_type: str, also_tags: tuple[str, ...] = ()) -> Reply:
    """Dispatch under the repository's lock; ``also_tags`` names other repositories the task involves."""
    tags = [f"pulp:repository:{repo_id}", *(f"pulp:repository:{other}" for other in also_tags),
            f"pulp:action:{action}"]
    task_id = dispatch(state(request).celery, f"pulp_platform.operations.{operation}", args,
                       resource=repository_resource(repo_id), tags=tags, task_type=task_type)
    return Reply(202, call_report([task_id]))


@endpoint
def import_upload(request: Request, body: dict) -> Reply:
    repo_id = get_repository(request.path_params["repo_id"]).repo_id
    missing = [name for name in ("upload_id", "unit_type_id") if not body.get(name)]
    if missing:
        raise MissingValue(*missing)
    upload_id, unit_type_id = body["upload_id"], body["unit_type_id"]
    state(request).uploads.path(upload_id)
    importer = RepoImporter.objects(repo_id=repo_id).first()
    if importer is None:
        raise MissingResource(importer=repo_id)
    cls = state(request).plugins.importers.get(importer.importer_type_id)
    if cls is not None and cls.unit_types and unit_type_id not in cls.unit_types:
        raise InvalidValue("unit_type_id", reason=f"importer {importer.importer_type_id!r} does not take "
                                                  f"{unit_type_id!r}; it takes {', '.join(cls.unit_types)}")
    args = {"repo_id": repo_id, "upload_id": upload_id, "unit_type_id": unit_type_id,
            "unit_key": _object(body, "unit_key"), "unit_metadata": _object(body, "unit_metadata"),
            "override_config": _object(body, "override_config")}
    return _queue(request, repo_id, "import_upload", "upload:import_upload", args,
                  "pulp.server.managers.content.upload.import_uploaded_unit")


@endpoint
def associate(request: Request, body: dict) -> Reply:
    repo_id = get_repository(request.path_params["repo_id"]).repo_id
    source = body.get("source_repo_id")
    if not source:
        raise MissingValue("source_repo_id")
    get_repository(source)
    criteria = _object(body, "criteria")
    parse_criteria(criteria, state(request).plugins)
    args = {"repo_id": repo_id, "source_repo_id": source, "criteria": criteria,
            "override_config": _object(body, "override_config")}
    # Tagged with the source too, as Pulp 2 did: `repo tasks list` on either repository shows the copy.
    return _queue(request, repo_id, "associate", "associations:associate", args,
                  "pulp.server.managers.repo.unit_association.associate_from_repo",
                  also_tags=(source,) if source != repo_id else ())


@endpoint
def unassociate(request: Request, body: dict) -> Reply:
    repo_id = get_repository(request.path_params["repo_id"]).repo_id
    criteria = _object(body, "criteria")
    parse_criteria(criteria, state(request).plugins)
    args = {"repo_id": repo_id, "criteria": criteria, "override_config": _object(body, "override_config")}
    return _queue(request, repo_id, "unassociate", "associations:unassociate", args,
                  "pulp.server.managers.repo.unit_association.unassociate_by_criteria")


@endpoint
def publish(request: Request, body: dict) -> Reply:
    repo_id = get_repository(request.path_params["repo_id"]).repo_id
    distributor_id = body.get("id")
    if not distributor_id:
        raise MissingValue("id")
    if RepoDistributor.objects(repo_id=repo_id, distributor_id=distributor_id).first() is None:
        raise MissingResource(repository=repo_id, distributor=distributor_id)
    args = {"repo_id": repo_id, "distributor_id": distributor_id,
            "override_config": _object(body, "override_config")}
    return _queue(request, repo_id, "publish", "publish:publish", args, "pulp.server.managers.repo.publish.publish")


@endpoint
def sync(request: Request, body: dict) -> Reply:
    repo_id = get_repository(request.path_params["repo_id"]).repo_id
    if RepoImporter.objects(repo_id=repo_id).first() is None:
        raise MissingResource(importer=repo_id)
    args = {"repo_id": repo_id, "override_config": _object(body or {}, "override_config")}
    return _queue(request, repo_id, "sync", "sync:sync", args, "pulp.server.managers.repo.sync.sync")
