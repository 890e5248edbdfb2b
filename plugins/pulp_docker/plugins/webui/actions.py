"""The UI's writes, through the platform's operations and task dispatch exactly as the REST handlers
do them (``webapi.repositories``, ``webapi.repository_actions``): the same operation, the same lock
on the repository, the same task tags and type, so ``pulp-admin`` and the REST API see the same tasks."""

from __future__ import annotations

from typing import Any

from celery import Celery

from pulp_docker.common import constants
from pulp_docker.plugins.ingest.tags import check_name
from pulp_docker.plugins.models import Manifest, ManifestList
from pulp_docker.plugins.webui.guard import UiError
from pulp_platform import validation
from pulp_platform.models.content import RepositoryContentUnit
from pulp_platform.models.repository import RepoDistributor, RepoImporter, Repository
from pulp_platform.operations import repositories as repository_ops
from pulp_platform.operations.units import parse_criteria
from pulp_platform.plugin_api import Plugins
from pulp_platform.storage import check_digest
from pulp_platform.tasking.dispatch import dispatch
from pulp_platform.tasking.reservations import repository_resource
from pulp_platform.uploads import Uploads

IMPORT_TASK_TYPE = "pulp.server.managers.content.upload.import_uploaded_unit"


def _queue(celery: Celery, repo_id: str, action: str, operation: str, args: dict[str, Any], task_type: str) -> str:
    return dispatch(celery, f"pulp_platform.operations.{operation}", args, resource=repository_resource(repo_id),
                    tags=[f"pulp:repository:{repo_id}", f"pulp:action:{action}"], task_type=task_type)


def create_body(form: dict[str, str]) -> dict[str, Any]:
    """The ``POST repositories/`` body ``pulp-admin docker repo create`` sends, from the form's fields."""
    config: dict[str, Any] = {constants.CONFIG_KEY_PROTECTED: form.get("protected") == "on"}
    if form.get("registry_name", "").strip():
        config[constants.CONFIG_KEY_REPO_REGISTRY_ID] = form["registry_name"].strip()
    body: dict[str, Any] = {"id": form.get("id", "").strip(), "notes": dict(constants.REPO_NOTE_TYPE),
                            "importer_type_id": constants.IMPORTER_TYPE_ID, "importer_config": {}}
    for name in ("display_name", "description"):
        if form.get(name, "").strip():
            body[name] = form[name].strip()
    body["distributors"] = [
        {"distributor_id": constants.CLI_WEB_DISTRIBUTOR_ID, "distributor_type_id": constants.DISTRIBUTOR_WEB_TYPE_ID,
         "distributor_config": dict(config), "auto_publish": True},
        {"distributor_id": constants.CLI_EXPORT_DISTRIBUTOR_ID,
         "distributor_type_id": constants.DISTRIBUTOR_EXPORT_TYPE_ID, "distributor_config": dict(config),
         "auto_publish": False},
    ]
    return body


def create_repository(plugins: Plugins, form: dict[str, str]) -> Repository:
    body = create_body(form)
    validation.check_repository_create(body)
    return repository_ops.create_repository(plugins, body)


def delete_repository(celery: Celery, repo_id: str) -> str:
    return _queue(celery, repo_id, "delete", "repositories:delete_repository", {"repo_id": repo_id},
                  "pulp.server.tasks.repository.delete")


def publish(celery: Celery, repo_id: str) -> str:
    """Publish through the repository's docker web distributor (what the registry serves)."""
    dist = RepoDistributor.objects(repo_id=repo_id, distributor_type_id=constants.DISTRIBUTOR_WEB_TYPE_ID) \
        .order_by("distributor_id").first()
    if dist is None:
        raise UiError(409, "This repository has no docker web distributor to publish with.")
    return _queue(celery, repo_id, "publish", "publish:publish",
                  {"repo_id": repo_id, "distributor_id": dist.distributor_id, "override_config": None},
                  "pulp.server.managers.repo.publish.publish")


def _importer(repo_id: str) -> None:
    if RepoImporter.objects(repo_id=repo_id).first() is None:
        raise UiError(409, "This repository has no importer, so nothing can be uploaded or tagged in it.")


def _tag_name(name: str) -> str:
    try:
        return check_name(name)
    except Exception as exc:  # DockerError DKR1039: say it in the form's words
        raise UiError(400, f"{name[:140]!r} is not a valid tag: up to 128 letters, digits, '_', '.' and '-', "
                           "not starting with '.' or '-'.") from exc


def import_image(celery: Celery, uploads: Uploads, repo_id: str, upload_id: str, tag: str | None) -> str:
    """Import an uploaded tarball (``unit_type_id`` docker_manifest), tagged ``tag`` if given."""
    _importer(repo_id)
    uploads.path(upload_id)
    metadata = {constants.UPLOAD_TAG_KEY: _tag_name(tag)} if tag else None
    args = {"repo_id": repo_id, "upload_id": upload_id, "unit_type_id": constants.MANIFEST_TYPE_ID,
            "unit_key": {}, "unit_metadata": metadata, "override_config": None}
    return _queue(celery, repo_id, "import_upload", "upload:import_upload", args, IMPORT_TASK_TYPE)


def _holds(repo_id: str, digest: str) -> bool:
    # Raw documents: association rows carry task fields (created_by, ...) the model does not declare.
    for model in (Manifest, ManifestList):
        unit = model._get_collection().find_one({"digest": digest}, {"_id": 1})
        if unit is not None and RepositoryContentUnit._get_collection().find_one(
                {"repo_id": repo_id, "unit_type_id": model.type_id, "unit_id": unit["_id"]}, {"_id": 1}):
            return True
    return False


def add_tag(celery: Celery, repo_id: str, name: str, digest: str) -> str:
    """Point tag ``name`` at a manifest or list the repository holds (Pulp 2's docker_tag import)."""
    _importer(repo_id)
    name = _tag_name(name.strip())
    digest = digest.strip()
    try:
        check_digest(digest)
    except ValueError:
        raise UiError(400, f"{digest[:80]!r} is not a digest: sha256: and 64 lowercase hex digits.") from None
    if not _holds(repo_id, digest):
        raise UiError(400, f"This repository holds no manifest or list {digest}.")
    args = {"repo_id": repo_id, "upload_id": None, "unit_type_id": constants.TAG_TYPE_ID,
            "unit_key": {"name": name, "manifest_digest": digest}, "unit_metadata": None, "override_config": None}
    return _queue(celery, repo_id, "import_upload", "upload:import_upload", args, IMPORT_TASK_TYPE)


def remove_tag(plugins: Plugins, celery: Celery, repo_id: str, name: str) -> str:
    """Remove tag ``name`` (its manifest stays): unassociate by criteria, as ``pulp-admin`` does."""
    criteria = {"type_ids": [constants.TAG_TYPE_ID], "filters": {"unit": {"name": _tag_name(name)}}}
    parse_criteria(criteria, plugins)
    return _queue(celery, repo_id, "unassociate", "associations:unassociate",
                  {"repo_id": repo_id, "criteria": criteria, "override_config": None},
                  "pulp.server.managers.repo.unit_association.unassociate_by_criteria")
