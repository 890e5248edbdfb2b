"""The skopeo ``dir:`` transport, tarred.

A skopeo dir holds ``manifest.json`` (exact bytes), one file per blob named by its digest's hex
(transport version 1.1) or ``<hex>.tar`` (version 1.0), a ``version`` file (``Directory Transport
Version: 1.1``; hand-made dirs may lack it), and, after ``skopeo copy --all``, each instance manifest
of a list as ``<hex>.manifest.json``. Other files are ignored.
"""

from __future__ import annotations

import re
from typing import TypeVar

from pulp_docker.common.error_codes import DKR1031, DKR1033, DockerError
from pulp_docker.common.image_source import ImageSource
from pulp_docker.common.tarball import Archive

T = TypeVar("T")

SUPPORTED_VERSIONS = ("1.0", "1.1")
_VERSION = re.compile(r"^Directory Transport Version: (\d+\.\d+)\s*$")
_BLOB_NAME = re.compile(r"^([0-9a-f]{64})(\.tar)?$")
_INSTANCE_NAME = re.compile(r"^([0-9a-f]{64})\.manifest\.json$")


def read(archive: Archive[T], kind: str = "skopeo dir") -> ImageSource[T]:
    """Read an Archive of a skopeo dir; raises DockerError for links, a bad version or no manifest."""
    if archive.links:
        raise DockerError(DKR1031, member=archive.links[0], reason="links are not allowed in a skopeo dir")
    manifest = archive.files.get("manifest.json")
    if not isinstance(manifest, bytes):
        raise DockerError(DKR1033, reason="there is no manifest.json at its top level")
    version = _version(archive.files.get("version"))
    source: ImageSource[T] = ImageSource(kind=kind, manifest=manifest, manifest_member="manifest.json",
                                         version=version)
    for path, value in archive.files.items():
        if "/" in path:
            continue  # the dir is flat: anything in a sub-folder is not part of the image
        if match := _BLOB_NAME.match(path):
            digest = f"sha256:{match.group(1)}"
            if digest in source.blobs:
                raise DockerError(DKR1031, member=path, reason=f"a second file for blob {digest}")
            source.blobs[digest] = value
        elif (match := _INSTANCE_NAME.match(path)) and isinstance(value, bytes):
            source.instances[f"sha256:{match.group(1)}"] = value
    return source


def _version(data: object) -> str | None:
    """The transport version, or None when the file is missing (hand-made dirs)."""
    if data is None:
        return None
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else ""
    match = _VERSION.match(text)
    if not match:
        raise DockerError(DKR1033, reason=f"its version file says {text.strip()[:80]!r}, not a skopeo dir version")
    if match.group(1) not in SUPPORTED_VERSIONS:
        raise DockerError(DKR1033, reason=f"skopeo dir transport version {match.group(1)} is not supported")
    return match.group(1)
