"""Verify an image source against its manifests before anything is stored.

Every problem is collected (as distribution does) and reported together; nothing here writes.
The result is a ``Plan``: which blobs and manifests to store from the upload, and which the
repository already holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pulp_docker.common import manifest as manifests
from pulp_docker.common.error_codes import DKR1017, DKR1018, DKR1036, DKR1037, DockerError, combine
from pulp_docker.common.image_source import ImageSource
from pulp_docker.common.manifest import ParsedManifest, ParsedManifestList
from pulp_docker.plugins.models import Blob, Manifest
from pulp_platform.plugin_api import Conduit
from pulp_platform.storage import StagedFile


@dataclass(frozen=True)
class BlobToStore:
    digest: str
    size: int
    staged: StagedFile | None  # None: the repository holds it already


@dataclass(frozen=True)
class ManifestToStore:
    parsed: ParsedManifest | ParsedManifestList
    data: bytes


@dataclass
class Plan:
    """What verification approved, in the order it must be stored (blobs, instances, then the top)."""

    top: ManifestToStore
    blobs: list[BlobToStore] = field(default_factory=list)
    instances: list[ManifestToStore] = field(default_factory=list)
    instances_present: list[str] = field(default_factory=list)

    @property
    def manifests(self) -> list[ManifestToStore]:
        return [*self.instances, self.top]


def verify(source: ImageSource[StagedFile], top: ParsedManifest | ParsedManifestList, conduit: Conduit) -> Plan:
    """Check every manifest and blob the image needs; raise one DockerError listing every problem."""
    problems: list[DockerError] = []
    plan = Plan(ManifestToStore(top, source.manifest))
    images: list[tuple[ParsedManifest, str]] = []
    if isinstance(top, ParsedManifestList):
        held = {m.digest for m in conduit.units(Manifest, digest__in=[m.digest for m in top.manifests])}
        for entry in top.manifests:
            member = f"{entry.digest.split(':', 1)[1]}.manifest.json"
            data = source.instances.get(entry.digest)
            if data is None:
                if entry.digest in held:
                    plan.instances_present.append(entry.digest)
                else:
                    problems.append(DockerError(DKR1037, digest=entry.digest, repo_id=conduit.repo_id))
                continue
            try:
                parsed = manifests.parse(data, member)
            except DockerError as exc:
                problems.append(exc)
                continue
            if parsed.digest != entry.digest:
                problems.append(DockerError(DKR1017, checksum=entry.digest, member=member, actual=parsed.digest))
            elif len(data) != entry.size:
                problems.append(DockerError(DKR1036, member=member, size=len(data), expected=entry.size,
                                            digest=entry.digest))
            elif not isinstance(parsed, ParsedManifest):
                problems.append(DockerError(DKR1017, checksum=entry.digest, member=member,
                                            actual="a manifest list, not an image manifest"))
            else:
                plan.instances.append(ManifestToStore(parsed, data))
                images.append((parsed, member))
    else:
        images.append((top, source.manifest_member))
    plan.blobs = _verify_blobs(source, images, conduit, problems)
    if problems:
        raise combine(problems)
    return plan


def _verify_blobs(source: ImageSource[StagedFile], images: list[tuple[ParsedManifest, str]], conduit: Conduit,
                  problems: list[DockerError]) -> list[BlobToStore]:
    needed = {}
    for parsed, _member in images:
        for blob in parsed.blobs:
            if not blob.foreign:
                needed.setdefault(blob.digest, blob)
    missing = [d for d in needed if d not in source.blobs]
    held = {b.digest for b in conduit.units(Blob, digest__in=missing)} if missing else set()
    approved = []
    for digest, blob in needed.items():
        staged = source.blobs.get(digest)
        member = digest.split(":", 1)[1]
        if staged is None:
            if digest in held and conduit.store.exists(digest):
                approved.append(BlobToStore(digest, conduit.store.size(digest), None))
            else:
                problems.append(DockerError(DKR1018, layer=digest, repo_id=conduit.repo_id))
        elif staged.digest != digest:
            problems.append(DockerError(DKR1017, checksum=digest, member=member, actual=staged.digest))
        elif blob.size is not None and staged.size != blob.size:
            problems.append(DockerError(DKR1036, member=member, size=staged.size, expected=blob.size, digest=digest))
        else:
            approved.append(BlobToStore(digest, staged.size, staged))
    return approved
