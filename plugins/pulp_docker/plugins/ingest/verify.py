"""Verify what a source claims before anything is stored: every digest and size from the bytes.

Manifests are parsed from their exact bytes and checked against the digest and size their parent
(an index entry, a list) declares. Every blob the images need is staged from the source, hashed as it
is written, and checked against the manifest; a blob the source lacks must be one the repository
holds. Every problem is collected (as distribution does) and reported together. Staged files are the
only thing written here, and the caller's ``Staging`` removes them unless they are committed.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing, nullcontext
from dataclasses import dataclass, field

from pulp_docker.common import manifest as manifests
from pulp_docker.common.error_codes import (
    DKR1017,
    DKR1018,
    DKR1035,
    DKR1036,
    DKR1037,
    DKR1039,
    DKR1042,
    DockerError,
    combine,
)
from pulp_docker.common.image_source import BlobReader, ImageSource, TopManifest
from pulp_docker.common.manifest import Descriptor, ParsedManifest, ParsedManifestList
from pulp_docker.common.references import is_tag
from pulp_docker.plugins.models import Blob, Manifest
from pulp_platform.plugin_api import Conduit
from pulp_platform.storage import StagedFile, Staging, TooLarge


@dataclass(frozen=True)
class BlobToStore:
    digest: str
    size: int
    staged: StagedFile | None  # None: the repository holds it already


@dataclass(frozen=True)
class ManifestToStore:
    parsed: ParsedManifest | ParsedManifestList
    data: bytes
    tags: tuple[str, ...] = ()


@dataclass
class Plan:
    """What verification approved, in the order it must be stored: blobs, instances, then the tops."""

    tops: list[ManifestToStore] = field(default_factory=list)
    blobs: list[BlobToStore] = field(default_factory=list)
    instances: list[ManifestToStore] = field(default_factory=list)
    instances_present: list[str] = field(default_factory=list)


Progress = Callable[[int], None]


def verify(source: ImageSource, conduit: Conduit, staging: Staging, progress: Progress | None = None) -> Plan:
    """Check every manifest and blob the source's images need; raise one DockerError listing every problem."""
    problems: list[DockerError] = []
    plan = Plan()
    images: list[ParsedManifest] = []
    for top in source.top_manifests():
        parsed = _top(top, problems)
        if parsed is None:
            continue
        plan.tops.append(ManifestToStore(parsed, top.data, top.tags))
        for name in top.tags:
            if not is_tag(name):
                problems.append(DockerError(DKR1039, name=repr(name)))
        if isinstance(parsed, ParsedManifestList):
            images += _instances(source, parsed, conduit, plan, problems)
        else:
            images.append(parsed)
    if plan.tops or not problems:
        plan.blobs = _blobs(source, images, conduit, staging, problems, progress)
    if problems:
        raise combine(problems)
    return plan


def _top(top: TopManifest, problems: list[DockerError]) -> ParsedManifest | ParsedManifestList | None:
    try:
        parsed = manifests.parse(top.data, top.where)
    except DockerError as exc:
        problems.append(exc)
        return None
    if top.media_type is not None and top.media_type != parsed.media_type:
        problems.append(DockerError(DKR1035, media_type=f"{top.media_type} (declared; the content is "
                                                        f"{parsed.media_type})", member=top.where))
        return None
    claimed_digest = top.digest if top.digest is not None else parsed.digest
    claimed_size = top.size if top.size is not None else len(top.data)
    # An index entry names a manifest by the sha256 of its bytes (for schema 1, of its payload).
    if claimed_digest not in (parsed.digest, manifests.sha256_digest(top.data)) or claimed_size != len(top.data):
        problems.append(DockerError(DKR1042, member=top.where, size=len(top.data), actual=parsed.digest,
                                    expected_size=claimed_size, digest=claimed_digest, where="the index"))
        return None
    return parsed


