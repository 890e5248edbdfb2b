"""What a stored manifest or manifest list refers to, as copy and removal follow it."""

from __future__ import annotations

from pulp_docker.common import media_types as mt
from pulp_docker.plugins.models import Manifest, ManifestList


def manifest_blob_digests(manifest: Manifest) -> list[str]:
    """The blobs a repository must hold for ``manifest``: its config, then its layers (foreign ones are
    never held: registries leave them to their URLs)."""
    digests = [manifest.config_layer] if manifest.config_layer else []
    digests += [layer.blob_sum for layer in manifest.fs_layers if not mt.is_foreign(layer.layer_type)]
    return list(dict.fromkeys(digests))


def list_manifest_digests(ml: ManifestList) -> list[str]:
    """The image manifests a manifest list names (with ``amd64_digest``, which Pulp 2 counted apart)."""
    digests = [entry.digest for entry in ml.manifests]
    if ml.amd64_digest:
        digests.append(ml.amd64_digest)
    return list(dict.fromkeys(digests))
