"""docker-archive: ``docker save`` (engine 20.10 and earlier), ``podman save`` and skopeo ``docker-archive:``.

The archive's ``manifest.json`` is a list, one entry per image::

    [{"Config": "<hex>.json", "RepoTags": ["name:tag", ...], "Layers": ["<id>/layer.tar" | "<hex>.tar", ...]}]

It holds no registry manifest, so this reader builds a Docker schema 2 manifest from the config and
the layers as they are (uncompressed, so each layer's digest is its diff id; never recompressed). The
config is kept byte for byte, so its digest, docker's image id, is unchanged. The manifest is
serialised the way docker's own registry client does (three-space indent, fixed key order), so the
same archive always gives the same digest.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from pulp_docker.common import media_types as mt
from pulp_docker.common import strict_json
from pulp_docker.common.archive_source import ArchiveSource
from pulp_docker.common.error_codes import DKR1033, DockerError
from pulp_docker.common.image_source import TopManifest
from pulp_docker.common.references import SHA256_HEX, is_sha256_digest, tag_of
from pulp_docker.common.tarball import Archive

KIND = "docker-archive"
# Where a member's name claims its digest: <hex>.json, <hex>.tar, <hex>, blobs/sha256/<hex>.
_DIGEST_NAME = re.compile(rf"(?:^|/)({SHA256_HEX})(?:\.json|\.tar)?\Z")
_GZIP, _ZSTD = b"\x1f\x8b", b"\x28\xb5\x2f\xfd"


def matches(archive: Archive) -> bool:
    """A top-level ``manifest.json`` holding a JSON list."""
    if "manifest.json" not in archive.files:
        return False
    try:
        return isinstance(strict_json.loads(archive.read_small("manifest.json")), list)
    except ValueError:
        return False


def read(archive: Archive) -> ArchiveSource:
    """Read every image of a docker-archive; raises DockerError DKR1033 for a malformed one."""
    entries = _entries(archive)
    source = ArchiveSource(KIND, archive)
    for index, entry in enumerate(entries):
        where = f"manifest.json entry {index}"
        config_path = _member(archive, entry.get("Config"), f"{where} Config")
        config = archive.read_small(config_path)
        config_digest = _claimed_digest(config_path) or f"sha256:{hashlib.sha256(config).hexdigest()}"
        layers = _layers(archive, source, entry, _diff_ids(config, config_path), where)
        source.blobs[config_digest] = config_path
        doc = {
            "schemaVersion": 2,
            "mediaType": mt.DOCKER_MANIFEST_V2,
            "config": {"mediaType": mt.DOCKER_CONFIG, "size": len(config), "digest": config_digest},
            "layers": layers,
        }
        tags = tuple(dict.fromkeys(tag_of(name) for name in entry.get("RepoTags") or ()))
        source.tops.append(TopManifest(build(doc), where, mt.DOCKER_MANIFEST_V2, tags=tags))
    return source


def build(doc: dict[str, Any]) -> bytes:
    """A manifest's canonical bytes: as docker's registry client writes them (``MarshalIndent``, 3 spaces)."""
    return json.dumps(doc, indent=3, ensure_ascii=False).encode()


def _entries(archive: Archive) -> list[dict[str, Any]]:
    try:
        entries = strict_json.loads(archive.read_small("manifest.json"))
    except ValueError as exc:
        raise DockerError(DKR1033, reason=f"its manifest.json is not valid JSON ({exc})") from None
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise DockerError(DKR1033, reason="its manifest.json is not a list of images (docker-archive)")
    return entries


def _member(archive: Archive, name: Any, what: str) -> str:
    if not isinstance(name, str) or not name:
        raise DockerError(DKR1033, reason=f"{what} names no file")
    path = archive.resolve(name.removeprefix("./"))
    if path is None:
        raise DockerError(DKR1033, reason=f"{what} names {name}, which the archive does not hold")
    return path


def _claimed_digest(path: str) -> str | None:
    match = _DIGEST_NAME.search(path)
    return f"sha256:{match.group(1)}" if match else None


def _diff_ids(config: bytes, path: str) -> list[str]:
    try:
        diff_ids = strict_json.loads(config)["rootfs"]["diff_ids"]
    except strict_json.JSONRefused as exc:
        raise DockerError(DKR1033, reason=f"the image config {path} is not valid JSON ({exc})") from None
    except (KeyError, TypeError):
        raise DockerError(DKR1033, reason=f"the image config {path} has no rootfs.diff_ids") from None
    if not isinstance(diff_ids, list) or not all(is_sha256_digest(d) for d in diff_ids):
        raise DockerError(DKR1033, reason=f"the image config {path} has diff_ids that are not sha256 digests")
    return diff_ids


def _layers(archive: Archive, source: ArchiveSource, entry: dict[str, Any], diff_ids: list[str],
            where: str) -> list[dict[str, Any]]:
    names = entry.get("Layers")
    if not isinstance(names, list):
        raise DockerError(DKR1033, reason=f"{where} has no Layers list")
    if len(names) != len(diff_ids):
        raise DockerError(DKR1033, reason=f"{where} lists {len(names)} layers but its config has "
                                          f"{len(diff_ids)} diff_ids")
    layers = []
    for position, (name, diff_id) in enumerate(zip(names, diff_ids, strict=True)):
        path = _member(archive, name, f"{where} layer {position}")
        handle = archive.files[path]
        head = handle.open().read(4)
        if head.startswith(_GZIP):
            # Some tools keep layers gzipped: then only a digest-named member says what it is.
            digest, media_type = _claimed_digest(path), mt.DOCKER_LAYER
            if digest is None:
                raise DockerError(DKR1033, reason=f"layer {name} is gzipped but its name gives no digest")
        elif head.startswith(_ZSTD):
            raise DockerError(DKR1033, reason=f"layer {name} is zstd-compressed, which schema 2 cannot describe")
        else:
            digest, media_type = diff_id, mt.DOCKER_LAYER_UNCOMPRESSED
        source.blobs.setdefault(digest, path)
        layers.append({"mediaType": media_type, "size": handle.size, "digest": digest})
    return layers
