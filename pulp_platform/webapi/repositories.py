"""``repositories/``: create, list, get (``?details=true``), update, delete."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from pulp_platform.models.repository import RepoDistributor, RepoImporter, Repository
from pulp_platform.operations import repositories as ops
from pulp_platform.tasking.dispatch import dispatch
from pulp_platform.tasking.reports import call_report
from pulp_platform.tasking.reservations import repository_resource
from pulp_platform.webapi.endpoint import Reply, endpoint, href, state

SECRET = "*****"


def shown_config(importer_type_id: str, config: dict[str, Any]) -> dict[str, Any]:
    """An importer's config as the API shows it: the importer's secret keys as ``*****``."""
    from pulp_platform.plugin_api import plugins

    cls = plugins().importers.get(importer_type_id)
    secret = set(getattr(cls, "secret_config_keys", ()) or ())
    return {k: (SECRET if k in secret and v not in (None, "") else v) for k, v in (config or {}).items()}


def importer_body(doc: RepoImporter) -> dict[str, Any]:
    """Pulp 2's importer: ``repositories/<id>/importers/<importer_type_id>/`` (its id is its type)."""
    return {"id": doc.importer_type_id, "importer_type_id": doc.importer_type_id, "repo_id": doc.repo_id,
            "config": shown_config(doc.importer_type_id, doc.config), "last_sync": doc.last_sync,
            "last_override_config": shown_config(doc.importer_type_id, doc.last_override_config),
            "last_updated": doc.last_updated, "scratchpad": None, "_ns": "repo_importers",
            "_id": {"$oid": str(doc.pk)},
            "_href": href(f"repositories/{doc.repo_id}/importers/{doc.importer_type_id}/")}


def distributor_body(doc: RepoDistributor) -> dict[str, Any]:
    """Pulp 2's distributor: ``repositories/<id>/distributors/<distributor_id>/``."""
    return {"id": doc.distributor_id, "distributor_type_id": doc.distributor_type_id, "repo_id": doc.repo_id,
            "config": doc.config or {}, "auto_publish": doc.auto_publish, "last_publish": doc.last_publish,
            "last_updated": doc.last_updated, "scratchpad": {}, "_ns": "repo_distributors",
            "_id": {"$oid": str(doc.pk)},
            "_href": href(f"repositories/{doc.repo_id}/distributors/{doc.distributor_id}/")}


def repo_body(repo: Repository, *, importers: bool = False, distributors: bool = False) -> dict[str, Any]:
    counts = repo.content_unit_counts or {}
    body = {
        "id": repo.repo_id, "display_name": repo.display_name, "description": repo.description,
        "notes": repo.notes or {}, "scratchpad": repo.scratchpad or {}, "content_unit_counts": counts,
        "total_repository_units": sum(counts.values()), "locally_stored_units": sum(counts.values()),
        "last_unit_added": repo.last_unit_added, "last_unit_removed": repo.last_unit_removed,
        "_ns": "repos", "_id": {"$oid": str(repo.pk)}, "_href": href(f"repositories/{repo.repo_id}/"),
    }
    if importers:
        body["importers"] = [importer_body(d) for d in RepoImporter.objects(repo_id=repo.repo_id)]
    if distributors:
        body["distributors"] = [distributor_body(d)
                                for d in RepoDistributor.objects(repo_id=repo.repo_id).order_by("distributor_id")]
    return body


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("true", "1", "yes")


def _detail_flags(request: Request) -> dict[str, bool]:
    details = _flag(request, "details")
    return {"importers": details or _flag(request, "importers"),
            "distributors": details or _flag(request, "distributors")}


@endpoint
def list_repositories(request: Request, body: None) -> list:
    flags = _detail_flags(request)
    return [repo_body(r, **flags) for r in Repository.objects.order_by("repo_id")]


@endpoint
def create_repository(request: Request, body: dict) -> Reply:
    repo = ops.create_repository(state(request).plugins, body)
    location = href(f"repositories/{repo.repo_id}/")
    return Reply(201, repo_body(repo), {"Location": location})


@endpoint
def get_repository(request: Request, body: None) -> dict:
    return repo_body(ops.get_repository(request.path_params["repo_id"]), **_detail_flags(request))


@endpoint
def update_repository(request: Request, body: dict) -> dict | Reply:
    """The delta and importer config apply at once (200); distributor configs, as in Pulp 2, are tasks
    under the repository's lock, one per distributor (202 with them as ``spawned_tasks``)."""
    repo = ops.update_repository(state(request).plugins, request.path_params["repo_id"], body,
                                 apply_distributors=False)
    task_ids = [dispatch(state(request).celery, "pulp_platform.operations.repository_plugins:update_distributor",
                         {"repo_id": repo.repo_id, "distributor_id": dist_id, "distributor_config": change},
                         resource=repository_resource(repo.repo_id),
                         tags=[f"pulp:repository:{repo.repo_id}", f"pulp:repository_distributor:{dist_id}",
                               "pulp:action:update_distributor"],
                         task_type="pulp.server.tasks.repository.distributor_update")
                for dist_id, change in (body.get("distributor_configs") or {}).items()]
    report = call_report(task_ids, result=repo_body(repo, importers=True, distributors=True))
    return Reply(202, report) if task_ids else report


@endpoint
def delete_repository(request: Request, body: None) -> Reply:
    repo_id = ops.get_repository(request.path_params["repo_id"]).repo_id
    task_id = dispatch(state(request).celery, "pulp_platform.operations.repositories:delete_repository",
                       {"repo_id": repo_id}, resource=repository_resource(repo_id),
                       tags=[f"pulp:repository:{repo_id}", "pulp:action:delete"],
                       task_type="pulp.server.tasks.repository.delete")
    return Reply(202, call_report([task_id]))
