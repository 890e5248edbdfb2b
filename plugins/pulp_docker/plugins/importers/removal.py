"""Removing units from a repository with docker semantics, as Pulp 2's docker importer did.

- A manifest or manifest list takes with it the repository's tags that name it.
- A manifest list takes the image manifests it names that no remaining list of the repository names
  and no image tag of the repository names.
- Every manifest removed (asked for, or taken by a list) takes the blobs (config and layers) that no
  remaining manifest of the repository uses.
- A tag or a blob goes alone: removing a tag leaves its manifest; a blob is removed even if a
  remaining manifest uses it (Pulp 2 did not check either).

The order is top down, as Pulp 2's: tags, then the units asked for, then the manifests they leave
unused, then the blobs. A failure part-way leaves content nothing names (safe), never a tag naming a
manifest that is gone. Units are only unassociated: held by no other repository, they become orphans
(tags included, although their unit key names this repository; orphan removal deletes them).
"""

from __future__ import annotations

from collections.abc import Iterable

from pulp_docker.common import constants
from pulp_docker.plugins.importers.references import list_manifest_digests, manifest_blob_digests
from pulp_docker.plugins.models import Blob, Manifest, ManifestList, Tag
from pulp_platform.models.content import ContentUnit
from pulp_platform.plugin_api import Conduit


def remove_units(conduit: Conduit, units: list[ContentUnit]) -> list[ContentUnit]:
    """Remove ``units`` and what only they used from the conduit's repository; returns every unit removed."""
    removed: dict[tuple[str, str], ContentUnit] = {}
    manifests = [u for u in units if isinstance(u, Manifest)]
    lists = [u for u in units if isinstance(u, ManifestList)]
    digests = [u.digest for u in [*manifests, *lists]]
    if digests:
        _unassociate(conduit, conduit.units(Tag, manifest_digest__in=digests), removed)
    _unassociate(conduit, units, removed)
    unused = _manifests_unused(conduit, lists)
    _unassociate(conduit, unused, removed)
    _unassociate(conduit, _blobs_unused(conduit, [*manifests, *unused]), removed)
    return list(removed.values())


def _unassociate(conduit: Conduit, units: Iterable[ContentUnit], removed: dict[tuple[str, str], ContentUnit]) -> None:
    for unit in list(units):
        key = (unit.type_id, unit.id)
        if key not in removed:
            conduit.unassociate(unit)
            removed[key] = unit


def _manifests_unused(conduit: Conduit, lists: list[ManifestList]) -> list[Manifest]:
    """The image manifests of the removed lists that no list or image tag left in the repository names."""
    candidates = {digest for ml in lists for digest in list_manifest_digests(ml)}
    if not candidates:
        return []
    wanted = sorted(candidates)
    # The removed lists are no longer held: whatever these queries find is what remains.
    for model_filter in ({"manifests__digest__in": wanted}, {"amd64_digest__in": wanted}):
        for ml in conduit.units(ManifestList, **model_filter):
            candidates.difference_update(list_manifest_digests(ml))
    for tag in conduit.units(Tag, manifest_type=constants.MANIFEST_TYPE_IMAGE, manifest_digest__in=sorted(candidates)):
        candidates.discard(tag.manifest_digest)
    if not candidates:
        return []
    return list(conduit.units(Manifest, digest__in=sorted(candidates)))


def _blobs_unused(conduit: Conduit, manifests: list[Manifest]) -> list[Blob]:
    """The blobs of the removed manifests that no manifest left in the repository uses."""
    candidates = {digest for m in manifests for digest in manifest_blob_digests(m)}
    if not candidates:
        return []
    wanted = sorted(candidates)
    for model_filter in ({"fs_layers__blob_sum__in": wanted}, {"config_layer__in": wanted}):
        for manifest in conduit.units(Manifest, **model_filter):
            candidates.difference_update(manifest_blob_digests(manifest))
    if not candidates:
        return []
    return list(conduit.units(Blob, digest__in=sorted(candidates)))
