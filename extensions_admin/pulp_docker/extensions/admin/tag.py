"""``docker repo tag``: point a tag at a manifest already in the repository, as Pulp 2 did it.

Pulp 2 sent a tag as an upload with no bytes: ``unit_type_id`` ``docker_tag``, unit key
``{name, repo_id}`` and metadata ``{name, manifest_digest}`` (see ``repo_tags.apply_tag``). Its recipes
name the digest option ``--manifest-digest`` in one release and ``--digest`` in another; both work.
"""

from __future__ import annotations

import click

from pulp_admin_client import uploads
from pulp_admin_client.context import ClientContext
from pulp_admin_client.failures import ClientError, ExitCode
from pulp_docker.common.references import is_sha256_digest
from pulp_docker.extensions.admin.options import repo_id_option
from pulp_docker.extensions.admin.repo_tags import apply_tag


@click.command("tag", help="create or update a tag to point to a manifest")
@repo_id_option
@click.option("--tag-name", required=True, help="name of the tag to create or update")
@click.option("--manifest-digest", "--digest", "digest", required=True,
              help="digest of the manifest (e.g. sha256:3e006...)")
@click.pass_obj
def tag(ctx: ClientContext, repo_id: str, tag_name: str, digest: str) -> None:
    if not is_sha256_digest(digest):
        raise ClientError(f"--manifest-digest {digest!r} is not a digest like sha256:<hex>", ExitCode.USAGE)
    uploads.check_repository(ctx, repo_id)
    applied = apply_tag(ctx, repo_id, tag_name, digest)
    click.echo(f"Tag {applied.get('name')} -> {applied.get('manifest_digest')} in repository {repo_id}")
