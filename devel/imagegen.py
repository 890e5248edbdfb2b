#!/usr/bin/env python3
"""Build container images as skopeo ``dir:`` directories (or tarballs of them), of any size, streaming.

Layers are real gzipped tars (so podman can unpack them) holding pseudo-random, incompressible files
from a seeded generator: the same arguments give the same digests. Nothing is held in memory whole;
each layer is hashed (compressed and uncompressed) while it is written.

    devel/imagegen.py OUT_DIR [--size 1GiB] [--small-layers 3] [--format v2s2|oci]
                              [--platforms linux/amd64,linux/arm64] [--tar OUT.tar [--gzip]]

With ``--platforms`` it writes what ``skopeo copy --all`` writes: a manifest list (OCI index for
``--format oci``) as ``manifest.json`` and each instance as ``<hex>.manifest.json``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import random
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1024 * 1024
MEDIA = {
    "v2s2": {
        "manifest": "application/vnd.docker.distribution.manifest.v2+json",
        "config": "application/vnd.docker.container.image.v1+json",
        "layer": "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "list": "application/vnd.docker.distribution.manifest.list.v2+json",
    },
    "oci": {
        "manifest": "application/vnd.oci.image.manifest.v1+json",
        "config": "application/vnd.oci.image.config.v1+json",
        "layer": "application/vnd.oci.image.layer.v1.tar+gzip",
        "list": "application/vnd.oci.image.index.v1+json",
    },
}


def parse_size(text: str) -> int:
    """'1GiB', '256MiB', '100M', '4096' -> bytes."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B?)", text.strip(), re.IGNORECASE)
    if not match:
        raise ValueError(f"not a size: {text}")
    power = " KMGT".index(match.group(2).upper() or " ")
    base = 1024 if match.group(3).lower().startswith("i") or match.group(2) else 1000
    return int(float(match.group(1)) * base**power)


class _RandomReader:
    """``size`` seeded pseudo-random bytes, read in chunks (random.randbytes is fast and repeatable)."""

    def __init__(self, size: int, seed: int) -> None:
        self.left = size
        self.rng = random.Random(seed)

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return self.rng.randbytes(n)


class _HashingWriter(io.RawIOBase):
    def __init__(self, raw: io.RawIOBase | None) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.sha.update(data)
        self.size += len(data)
        if self.raw is not None:
            self.raw.write(data)
        return len(data)

    @property
    def digest(self) -> str:
        return f"sha256:{self.sha.hexdigest()}"


@dataclass
class Blob:
    digest: str
    size: int
    media_type: str
    diff_id: str | None = None


def _commit(out: Path, tmp: Path, digest: str) -> None:
    tmp.rename(out / digest.split(":", 1)[1])


def write_layer(out: Path, size: int, seed: int, media_type: str) -> Blob:
    """One gzipped tar layer holding one random file of ``size`` bytes.

    Level 0 (stored blocks): random data does not shrink, and deflating it would only cost time.
    """
    tmp = out / f".layer-{seed}.tmp"
    with open(tmp, "wb") as raw:
        compressed = _HashingWriter(raw)
        with gzip.GzipFile(fileobj=compressed, mode="wb", compresslevel=0, mtime=0) as gz:
            plain = _HashingWriter(gz)
            with tarfile.open(fileobj=plain, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                info = tarfile.TarInfo(f"data/blob-{seed}.bin")
                info.size, info.mode, info.mtime = size, 0o644, 0
                tar.addfile(info, _RandomReader(size, seed))
    _commit(out, tmp, compressed.digest)
    return Blob(compressed.digest, compressed.size, media_type, plain.digest)


def write_json_blob(out: Path, doc: object, media_type: str, name_suffix: str = "") -> Blob:
    data = json.dumps(doc, separators=(",", ":")).encode()
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    (out / (digest.split(":", 1)[1] + name_suffix)).write_bytes(data)
    return Blob(digest, len(data), media_type)


def build_manifest(out: Path, layers: list[Blob], fmt: str, arch: str = "amd64",
                   os_name: str = "linux") -> tuple[Blob, bytes]:
    """Write the config blob; return the manifest's descriptor and exact bytes (written by the caller)."""
    media = MEDIA[fmt]
    config = write_json_blob(out, {
        "architecture": arch, "os": os_name, "created": "2026-01-01T00:00:00Z",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "imagegen"} for _ in layers],
    }, media["config"])
    doc: dict = {"schemaVersion": 2}
    if fmt == "v2s2":
        doc["mediaType"] = media["manifest"]  # skopeo omits it for OCI; we do the same
    doc["config"] = {"mediaType": config.media_type, "digest": config.digest, "size": config.size}
    doc["layers"] = [{"mediaType": b.media_type, "digest": b.digest, "size": b.size} for b in layers]
    data = json.dumps(doc, separators=(",", ":")).encode()
    return Blob(f"sha256:{hashlib.sha256(data).hexdigest()}", len(data), media["manifest"]), data


