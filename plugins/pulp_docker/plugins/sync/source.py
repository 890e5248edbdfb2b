"""A remote registry's image as an ``ImageSource``: the tag's manifest, its instances, downloaded blobs.

The sync fetches the manifests first and downloads the blobs the server lacks, in parallel, straight to
the staging dir (``Spooled``), so the ingest takes each file as it is; blobs the content store already
holds are not downloaded (``reuses_stored_blobs``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pulp_docker.common.image_source import BlobReader, TopManifest
from pulp_docker.plugins.ingest.spooled import Spooled

KIND = "registry"


@dataclass
class RemoteImage:
    """One upstream tag: its manifest's exact bytes and type, and a list's instances by digest."""

    tag: str
    data: bytes
    media_type: str | None
    where: str
    instances: dict[str, bytes] = field(default_factory=dict)


@dataclass
class RemoteSource:
    image: RemoteImage
    downloaded: dict[str, Spooled]
    kind: str = KIND
    reuses_stored_blobs: bool = True

    def top_manifests(self) -> list[TopManifest]:
        return [TopManifest(self.image.data, self.image.where, self.image.media_type, tags=(self.image.tag,))]

    def get_manifest(self, digest: str) -> bytes | None:
        return self.image.instances.get(digest)

    def get_blob(self, digest: str) -> BlobReader | None:
        spooled = self.downloaded.get(digest)
        if spooled is None or not spooled.staged_file.path.exists():
            return None  # not downloaded, or committed already by an earlier image of this sync
        return spooled.open()  # type: ignore[return-value]
