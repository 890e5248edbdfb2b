"""Tags: apply a name to a manifest or list in a repository; tagging an existing name moves it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pulp_docker.common import constants
from pulp_docker.common.error_codes import DKR1010, DKR1019, DKR1039, DockerError
from pulp_docker.common.references import is_tag
from pulp_docker.plugins.models import Manifest, ManifestList, Tag
from pulp_platform.models.content import ContentUnit
from pulp_platform.plugin_api import Conduit


@dataclass(frozen=True)
class TagChange:
    """A tag applied: the stored tag, where it pointed before (None: it is new), and whether it was associated."""

    tag: Tag
    previous_digest: str | None
    created_association: bool


def check_name(name: Any) -> str:
    """``name`` if it is a valid tag, else DockerError DKR1039."""
    if not is_tag(name):
        raise DockerError(DKR1039, name=repr(name))
    return name


def apply_tag(conduit: Conduit, name: str, target: ContentUnit) -> TagChange:
    """Point ``name`` at ``target`` (a Manifest or ManifestList) in the conduit's repository."""
    is_list = isinstance(target, ManifestList)
    tag = Tag(
        name=check_name(name),
        repo_id=conduit.repo_id,
        schema_version=target.schema_version,
        manifest_type=constants.MANIFEST_TYPE_LIST if is_list else constants.MANIFEST_TYPE_IMAGE,
        manifest_digest=target.digest,
    )
    previous = conduit.units(Tag, name=tag.name, repo_id=tag.repo_id, schema_version=tag.schema_version,
                             manifest_type=tag.manifest_type).first()
    previous_digest = previous.manifest_digest if previous is not None else None
    stored, _created = conduit.save_unit(tag, update=True)
    return TagChange(stored, previous_digest, conduit.associate(stored))


def restore_tag(conduit: Conduit, change: TagChange) -> None:
    """Put a moved tag back where it pointed before ``change`` (a new tag is simply unassociated)."""
    if change.previous_digest is not None and change.previous_digest != change.tag.manifest_digest:
        old = Tag(name=change.tag.name, repo_id=change.tag.repo_id, schema_version=change.tag.schema_version,
                  manifest_type=change.tag.manifest_type, manifest_digest=change.previous_digest)
        conduit.save_unit(old, update=True)


def tag_from_upload(conduit: Conduit, unit_key: dict[str, Any], metadata: dict[str, Any]) -> Tag:
    """Pulp 2's ``docker_tag`` import: ``{name, manifest_digest}`` (``digest`` accepted as an alias)."""
    fields = {**(unit_key or {}), **(metadata or {})}
    name = fields.get("name")
    digest = fields.get("manifest_digest") or fields.get("digest")
    for field, value in (("name", name), ("manifest_digest", digest)):
        if not value:
            raise DockerError(DKR1019, field=field)
    check_name(name)
    target: ContentUnit | None = conduit.units(Manifest, digest=digest).first()
    if target is None:
        target = conduit.units(ManifestList, digest=digest).first()
    if target is None:
        raise DockerError(DKR1010, digest=digest, repo_id=conduit.repo_id)
    return apply_tag(conduit, name, target).tag


def tag_summary(tag: Tag) -> dict[str, Any]:
    return {"name": tag.name, "manifest_digest": tag.manifest_digest, "schema_version": tag.schema_version,
            "manifest_type": tag.manifest_type}
