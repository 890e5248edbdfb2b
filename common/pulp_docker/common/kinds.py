"""Which kind of image an upload holds, decided from its content, and the reader for each kind.

Adding a kind is one reader module (``matches`` and ``read``, the shape of ``skopeo_dir``) and one line
in ``READERS``. Order matters: Docker 25+ writes an OCI layout and a docker-archive ``manifest.json``
side by side, and the layout, which holds the registry manifests, wins.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from pulp_docker.common import docker_archive, oci_layout, skopeo_dir
from pulp_docker.common.archive_source import ArchiveSource
from pulp_docker.common.error_codes import DKR1032, DKR1033, DockerError
from pulp_docker.common.tarball import Archive

SKOPEO_DIR = skopeo_dir.KIND
DOCKER_ARCHIVE = docker_archive.KIND
OCI_LAYOUT = oci_layout.KIND
DOCKER_V1 = "Docker v1 image (docker save before Docker 1.10)"

READERS: list[ModuleType] = [oci_layout, docker_archive, skopeo_dir]


def detect(archive: Archive) -> Callable[[Archive], ArchiveSource]:
    """The reader for the kind of image an archive holds, decided from its content."""
    for reader in READERS:
        if reader.matches(archive):
            return reader.read
    if "repositories" in archive.files and any(p.endswith("/layer.tar") for p in [*archive.files, *archive.links]):
        raise DockerError(DKR1032, kind=DOCKER_V1,
                          reason="it has no manifest.json; save it again with a current docker or podman")
    names = ", ".join(sorted(archive.files)[:5]) or "no image files"
    raise DockerError(DKR1033, reason=f"it is no skopeo dir, docker-archive or OCI layout (found: {names})")


def open_source(archive: Archive) -> ArchiveSource:
    """Detect the archive's kind and read it with that kind's reader."""
    return detect(archive)(archive)
