"""The contract between every way an image arrives and the one ingest path that stores it.

Shaped after containers/image's ``types.ImageSource``: a source offers the top manifest's exact bytes
and media type, instance manifests by digest, blobs by digest as streams with their size, and the
names it carries. A tarball reader, a push session, a remote registry and a repository copy are each
a small source.

Two differences from containers/image, both because of what archives hold:

- ``top_manifests()`` is a list. A ``docker save`` of several images, or an OCI layout with several
  refs, holds several images and no single top one (containers/image addresses each one by its own
  reference, ``docker-archive:x.tar:@1``); the names each carries come with it.
- ``get_blob`` answers None for a blob the source does not hold, rather than failing: a skopeo dir may
  leave out layers the repository already has, and a push holds no blobs at all. The ingest then
  looks in the repository (and, for a source whose ``reuses_stored_blobs`` is true, a sync, in the
  whole content store: it did not download what the server already has).

Sources only claim. A digest in a file name, a size in a header, a tag in an annotation: the ingest
computes every digest and size from the bytes and checks each claim before anything is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class BlobReader(Protocol):
    """A blob's bytes, read front to back; ``size`` is what the source claims (None: unknown)."""

    size: int | None

    def read(self, n: int = -1) -> bytes: ...


@dataclass(frozen=True)
class TopManifest:
    """One image at a source's top level: its manifest's exact bytes and the names the source gives it.

    ``media_type`` is what the source says (None: decide from the content). ``digest`` and ``size``
    are claims, made where the source names the manifest by digest (an OCI index entry); the ingest
    checks them. ``where`` names the manifest in error messages (a member, a URL).
    """

    data: bytes
    where: str
    media_type: str | None = None
    digest: str | None = None
    size: int | None = None
    tags: tuple[str, ...] = ()


class ImageSource(Protocol):
    """What the ingest reads an image from (see the module docstring)."""

    kind: str

    def top_manifests(self) -> list[TopManifest]:
        """Every image the source holds at its top level (usually one)."""
        ...

    def get_manifest(self, digest: str) -> bytes | None:
        """The exact bytes of an instance manifest a list names, or None when the source lacks it."""
        ...

    def get_blob(self, digest: str) -> BlobReader | None:
        """A fresh reader of the blob, or None when the source does not hold it."""
        ...
