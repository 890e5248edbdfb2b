"""Turning an uploaded file into units of a repository (``actions/import_upload/``)."""

from __future__ import annotations

from typing import Any

from pulp_platform import upload_streams
from pulp_platform.errors import InvalidValue, MissingResource
from pulp_platform.models.repository import RepoImporter
from pulp_platform.operations.publish import auto_publish
from pulp_platform.operations.repositories import get_repository
from pulp_platform.plugin_api import Importer
from pulp_platform.tasking.runner import TaskContext
from pulp_platform.uploads import Uploads


def repository_importer(ctx: TaskContext, repo_id: str) -> tuple[RepoImporter, Importer]:
    """The repository's importer document and a fresh instance of its plugin class."""
    get_repository(repo_id)
    doc = RepoImporter.objects(repo_id=repo_id).first()
    if doc is None:
        raise MissingResource(importer=repo_id)
    cls = ctx.plugins().importers.get(doc.importer_type_id)
    if cls is None:
        raise InvalidValue("importer_type_id", reason=f"importer type {doc.importer_type_id!r} is not installed")
    return doc, cls()


def import_upload(ctx: TaskContext, repo_id: str, upload_id: str | None, unit_type_id: str,
                  unit_key: dict[str, Any] | None = None, unit_metadata: dict[str, Any] | None = None,
                  override_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Task: hand the uploaded file to the repository's importer, recount, auto-publish.

    Returns the importer's upload report, which becomes the task's ``result``.
    """
    doc, importer = repository_importer(ctx, repo_id)
    file_path = Uploads(ctx.settings.upload_path).path(upload_id) if upload_id else None
    conduit = ctx.conduit(repo_id)
    if upload_id and type(importer).upload_consumer is not None:
        conduit.streamed_upload = upload_streams.take(ctx.settings.content_path, upload_id, file_path,
                                                      conduit.store.tmp, conduit.is_canceled)
    config = {**(doc.config or {}), **(override_config or {})}
    report = importer.upload_unit(conduit, unit_type_id, unit_key or {}, unit_metadata or {},
                                  file_path=file_path, config=config)
    conduit.update_counts(added=True)
    auto_publish(ctx, repo_id)
    return report
