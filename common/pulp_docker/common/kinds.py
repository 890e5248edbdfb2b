"""Which kind of image tarball an upload is, decided from its content, and the reader for each kind.

Adding a kind is one reader module (the shape of ``skopeo_dir``) and one line in ``READERS``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

from pulp_docker.common import skopeo_dir
from pulp_docker.common.error_codes import DKR1032, DKR1033, DockerError
from pulp_docker.common.image_source import ImageSource
from pulp_docker.common.tarball import Archive

T = TypeVar("T")

SKOPEO_DIR = "skopeo dir"
DOCKER_ARCHIVE = "docker-archive (docker save)"
OCI_LAYOUT = "OCI image layout (oci-archive)"

READERS: dict[str, Callable[[Archive, str], ImageSource]] = {
    SKOPEO_DIR: skopeo_dir.read,
}


def detect(archive: Archive[object]) -> str:
    """The kind of image an archive holds, decided from its content."""
    files = archive.files
    if "oci-layout" in files or ("index.json" in files and any(p.startswith("blobs/") for p in files)):
        return OCI_LAYOUT
    manifest = files.get("manifest.json")
    if isinstance(manifest, bytes):
        try:
            doc = json.loads(manifest)
        except ValueError:
            return SKOPEO_DIR  # its reader reports the bad JSON, naming the member
        if isinstance(doc, list):
            return DOCKER_ARCHIVE
        return SKOPEO_DIR
    names = ", ".join(sorted(files)[:5]) or "no image files"
    raise DockerError(DKR1033, reason=f"there is no manifest.json at its top level (found: {names})")


def open_source(archive: Archive[T]) -> ImageSource[T]:
    """Detect the archive's kind and read it with that kind's reader."""
    kind = detect(archive)
    reader = READERS.get(kind)
    if reader is None:
        raise DockerError(DKR1032, kind=kind)
    return reader(archive, kind)
