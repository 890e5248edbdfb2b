"""The steps of a push that run as tasks under the repository's lock: a manifest PUT and the deletes.

A manifest PUT is the ingest path with a one-manifest source: the blobs and child manifests must be
ones the repository holds already (pushed before it, or mounted). What it adds is then published in
place (``publication.publish_units``), at a cost that does not grow with the repository.
"""

from __future__ import annotations

import base64
from typing import Any

from pulp_docker.common import constants
from pulp_docker.common.manifest_file import ManifestFileSource
from pulp_docker.plugins import publication
from pulp_docker.plugins.ingest import ingest
from pulp_docker.plugins.models import Blob, Manifest, ManifestList, Tag
from pulp_platform.models.repository import RepoDistributor
from pulp_platform.plugin_api import Conduit
from pulp_platform.tasking.runner import TaskContext


def web_config(repo_id: str) -> dict[str, Any]:
    row = RepoDistributor.objects(repo_id=repo_id, distributor_type_id=constants.DISTRIBUTOR_WEB_TYPE_ID).first()
    return dict(row.config or {}) if row is not None else {constants.CONFIG_KEY_REPO_REGISTRY_ID: repo_id}


def put_manifest(ctx: TaskContext, repo_id: str, manifest: str, media_type: str | None,
                 tag: str | None) -> dict[str, Any]:
    """Task: ingest a pushed manifest (base64 of its exact bytes), tag it, publish it; returns the report."""
    conduit = ctx.conduit(repo_id)
    data = base64.b64decode(manifest)
    source = ManifestFileSource(data, where="the pushed manifest", media_type=media_type)
    with conduit.store.staging() as staging:
        report = ingest(source, conduit, staging, tag=tag)
    conduit.update_counts(added=True)
    digest = report["summary"]["manifest_digest"]
    added: list[Any] = [*conduit.units(Manifest, digest=digest), *conduit.units(ManifestList, digest=digest)]
    if tag is not None:
        added += list(conduit.units(Tag, name=tag, manifest_digest=digest))
    publication.publish_units(conduit, web_config(repo_id), added)
    return report


def delete_manifest(ctx: TaskContext, repo_id: str, digest: str) -> dict[str, Any]:
    """Task: the repository stops holding the manifest or list and every tag naming it."""
    conduit = ctx.conduit(repo_id)
    targets = [*conduit.units(Manifest, digest=digest), *conduit.units(ManifestList, digest=digest)]
    if not targets:
        return {"deleted": False}
    tags = list(conduit.units(Tag, manifest_digest=digest))
    _forget(conduit, repo_id, [*tags, *targets], digests=[digest], tags=[t.name for t in tags])
    return {"deleted": True, "tags": sorted(t.name for t in tags)}


def delete_tag(ctx: TaskContext, repo_id: str, name: str) -> dict[str, Any]:
    """Task: the repository stops holding the tag (the manifest stays)."""
    conduit = ctx.conduit(repo_id)
    tags = list(conduit.units(Tag, name=name))
    if tags:
        _forget(conduit, repo_id, tags, tags=[name])
    return {"deleted": bool(tags)}


def delete_blob(ctx: TaskContext, repo_id: str, digest: str) -> dict[str, Any]:
    """Task: the repository stops holding the blob (its file stays until orphan removal)."""
    conduit = ctx.conduit(repo_id)
    blobs = list(conduit.units(Blob, digest=digest))
    if blobs:
        _forget(conduit, repo_id, blobs, digests=[digest])
    return {"deleted": bool(blobs)}


def _forget(conduit: Conduit, repo_id: str, units: list[Any], *, digests: list[str] = (),
            tags: list[str] = ()) -> None:
    # Unpublished first: a pull must never find a row whose unit the repository no longer holds.
    publication.unpublish_units(repo_id, digests=digests, tags=tags)
    for unit in units:
        conduit.unassociate(unit)
    conduit.update_counts(removed=True)
