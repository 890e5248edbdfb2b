"""Test images as skopeo ``dir:`` directories and tarballs of them, built with ``devel/imagegen.py``.

Every image gets its own seed, so no two images share a blob: each upload brings content that is new
to the server it goes to. Besides the tarred skopeo dir, an image can be written as a docker-archive
(``docker save`` of Docker 20.10, layers uncompressed) and as an oci-archive (layers gzipped, as in the
dir): the same config and the same layer contents in each kind.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import imagegen

SKOPEO_DIR, DOCKER_ARCHIVE, OCI_ARCHIVE = imagegen.KINDS
KINDS = imagegen.KINDS


@dataclass
class Upload:
    """One tarball of an image and what our server must hold once it is imported."""

    kind: str
    tar: Path
    manifest_digest: str
    big_digest: str  # the largest layer blob as this kind stores it (a docker-archive's is uncompressed)
    big_size: int

    @property
    def tar_size(self) -> int:
        return self.tar.stat().st_size


@dataclass
class Image:
    """A built image: its skopeo dir, its tarball, and what the servers must end up holding."""

    dir: Path
    tar: Path
    manifest_digest: str
    big_digest: str  # the largest layer: what the raw blob GET fetches
    big_size: int
    blob_bytes: int  # sum of all blobs (config and layers)
    layers: int
    uploads: dict[str, Upload] = field(default_factory=dict)  # kind -> tarball; always has skopeo-dir

    @property
    def tar_size(self) -> int:
        return self.tar.stat().st_size

    def upload(self, kind: str = SKOPEO_DIR) -> Upload:
        return self.uploads[kind]

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        self.tar.unlink(missing_ok=True)
        for upload in self.uploads.values():
            upload.tar.unlink(missing_ok=True)


def build(where: Path, name: str, size: int, seed: int, layers: int = 0, gzip: bool = False,
          kinds: tuple[str, ...] | list[str] = (SKOPEO_DIR,)) -> Image:
    """Build ``where/name/`` (a skopeo dir) and ``where/name.tar`` (``.tar.gz`` with ``gzip``), and for
    each other kind in ``kinds`` ``where/name.<kind>.tar`` (``.tar.gz``), written from the dir.

    ``layers`` 0: one big random layer of about ``size`` plus three small ones (imagegen's default);
    otherwise ``layers`` layers of ``size / layers`` each.
    """
    out = where / name
    if layers:
        out.mkdir(parents=True)
        (out / "version").write_text("Directory Transport Version: 1.1\n")
        media = imagegen.MEDIA["v2s2"]
        blobs = [imagegen.write_layer(out, size // layers, seed + i, media["layer"]) for i in range(layers)]
        descriptor, data = imagegen.build_manifest(out, blobs, "v2s2")
        (out / "manifest.json").write_bytes(data)
        digest = descriptor.digest
    else:
        digest = imagegen.make_image(out, size, seed=seed)
    suffix = ".tar.gz" if gzip else ".tar"
    tar = imagegen.tar_dir(out, where / f"{name}{suffix}", compress=gzip)
    manifest = json.loads((out / "manifest.json").read_bytes())
    big = max(manifest["layers"], key=lambda layer: layer["size"])
    blob_bytes = manifest["config"]["size"] + sum(layer["size"] for layer in manifest["layers"])
    image = Image(out, tar, digest, big["digest"], big["size"], blob_bytes, len(manifest["layers"]))
    image.uploads[SKOPEO_DIR] = Upload(SKOPEO_DIR, tar, digest, big["digest"], big["size"])
    for kind in kinds:
        if kind in image.uploads:
            continue
        dest = where / f"{name}.{kind}{suffix}"
        if kind == DOCKER_ARCHIVE:
            written = imagegen.write_docker_archive(out, dest, repo_tags=(f"bench/{name}:latest",), compress=gzip)
        elif kind == OCI_ARCHIVE:
            written = imagegen.write_oci_archive(out, dest, ref_name="latest", compress=gzip)
        else:
            raise ValueError(f"unknown tarball kind {kind!r}")
        layer = written.big_layer
        image.uploads[kind] = Upload(kind, dest, written.manifest_digest, layer.digest, layer.size)
    return image


def seed_for(index: int) -> int:
    """Seeds far enough apart that two images' layers (seed, seed+1, …) never coincide."""
    return 1_000_000 * (index + 1)
