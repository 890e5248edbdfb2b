"""The OCI image layout: oci-archive, a tarred ``oci:`` directory, and Docker 25+ ``docker save``.

``oci-layout`` holds ``{"imageLayoutVersion": "1.0.0"}``; ``index.json`` is an OCI index whose entries
are the layout's images (an image manifest, or a nested index for a multi-arch image), each named by
the ``org.opencontainers.image.ref.name`` annotation; ``blobs/<alg>/<hex>`` holds every manifest,
config and layer. Each manifest is kept with its exact bytes and digest. Docker 25+ also writes its
docker-archive ``manifest.json`` beside the layout; the layout is what is read.
"""

from __future__ import annotations

import re
from typing import Any

from pulp_docker.common import schemas, strict_json
from pulp_docker.common.archive_source import ArchiveSource
from pulp_docker.common.error_codes import DKR1033, DockerError
from pulp_docker.common.image_source import TopManifest
from pulp_docker.common.references import tag_of
from pulp_docker.common.tarball import Archive

KIND = "oci-layout"
SUPPORTED_LAYOUT_VERSIONS = ("1.0.0",)
REF_NAME = "org.opencontainers.image.ref.name"
# containerd and Docker 25+ name the image in full here when ref.name is only the tag, or absent.
CONTAINERD_NAME = "io.containerd.image.name"
_BLOB_PATH = re.compile(r"^blobs/([a-z0-9][a-z0-9+._-]*)/([a-zA-Z0-9=_-]+)\Z")


def matches(archive: Archive) -> bool:
    return "oci-layout" in archive.files or (
        "index.json" in archive.files and any(p.startswith("blobs/") for p in archive.files))


def read(archive: Archive) -> ArchiveSource:
    """Read the layout's images and blobs; raises DockerError DKR1033 for a malformed layout."""
    _check_layout_version(archive)
    if "index.json" not in archive.files:
        raise DockerError(DKR1033, reason="its OCI layout has no index.json")
    source = ArchiveSource(KIND, archive)
    for path in archive.files:
        if match := _BLOB_PATH.match(path):
            digest = f"{match.group(1)}:{match.group(2)}"
            source.blobs[digest] = source.manifests[digest] = path
    for digest, path in _linked_blobs(archive):
        source.blobs.setdefault(digest, path)
        source.manifests.setdefault(digest, path)
    tops: dict[str, TopManifest] = {}
    for position, entry in enumerate(_entries(archive)):
        digest = entry["digest"]
        tags = _tags(entry)
        if digest in tops:  # two refs to one image: one image with both names
            previous = tops[digest]
            tops[digest] = TopManifest(previous.data, previous.where, previous.media_type, digest, previous.size,
                                       tuple(dict.fromkeys(previous.tags + tags)))
            continue
        path = source.manifests.get(digest)
        if path is None:
            raise DockerError(DKR1033, reason=f"index.json entry {position} names {digest}, which is not in blobs/")
        tops[digest] = TopManifest(archive.read_small(path), path, entry.get("mediaType"), digest, entry.get("size"),
                                   tags)
    source.tops = list(tops.values())
    return source


def _check_layout_version(archive: Archive) -> None:
    if "oci-layout" not in archive.files:
        return  # hand-tarred layouts sometimes lack it; index.json and blobs/ decide
    try:
        version = strict_json.loads(archive.read_small("oci-layout")).get("imageLayoutVersion")
    except (ValueError, AttributeError):
        raise DockerError(DKR1033, reason="its oci-layout file is not the JSON object the OCI layout spec gives") \
            from None
    if version not in SUPPORTED_LAYOUT_VERSIONS:
        raise DockerError(DKR1033, reason=f"OCI image layout version {version!r} is not supported")


def _linked_blobs(archive: Archive) -> list[tuple[str, str]]:
    """Blobs present as links to other members (rare, but allowed in a layout directory)."""
    found = []
    for path in archive.links:
        target = archive.resolve(path)
        if target is not None and (match := _BLOB_PATH.match(path)):
            found.append((f"{match.group(1)}:{match.group(2)}", target))
    return found


def _entries(archive: Archive) -> list[dict[str, Any]]:
    try:
        index = strict_json.loads(archive.read_small("index.json"))
    except strict_json.JSONRefused as exc:
        raise DockerError(DKR1033, reason=f"its index.json is not valid JSON ({exc})") from None
    entries = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(entries, list):
        raise DockerError(DKR1033, reason="its index.json has no manifests list")
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("digest"), str):
            raise DockerError(DKR1033, reason=f"index.json entry {position} is not a descriptor with a digest")
    if not entries:
        raise DockerError(DKR1033, reason="its index.json lists no images")
    # Sizes and media types are claims the ingest checks: they must be what a client would read.
    problem = schemas.problem(index, schemas.LAYOUT_INDEX)
    if problem is not None:
        raise DockerError(DKR1033, reason=f"its index.json is not an OCI index ({problem})")
    return entries


def _tags(entry: dict[str, Any]) -> tuple[str, ...]:
    annotations = entry.get("annotations") or {}
    name = annotations.get(REF_NAME) or annotations.get(CONTAINERD_NAME)
    return (tag_of(name),) if isinstance(name, str) and name else ()
