"""Tags: apply a name to a manifest or list in a repository; tagging an existing name moves it."""

from __future__ import annotations

import re
from typing import Any

from pulp_docker.common import constants
from pulp_docker.common.error_codes import DKR1010, DKR1019, DKR1039, DockerError
from pulp_docker.plugins.models import Manifest, ManifestList, Tag
from pulp_platform.models.content import ContentUnit
from pulp_platform.plugin_api import Conduit

# The tag grammar of the distribution spec.
TAG_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not TAG_NAME.match(name):
        raise DockerError(DKR1039, name=repr(name))
    return name


def apply_tag(conduit: Conduit, name: str, target: ContentUnit) -> Tag:
    """Point ``name`` at ``target`` (a Manifest or ManifestList) in the conduit's repository."""
    is_list = isinstance(target, ManifestList)
    tag = Tag(
        name=check_name(name),
        repo_id=conduit.repo_id,
        schema_version=target.schema_version,
        manifest_type=constants.MANIFEST_TYPE_LIST if is_list else constants.MANIFEST_TYPE_IMAGE,
        manifest_digest=target.digest,
    )
    stored, _created = conduit.save_unit(tag, update=True)
    conduit.associate(stored)
    return stored


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
    return apply_tag(conduit, name, target)


def tag_summary(tag: Tag) -> dict[str, Any]:
    return {"name": tag.name, "manifest_digest": tag.manifest_digest, "schema_version": tag.schema_version,
            "manifest_type": tag.manifest_type}
