"""``docker repo tag``: point a tag at a manifest already in the repository, as Pulp 2 did it.

Pulp 2 sent a tag as an upload with no bytes: ``unit_type_id`` ``docker_tag``, unit key
``{name, repo_id}`` and metadata ``{name, manifest_digest}``.
"""

from __future__ import annotations

import click

from pulp_admin_client import uploads
from pulp_admin_client.context import ClientContext
from pulp_admin_client.failures import ClientError, ExitCode
from pulp_admin_client.upload_source import EmptySource
from pulp_docker.common import constants
from pulp_docker.common.references import is_sha256_digest
from pulp_docker.extensions.admin.options import repo_id_option


@click.command("tag", help="Create a tag, or move it, to point at a manifest in the repository.")
@repo_id_option
@click.option("--tag-name", required=True, help="Name of the tag.")
@click.option("--digest", required=True, help="Digest of the manifest, e.g. sha256:….")
@click.pass_obj
def tag(ctx: ClientContext, repo_id: str, tag_name: str, digest: str) -> None:
    if not is_sha256_digest(digest):
        raise ClientError(f"--digest {digest!r} is not a digest like sha256:<hex>", ExitCode.USAGE)
    uploads.check_repository(ctx, repo_id)
    outcome = uploads.upload(ctx, repo_id, EmptySource(), constants.TAG_TYPE_ID,
                             {"name": tag_name, "repo_id": repo_id},
                             {"name": tag_name, "manifest_digest": digest},
                             show_progress=False, resume_hint="pulp-admin docker repo uploads resume")
    details = (outcome.task.get("result") or {}).get("details") or {}
    applied = details.get("tag") or {"name": tag_name, "manifest_digest": digest}
    click.echo(f"Tag {applied.get('name')} -> {applied.get('manifest_digest')} in repository {repo_id}")
