"""The contract between tarball readers and the importer.

Each tarball kind (skopeo dir, docker-archive, OCI layout) is read the same way, as containers/image
reads its transports: ``tarball.walk`` streams the tar once and a sink keeps metadata bytes and
stages blobs; then the kind's reader turns that Archive into an ``ImageSource``: the top manifest's
exact bytes, any instance manifests of a list, and the blobs present, keyed by the digest their
names claim.

Who verifies what: readers verify nothing about digests. They only say what the archive claims.
The importer computes every digest and size from the bytes and compares them with the claims and
with the manifest, before anything is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class ImageSource(Generic[T]):
    """An image as a tarball holds it: manifest bytes and blob handles (the sink's results)."""

    kind: str
    manifest: bytes
    manifest_member: str
    # Instance manifests of a list, by the digest their names claim: exact bytes.
    instances: dict[str, bytes] = field(default_factory=dict)
    # Blobs present, by the digest their names claim.
    blobs: dict[str, T] = field(default_factory=dict)
    version: str | None = None
