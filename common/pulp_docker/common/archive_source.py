"""An ``ImageSource`` over a walked tarball: what each kind's reader builds from an ``Archive``.

The reader decides which member holds which manifest or blob (by the layout of its kind); this class
only serves them. Every digest here is a claim taken from a name or an index, checked by the ingest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pulp_docker.common.image_source import BlobReader, TopManifest
from pulp_docker.common.tarball import Archive


@dataclass
class ArchiveSource:
    """Manifests and blobs of an archive, by the digest their names or index entries claim."""

    kind: str
    archive: Archive
    tops: list[TopManifest] = field(default_factory=list)
    # Claimed digest -> member path.
    manifests: dict[str, str] = field(default_factory=dict)
    blobs: dict[str, str] = field(default_factory=dict)
    version: str | None = None

    def top_manifests(self) -> list[TopManifest]:
        return list(self.tops)

    def get_manifest(self, digest: str) -> bytes | None:
        path = self.manifests.get(digest)
        return None if path is None else self.archive.read_small(path)

    def get_blob(self, digest: str) -> BlobReader | None:
        path = self.blobs.get(digest)
        return None if path is None else self.archive.files[path].open()  # type: ignore[return-value]