def _instances(source: ImageSource, parent: ParsedManifestList, conduit: Conduit, plan: Plan,
               problems: list[DockerError]) -> list[ParsedManifest]:
    """The list's image manifests: from the source where it has them, else already in the repository."""
    wanted = [entry.digest for entry in parent.manifests]
    held = {m.digest for m in conduit.units(Manifest, digest__in=wanted)}
    known = {item.parsed.digest for item in plan.instances}
    images = []
    for entry in parent.manifests:
        where = f"{entry.digest.split(':', 1)[1]}.manifest.json"
        data = source.get_manifest(entry.digest)
        if data is None:
            if entry.digest in held:
                plan.instances_present.append(entry.digest)
            else:
                problems.append(DockerError(DKR1037, digest=entry.digest, repo_id=conduit.repo_id))
            continue
        try:
            parsed = manifests.parse(data, where)
        except DockerError as exc:
            problems.append(exc)
            continue
        if parsed.digest != entry.digest:
            problems.append(DockerError(DKR1017, checksum=entry.digest, member=where, actual=parsed.digest))
        elif len(data) != entry.size:
            problems.append(DockerError(DKR1036, member=where, size=len(data), expected=entry.size,
                                        digest=entry.digest))
        elif not isinstance(parsed, ParsedManifest):
            problems.append(DockerError(DKR1017, checksum=entry.digest, member=where,
                                        actual="a manifest list, not an image manifest"))
        elif parsed.digest not in known:
            known.add(parsed.digest)
            plan.instances.append(ManifestToStore(parsed, data))
            images.append(parsed)
    return images


def _blobs(source: ImageSource, images: list[ParsedManifest], conduit: Conduit, staging: Staging,
           problems: list[DockerError], progress: Progress | None) -> list[BlobToStore]:
    needed: dict[str, Descriptor] = {}
    for parsed in images:
        for blob in parsed.blobs:
            if not blob.foreign:
                needed.setdefault(blob.digest, blob)
    approved, missing = [], []
    for digest, blob in needed.items():
        reader = source.get_blob(digest)  # one at a time: a remote source opens a connection per blob
        if reader is None:
            missing.append(digest)
            continue
        staged = _stage(reader, blob, staging, problems)
        if staged is not None:
            approved.append(BlobToStore(digest, staged.size, staged))
            if progress is not None:
                progress(staged.size)
    held = {b.digest for b in conduit.units(Blob, digest__in=missing)} if missing else set()
    if missing and getattr(source, "reuses_stored_blobs", False):
        # A sync does not download what the store already holds: those blobs join this repository.
        held |= {b.digest for b in Blob.objects(digest__in=missing).only("digest")}
    for digest in missing:
        if digest in held and conduit.store.exists(digest):
            size, declared = conduit.store.size(digest), needed[digest].size
            if declared is not None and declared != size:
                problems.append(DockerError(DKR1036, member=f"blob {digest} in repository {conduit.repo_id}",
                                            size=size, expected=declared, digest=digest))
            else:
                approved.append(BlobToStore(digest, size, None))
        else:
            problems.append(DockerError(DKR1018, layer=digest, repo_id=conduit.repo_id))
    return approved


def _stage(reader: BlobReader, blob: Descriptor, staging: Staging, problems: list[DockerError]) -> StagedFile | None:
    """Stage one blob, hashing it as it is written; None (and a problem) when it is not what was declared."""
    member = blob.digest.split(":", 1)[1]
    limit = blob.size if blob.size is not None else reader.size
    try:
        with closing(reader) if hasattr(reader, "close") else nullcontext():  # type: ignore[arg-type]
            staged = staging.stage(reader, limit=limit)  # type: ignore[arg-type]
    except TooLarge:
        problems.append(DockerError(DKR1036, member=member, size=f"more than {limit}", expected=blob.size,
                                    digest=blob.digest))
        return None
    if staged.digest != blob.digest:
        problems.append(DockerError(DKR1017, checksum=blob.digest, member=member, actual=staged.digest))
    elif blob.size is not None and staged.size != blob.size:
        problems.append(DockerError(DKR1036, member=member, size=staged.size, expected=blob.size, digest=blob.digest))
    else:
        return staged
    return None