def make_image(out: Path, size: int, *, small_layers: int = 3, fmt: str = "v2s2", seed: int = 1,
               platforms: list[str] | None = None) -> str:
    """Build a skopeo dir at ``out``; returns the digest of its manifest.json."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "version").write_text("Directory Transport Version: 1.1\n")
    media = MEDIA[fmt]
    small = 4096

    def image_layers(offset: int) -> list[Blob]:
        big = max(size - small * small_layers, 0)
        sizes = [big] + [small] * small_layers if big else [small] * max(small_layers, 1)
        return [write_layer(out, n, seed + offset + i, media["layer"]) for i, n in enumerate(sizes)]

    if not platforms:
        manifest, data = build_manifest(out, image_layers(0), fmt)
        (out / "manifest.json").write_bytes(data)
        return manifest.digest
    entries = []
    for i, platform in enumerate(platforms):
        os_name, arch = platform.split("/", 1)
        instance, data = build_manifest(out, image_layers(1000 * (i + 1)), fmt, arch=arch, os_name=os_name)
        (out / f"{instance.digest.split(':', 1)[1]}.manifest.json").write_bytes(data)
        entries.append({"mediaType": instance.media_type, "digest": instance.digest, "size": instance.size,
                        "platform": {"architecture": arch, "os": os_name}})
    doc: dict = {"schemaVersion": 2}
    if fmt == "v2s2":
        doc["mediaType"] = media["list"]
    doc["manifests"] = entries
    data = json.dumps(doc, separators=(",", ":")).encode()
    (out / "manifest.json").write_bytes(data)
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def tar_dir(src: Path, dest: Path, *, compress: bool = False) -> Path:
    """Tar a skopeo dir with members at the root, as ``cd dir && tar -cf ../x.tar *`` does."""
    options = {"mode": "w:gz", "compresslevel": 1} if compress else {"mode": "w"}
    with tarfile.open(dest, **options) as tar:
        for path in sorted(src.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                tar.add(path, arcname=path.name)
    return dest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the skopeo dir to create")
    parser.add_argument("--size", default="64MiB", help="total size of the image's layers (default 64MiB)")
    parser.add_argument("--small-layers", type=int, default=3, help="small layers beside the big one")
    parser.add_argument("--format", choices=sorted(MEDIA), default="v2s2")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--platforms", help="comma-separated os/arch list: write a manifest list")
    parser.add_argument("--tar", type=Path, help="also tar the dir to this file")
    parser.add_argument("--gzip", action="store_true", help="gzip the tar")
    args = parser.parse_args(argv)
    platforms = args.platforms.split(",") if args.platforms else None
    digest = make_image(args.out, parse_size(args.size), small_layers=args.small_layers, fmt=args.format,
                        seed=args.seed, platforms=platforms)
    if args.tar:
        tar_dir(args.out, args.tar, compress=args.gzip)
    print(json.dumps({"dir": str(args.out), "manifest_digest": digest, "tar": str(args.tar) if args.tar else None}))


if __name__ == "__main__":
    main()
