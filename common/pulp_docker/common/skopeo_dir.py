"""The skopeo ``dir:`` transport, tarred.

A skopeo dir holds ``manifest.json`` (exact bytes), one file per blob named by its digest's hex
(transport version 1.1) or ``<hex>.tar`` (version 1.0), a ``version`` file (``Directory Transport
Version: 1.1``; hand-made dirs may lack it), and, after ``skopeo copy --all``, each instance manifest
of a list as ``<hex>.manifest.json``. Other files are ignored.
"""

from __future__ import annotations

import re

from pulp_docker.common.archive_source import ArchiveSource
from pulp_docker.common.error_codes import DKR1031, DKR1033, DockerError
from pulp_docker.common.image_source import TopManifest
from pulp_docker.common.references import SHA256_HEX
from pulp_docker.common.tarball import Archive

KIND = "skopeo dir"
SUPPORTED_VERSIONS = ("1.0", "1.1")
_VERSION = re.compile(r"^Directory Transport Version: (\d+\.\d+)\s*$")
_BLOB_NAME = re.compile(rf"^({SHA256_HEX})(\.tar)?\Z")
_INSTANCE_NAME = re.compile(rf"^({SHA256_HEX})\.manifest\.json\Z")


def matches(archive: Archive) -> bool:
    """A top-level ``manifest.json`` that is not docker-archive's list (decided by ``kinds``)."""
    return "manifest.json" in archive.files


def read(archive: Archive) -> ArchiveSource:
    """Read an Archive of a skopeo dir; raises DockerError for links, a bad version or no manifest."""
    if archive.links:
        raise DockerError(DKR1031, member=next(iter(archive.links)), reason="links are not allowed in a skopeo dir")
    if "manifest.json" not in archive.files:
        raise DockerError(DKR1033, reason="there is no manifest.json at its top level")
    version = _version(archive.read_small("version")) if "version" in archive.files else None
    source = ArchiveSource(KIND, archive, [TopManifest(archive.read_small("manifest.json"), "manifest.json")],
                           version=version)
    for path in archive.files:
        if "/" in path:
            continue  # the dir is flat: anything in a sub-folder is not part of the image
        if match := _BLOB_NAME.match(path):
            digest = f"sha256:{match.group(1)}"
            if digest in source.blobs:
                raise DockerError(DKR1031, member=path, reason=f"a second file for blob {digest}")
            source.blobs[digest] = path
        elif match := _INSTANCE_NAME.match(path):
            source.manifests[f"sha256:{match.group(1)}"] = path
    return source


def _version(data: bytes) -> str:
    text = data.decode("utf-8", "replace")
    match = _VERSION.match(text)
    if not match:
        raise DockerError(DKR1033, reason=f"its version file says {text.strip()[:80]!r}, not a skopeo dir version")
    if match.group(1) not in SUPPORTED_VERSIONS:
        raise DockerError(DKR1033, reason=f"skopeo dir transport version {match.group(1)} is not supported")
    return match.group(1)
