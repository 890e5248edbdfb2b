"""Test images as skopeo ``dir:`` directories and tarballs of them, built with ``devel/imagegen.py``.

Every image gets its own seed, so no two images share a blob: each upload brings content that is new
to the server it goes to.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import imagegen


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

    @property
    def tar_size(self) -> int:
        return self.tar.stat().st_size

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        self.tar.unlink(missing_ok=True)


def build(where: Path, name: str, size: int, seed: int, layers: int = 0, gzip: bool = False) -> Image:
    """Build ``where/name/`` (a skopeo dir) and ``where/name.tar`` (``.tar.gz`` with ``gzip``).

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
    tar = imagegen.tar_dir(out, where / f"{name}.tar{'.gz' if gzip else ''}", compress=gzip)
    manifest = json.loads((out / "manifest.json").read_bytes())
    big = max(manifest["layers"], key=lambda layer: layer["size"])
    blob_bytes = manifest["config"]["size"] + sum(layer["size"] for layer in manifest["layers"])
    return Image(out, tar, digest, big["digest"], big["size"], blob_bytes, len(manifest["layers"]))


def seed_for(index: int) -> int:
    """Seeds far enough apart that two images' layers (seed, seed+1, …) never coincide."""
    return 1_000_000 * (index + 1)
