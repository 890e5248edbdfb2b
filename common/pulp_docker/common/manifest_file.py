"""A manifest on its own: Pulp 2's manifest-list upload (``-f list.json``), and a registry manifest PUT.

The manifest is a list or index (or an image manifest) whose instances and blobs the repository
already holds; the source offers nothing but the manifest's bytes and, for a PUT, the media type the
client declared.
"""

from __future__ import annotations

from dataclasses import dataclass

from pulp_docker.common.image_source import BlobReader, TopManifest

KIND = "manifest (JSON)"
# A tar starts with a member name; a JSON document with "{" (after any whitespace).
_JSON_START = b"{"


def looks_like_json(head: bytes) -> bool:
    """True when an upload's first bytes are those of a JSON object rather than a tar."""
    return head.lstrip(b" \t\r\n\xef\xbb\xbf").startswith(_JSON_START)


@dataclass(frozen=True)
class ManifestFileSource:
    """A source of one manifest, from its exact bytes."""

    data: bytes
    where: str = "the uploaded manifest"
    kind: str = KIND
    media_type: str | None = None

    def top_manifests(self) -> list[TopManifest]:
        return [TopManifest(self.data, self.where, self.media_type)]

    def get_manifest(self, digest: str) -> bytes | None:
        return None

    def get_blob(self, digest: str) -> BlobReader | None:
        return None
