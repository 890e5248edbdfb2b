"""Copying units between repositories with docker semantics: each unit brings what it needs to be pulled.

A blob is copied alone; a manifest brings its config and layers; a manifest list its image manifests
and their blobs; a tag the manifest or list it names, and all under that. A copied tag belongs to the
target repository (its unit key carries the repository id): it is applied there through the ingest's
tagging (``ingest.tags.apply_tag``), so a tag of that name there moves.

Everything a copy needs is resolved in the source repository before anything changes, and every
missing piece is reported together, with nothing changed. Then blobs, manifests, lists and tags are
associated in that order (a manifest is never held without its blobs), all or nothing: a failure
part-way is taken back by the ingest's ``Undo``. No file is written: the units exist already.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pulp_docker.common import constants
from pulp_docker.common.error_codes import DKR1010, DKR1018, DKR1037, DockerError, combine
from pulp_docker.plugins.importers.references import list_manifest_digests, manifest_blob_digests
from pulp_docker.plugins.ingest.store import Undo
from pulp_docker.plugins.ingest.tags import apply_tag
from pulp_docker.plugins.models import Blob, Manifest, ManifestList, Tag
from pulp_platform.errors import InvalidValue
from pulp_platform.models.content import ContentUnit
from pulp_platform.plugin_api import Conduit


@dataclass
class CopyPlan:
    """What a copy will make the target hold, by digest (tags: the source tags to apply there)."""

    blobs: dict[str, Blob] = field(default_factory=dict)
    manifests: dict[str, Manifest] = field(default_factory=dict)
    lists: dict[str, ManifestList] = field(default_factory=dict)
    tags: list[tuple[Tag, Manifest | ManifestList]] = field(default_factory=list)


def copy_units(target: Conduit, source: Conduit, units: list[ContentUnit]) -> list[ContentUnit]:
    """Copy ``units`` of the source repository, with everything they need, into the target repository.

    Returns every unit the target now holds through this copy (the tags as the target's), in the order
    they were associated. Raises a DockerError naming every missing piece, having changed nothing.
    """
    plan = plan_copy(source, units)
    target.check_canceled()
    return store_copy(target, plan)


def plan_copy(source: Conduit, units: list[ContentUnit]) -> CopyPlan:
    """Resolve in the source repository every unit the copy needs; one DockerError for all that is missing."""
    plan, problems = CopyPlan(), []
    manifests: dict[str, Manifest] = {}
    lists: dict[str, ManifestList] = {}
    for unit in units:
        if isinstance(unit, Tag):
            found = _tag_target(source, unit)
            if found is None:
                problems.append(DockerError(DKR1010, digest=unit.manifest_digest, repo_id=source.repo_id))
                continue
            plan.tags.append((unit, found))
            if isinstance(found, ManifestList):
                lists.setdefault(found.digest, found)
            else:
                manifests.setdefault(found.digest, found)
        elif isinstance(unit, ManifestList):
            lists.setdefault(unit.digest, unit)
        elif isinstance(unit, Manifest):
            manifests.setdefault(unit.digest, unit)
        elif isinstance(unit, Blob):
            plan.blobs.setdefault(unit.digest, unit)
        else:
            raise InvalidValue("criteria", reason=f"the docker importer cannot copy units of type {unit.type_id!r}")
    for instance in _instances(source, list(lists.values()), problems):
        manifests.setdefault(instance.digest, instance)
    plan.lists, plan.manifests = lists, manifests
    for blob in _blobs(source, list(manifests.values()), problems):
        plan.blobs.setdefault(blob.digest, blob)
    if problems:
        raise combine(problems)
    return plan


def store_copy(target: Conduit, plan: CopyPlan) -> list[ContentUnit]:
    """Associate the plan's units with the target, then apply its tags there; all or nothing."""
    undo = Undo(target)
    # One ordered batch, as the ingest's: blobs, then manifests, then lists, so a manifest is never
    # held before what it names (a reader sees a prefix of the batch).
    copied: list[ContentUnit] = [*plan.blobs.values(), *plan.manifests.values(), *plan.lists.values()]
    try:
        undo.associate_all(copied)
        for tag, tagged in plan.tags:
            change = apply_tag(target, tag.name, tagged)
            undo.tags.append(change)
            if change.created_association:
                undo.associated.append(change.tag)
            copied.append(change.tag)
    except BaseException:
        undo.rollback()
        raise
    return copied


def _tag_target(source: Conduit, tag: Tag) -> Manifest | ManifestList | None:
    model = ManifestList if tag.manifest_type == constants.MANIFEST_TYPE_LIST else Manifest
    return source.units(model, digest=tag.manifest_digest).first()


def _instances(source: Conduit, lists: list[ManifestList], problems: list[DockerError]) -> list[Manifest]:
    """The image manifests of these lists, as the source holds them; a missing one is a problem."""
    wanted = [digest for ml in lists for digest in list_manifest_digests(ml)]
    return _held(source, Manifest, wanted, problems, lambda d: DockerError(DKR1037, digest=d, repo_id=source.repo_id))


def _blobs(source: Conduit, manifests: list[Manifest], problems: list[DockerError]) -> list[Blob]:
    """The config and layers of these manifests, as the source holds them; foreign layers are never held."""
    wanted = [digest for m in manifests for digest in manifest_blob_digests(m)]
    return _held(source, Blob, wanted, problems, lambda d: DockerError(DKR1018, layer=d, repo_id=source.repo_id))


def _held(source: Conduit, model: type, wanted: list[str], problems: list[DockerError],
          missing: Callable[[str], DockerError]) -> list:
    """The units of ``model`` with these digests (first seen first, once each) the source holds; each
    digest it lacks adds ``missing(digest)`` to ``problems``."""
    wanted = list(dict.fromkeys(wanted))
    if not wanted:
        return []
    found = {unit.digest: unit for unit in source.units(model, digest__in=wanted)}
    problems += [missing(d) for d in wanted if d not in found]
    return [found[d] for d in wanted if d in found]
