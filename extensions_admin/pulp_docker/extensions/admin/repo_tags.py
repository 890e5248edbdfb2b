"""Tags set and removed by ``docker repo update --tag NAME:DIGEST --remove-tag NAME`` (and ``docker repo tag``).

Pulp 2's ``--tag tag:image_id`` wrote Docker v1 tags into the repository's scratchpad, checking first
that each image (named by an id prefix of 6 characters or more) was in the repository. Tags are v2
units now, so the same options make a tag upload each (``docker_tag``, as ``docker repo tag`` does)
and one ``unassociate`` of the named tags; every digest is resolved in the repository before anything
changes, and may be a prefix of 6 hex digits or more, as Pulp 2's image ids were.
"""

from __future__ import annotations

import re
from typing import Any

import click

from pulp_admin_client import tasks, uploads
from pulp_admin_client.context import ClientContext
from pulp_admin_client.failures import ClientError, ExitCode
from pulp_admin_client.upload_source import EmptySource
from pulp_docker.common import constants
from pulp_docker.common.references import is_sha256_digest, is_tag

MIN_PREFIX = 6  # Pulp 2's shortest image id
_PREFIX = re.compile(r"^(?:sha256:)?([0-9a-f]+)$")


class TagDigest(click.ParamType):
    """``NAME:DIGEST`` split at the first colon (a tag holds none): ``latest:sha256:3e00…`` or ``latest:3e0061``."""

    name = "name:digest"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        name, sep, digest = str(value).partition(":")
        if not sep or not is_tag(name):
            self.fail(f"{value!r} is not NAME:DIGEST with a valid tag name, e.g. latest:sha256:3e00…", param, ctx)
        match = _PREFIX.match(digest)
        if not match or len(match.group(1)) < MIN_PREFIX:
            self.fail(f"{value!r}: the digest must be sha256:<hex>, or at least {MIN_PREFIX} of its hex digits",
                      param, ctx)
        return name, digest


TAG_DIGEST = TagDigest()


def _manifests_matching(ctx: ClientContext, repo_id: str, digest: str) -> list[str]:
    if is_sha256_digest(digest):
        unit_filter: dict[str, Any] = {"digest": digest}
    else:
        unit_filter = {"digest": {"$regex": f"^sha256:{_PREFIX.match(digest).group(1)}"}}  # type: ignore[union-attr]
    found: list[str] = []
    for type_id in (constants.MANIFEST_TYPE_ID, constants.MANIFEST_LIST_TYPE_ID):
        criteria = {"type_ids": [type_id], "filters": {"unit": unit_filter}}
        rows = ctx.connection.post(f"repositories/{repo_id}/search/units/", json={"criteria": criteria}) or []
        found.extend(row["metadata"]["digest"] for row in rows)
    return sorted(set(found))


def resolve(ctx: ClientContext, repo_id: str, wanted: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Each ``(name, digest or prefix)`` with the full digest of the manifest (or list) it names in the
    repository; a digest that names none, or several, is refused before anything changes."""
    resolved = []
    for name, digest in wanted:
        matches = _manifests_matching(ctx, repo_id, digest)
        if not matches:
            raise ClientError(f"cannot tag {name}: no manifest or manifest list in repository {repo_id!r} has the "
                              f"digest {digest}", ExitCode.DATA)
        if len(matches) > 1:
            raise ClientError(f"cannot tag {name}: {digest} is the start of {len(matches)} digests in repository "
                              f"{repo_id!r} ({', '.join(matches)}); give more of it", ExitCode.DATA)
        resolved.append((name, matches[0]))
    return resolved


def apply_tag(ctx: ClientContext, repo_id: str, name: str, digest: str) -> dict[str, Any]:
    """Create or move one tag, as Pulp 2 did: an upload with no bytes of type ``docker_tag``, unit key
    ``{name, repo_id}`` and metadata ``{name, manifest_digest}``. Returns the tag the server applied."""
    outcome = uploads.upload(ctx, repo_id, EmptySource(), constants.TAG_TYPE_ID, {"name": name, "repo_id": repo_id},
                             {"name": name, "manifest_digest": digest}, show_progress=False,
                             resume_hint="pulp-admin docker repo uploads resume")
    details = (outcome.task.get("result") or {}).get("details") or {}
    return details.get("tag") or {"name": name, "manifest_digest": digest}


def remove_tags(ctx: ClientContext, repo_id: str, names: list[str]) -> list[str]:
    """Remove the named tags (their manifests stay); returns the names that were in the repository."""
    criteria = {"type_ids": [constants.TAG_TYPE_ID], "filters": {"unit": {"name": {"$in": names}}}}
    report = ctx.connection.post(f"repositories/{repo_id}/actions/unassociate/", json={"criteria": criteria})
    done = tasks.wait_all(ctx, report)
    removed = (done[-1].get("result") or {}).get("units_successful") or [] if done else []
    return sorted({(unit.get("unit_key") or {}).get("name") for unit in removed} - {None})
