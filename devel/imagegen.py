#!/usr/bin/env python3
"""Build container images as skopeo ``dir:`` directories (or tarballs of them), of any size, streaming.

Layers are real gzipped tars (so podman can unpack them) holding pseudo-random, incompressible files
from a seeded generator: the same arguments give the same digests. Nothing is held in memory whole;
each layer is hashed (compressed and uncompressed) while it is written.

    devel/imagegen.py OUT_DIR [--size 1GiB] [--small-layers 3] [--format v2s2|oci]
                              [--platforms linux/amd64,linux/arm64] [--tar OUT.tar] [--gzip]
                              [--docker-archive OUT.tar] [--oci-archive OUT.tar] [--repo-tag NAME:TAG]

With ``--platforms`` it writes what ``skopeo copy --all`` writes: a manifest list (OCI index for
``--format oci``) as ``manifest.json`` and each instance as ``<hex>.manifest.json``.

The same image (same config bytes, same layer contents) can also be written from the dir as the other
tarballs the server takes, streaming from the dir's blobs (a single image, not a manifest list):

- ``--docker-archive``: the layout of ``docker save`` of Docker 20.10: ``manifest.json`` (a list),
  ``<config hex>.json``, ``<v1 id>/{VERSION,json,layer.tar}`` with each layer UNCOMPRESSED (its sha256
  is its diff id), ``repositories``;
- ``--oci-archive``: an OCI layout (``oci-layout``, ``index.json`` naming the image with
  ``org.opencontainers.image.ref.name``, ``blobs/sha256/<hex>``) with the layers as the image has them
  (gzipped) and an OCI manifest (the dir's own for ``--format oci``, else the v2s2 one's OCI twin).
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
from datetime import datetime
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
    diff_size: int | None = None  # bytes of the uncompressed layer tar


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
    return Blob(compressed.digest, compressed.size, media_type, plain.digest, plain.size)


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
    return manifest_bytes(config, layers, fmt)


def manifest_bytes(config: Blob, layers: list[Blob], fmt: str) -> tuple[Blob, bytes]:
    """An image manifest (compact JSON, as skopeo writes it) and its descriptor."""
    media = MEDIA[fmt]
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


# --- the same image as the other tarball kinds ---------------------------------------------------------

KINDS = ("skopeo-dir", "docker-archive", "oci-archive")
DEFAULT_REPO_TAG = "imagegen/image:latest"
REF_NAME = "org.opencontainers.image.ref.name"
DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"
# The OCI media type of a layer the dir holds under either family's name.
OCI_LAYER = {MEDIA["v2s2"]["layer"]: MEDIA["oci"]["layer"], DOCKER_LAYER_TAR: "application/vnd.oci.image.layer.v1.tar",
             MEDIA["oci"]["layer"]: MEDIA["oci"]["layer"],
             "application/vnd.oci.image.layer.v1.tar": "application/vnd.oci.image.layer.v1.tar"}
_GZIP_MAGIC = b"\x1f\x8b"
_V1_CREATED = "1970-01-01T00:00:00Z"  # what docker save gives every layer but the top one


@dataclass
class DirImage:
    """One image of a skopeo dir, read back: its manifest, its config's bytes and its layers."""

    dir: Path
    manifest: dict
    manifest_data: bytes
    config: Blob
    config_data: bytes
    layers: list[Blob]  # digest, size and media type from the manifest; diff_id from the config

    def path(self, digest: str) -> Path:
        return self.dir / digest.split(":", 1)[1]


@dataclass
class ArchiveImage:
    """A tarball written from a dir: which kind, where, and what a server must make of it."""

    kind: str
    path: Path
    manifest_digest: str  # of the manifest the archive holds, or (docker-archive) the one it stands for
    config_digest: str
    layers: list[Blob]  # the layer blobs as the archive stores them (digest, size, media type)

    @property
    def big_layer(self) -> Blob:
        return max(self.layers, key=lambda layer: layer.size)


def read_dir(src: Path) -> DirImage:
    """Read a skopeo dir holding one image (not a manifest list)."""
    data = (src / "manifest.json").read_bytes()
    doc = json.loads(data)
    if "layers" not in doc or "config" not in doc:
        raise ValueError(f"{src}: manifest.json is no single image manifest (a manifest list?)")
    config = Blob(doc["config"]["digest"], doc["config"]["size"], doc["config"]["mediaType"])
    config_data = (src / config.digest.split(":", 1)[1]).read_bytes()
    if f"sha256:{hashlib.sha256(config_data).hexdigest()}" != config.digest:
        raise ValueError(f"{src}: the config blob does not match its digest")
    diff_ids = json.loads(config_data)["rootfs"]["diff_ids"]
    if len(diff_ids) != len(doc["layers"]):
        raise ValueError(f"{src}: {len(doc['layers'])} layers but {len(diff_ids)} diff_ids")
    layers = [Blob(layer["digest"], layer["size"], layer["mediaType"], diff_id)
              for layer, diff_id in zip(doc["layers"], diff_ids, strict=True)]
    return DirImage(src, doc, data, config, config_data, layers)


def open_layer(path: Path) -> io.BufferedIOBase:
    """A layer blob as its uncompressed tar stream (a gzipped blob is inflated while read)."""
    with open(path, "rb") as f:
        gzipped = f.read(2) == _GZIP_MAGIC
    return gzip.open(path, "rb") if gzipped else open(path, "rb")  # type: ignore[return-value]


def measure_layer(path: Path, diff_id: str | None) -> int:
    """Bytes of a layer's uncompressed tar, in one streaming pass that also checks its sha256 against
    the config's diff id."""
    sha, size = hashlib.sha256(), 0
    with open_layer(path) as f:
        while chunk := f.read(CHUNK):
            sha.update(chunk)
            size += len(chunk)
    if diff_id is not None and f"sha256:{sha.hexdigest()}" != diff_id:
        raise ValueError(f"{path}: uncompressed sha256:{sha.hexdigest()}, but the config's diff id is {diff_id}")
    return size


def _created(config: dict) -> int:
    """The config's ``created`` as a Unix time (docker save stamps the image's files with it)."""
    try:
        return int(datetime.fromisoformat(config["created"].replace("Z", "+00:00")).timestamp())
    except (KeyError, TypeError, ValueError):
        return 0


class _TarWriter:
    """An uncompressed (or gzip level 1, ``mtime`` 0) tar written member by member, in order, streaming."""

    def __init__(self, dest: Path, compress: bool) -> None:
        self.raw = open(dest, "wb")
        self.gz = gzip.GzipFile(filename="", fileobj=self.raw, mode="wb", compresslevel=1, mtime=0) \
            if compress else None
        self.tar = tarfile.open(fileobj=self.gz or self.raw, mode="w", format=tarfile.PAX_FORMAT,
                                copybufsize=CHUNK)

    def _info(self, name: str, size: int, mtime: int, directory: bool = False) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, mtime, 0o755 if directory else 0o644
        info.uname = info.gname = "root"  # uid and gid 0, as docker save writes them
        if directory:
            info.type = tarfile.DIRTYPE
        return info

    def directory(self, name: str, mtime: int) -> None:
        self.tar.addfile(self._info(name.rstrip("/") + "/", 0, mtime, directory=True))

    def data(self, name: str, data: bytes, mtime: int) -> None:
        self.tar.addfile(self._info(name, len(data), mtime), io.BytesIO(data))

    def stream(self, name: str, size: int, source: io.BufferedIOBase, mtime: int) -> None:
        """A member of ``size`` bytes copied from ``source`` (closed afterwards), CHUNK at a time."""
        with source:
            self.tar.addfile(self._info(name, size, mtime), source)

    def __enter__(self) -> _TarWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.tar.close()
        if self.gz is not None:
            self.gz.close()
        self.raw.close()


def _split_tag(repo_tag: str) -> tuple[str, str]:
    name, sep, tag = repo_tag.rpartition(":")
    if not sep or "/" in tag:
        return repo_tag, "latest"
    return name, tag


def docker_manifest_for(config: Blob, layers: list[Blob]) -> bytes:
    """The schema 2 manifest docker's registry client builds for an image whose layers are pushed as
    they are (uncompressed): ``MarshalIndent`` with three spaces, descriptor keys mediaType, size, digest."""
    doc = {"schemaVersion": 2, "mediaType": MEDIA["v2s2"]["manifest"],
           "config": {"mediaType": MEDIA["v2s2"]["config"], "size": config.size, "digest": config.digest},
           "layers": [{"mediaType": layer.media_type, "size": layer.size, "digest": layer.digest} for layer in layers]}
    return json.dumps(doc, indent=3).encode()


def write_docker_archive(src: Path, dest: Path, *, repo_tags: tuple[str, ...] = (DEFAULT_REPO_TAG,),
                         compress: bool = False) -> ArchiveImage:
    """Write the image of the skopeo dir ``src`` as ``docker save`` of Docker 20.10 writes it.

    Members, in docker's (lexical) order: ``<v1 id>/`` with ``VERSION`` (``1.0``), ``json`` (the legacy
    v1 image JSON) and ``layer.tar`` (the layer uncompressed: its sha256 is its diff id) per layer;
    ``<config hex>.json`` (the config, byte for byte); ``manifest.json``; ``repositories``. The v1 ids
    are derived as docker's ``v1.CreateID`` does, from each layer's chain id and its parent's id. Layers
    are inflated from the dir's blobs twice, streaming: once to learn their size (and check the diff
    id), once into the archive. Returns the archive with the digest of the manifest docker would push.
    """
    image = read_dir(src)
    config = json.loads(image.config_data)
    created = _created(config)
    sizes = [measure_layer(image.path(layer.digest), layer.diff_id) for layer in image.layers]
    stored = [Blob(layer.diff_id or "", size, DOCKER_LAYER_TAR, layer.diff_id, size)
              for layer, size in zip(image.layers, sizes, strict=True)]
    members: dict[str, tuple[bytes, Path, int]] = {}  # v1 id -> its json, the layer's blob, its tar size
    ids: list[str] = []
    chain = parent = None
    for index, layer in enumerate(stored):
        chain = layer.digest if chain is None else \
            f"sha256:{hashlib.sha256(f'{chain} {layer.digest}'.encode()).hexdigest()}"
        top = index == len(stored) - 1
        v1: dict = ({key: config[key] for key in ("architecture", "config", "created", "os", "variant")
                     if key in config} if top else {"created": _V1_CREATED, "os": config.get("os", "linux")})
        identity = {**v1, "layer_id": chain, **({"parent": f"sha256:{parent}"} if parent else {})}
        v1_id = hashlib.sha256(json.dumps(identity, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        v1_json = json.dumps({"id": v1_id, **({"parent": parent} if parent else {}), **v1}, sort_keys=True,
                             separators=(",", ":")).encode()
        members[v1_id] = (v1_json, image.path(image.layers[index].digest), layer.size)
        ids.append(v1_id)
        parent = v1_id
    config_name = f"{image.config.digest.split(':', 1)[1]}.json"
    manifest = [{"Config": config_name, "RepoTags": list(repo_tags) or None,
                 "Layers": [f"{v1_id}/layer.tar" for v1_id in ids]}]
    repositories: dict[str, dict[str, str]] = {}
    for repo_tag in repo_tags:
        name, tag = _split_tag(repo_tag)
        repositories.setdefault(name, {})[tag] = ids[-1]
    files = {config_name: (image.config_data, created),
             "manifest.json": (json.dumps(manifest, separators=(",", ":")).encode() + b"\n", 0)}
    if repositories:  # both end in a newline, as Go's json.Encoder writes them; dated 1970 as docker's are
        files["repositories"] = (json.dumps(repositories, separators=(",", ":")).encode() + b"\n", 0)
    with _TarWriter(dest, compress) as out:
        for name in sorted([*members, *files]):
            if name in files:
                out.data(name, *files[name])
                continue
            v1_json, blob, size = members[name]
            out.directory(name, created)
            out.data(f"{name}/VERSION", b"1.0", created)
            out.data(f"{name}/json", v1_json, created)
            out.stream(f"{name}/layer.tar", size, open_layer(blob), created)
    config_blob = Blob(image.config.digest, image.config.size, MEDIA["v2s2"]["config"])
    manifest_data = docker_manifest_for(config_blob, stored)
    return ArchiveImage("docker-archive", dest, f"sha256:{hashlib.sha256(manifest_data).hexdigest()}",
                        image.config.digest, stored)


def write_oci_archive(src: Path, dest: Path, *, ref_name: str = "latest", compress: bool = False) -> ArchiveImage:
    """Write the image of the skopeo dir ``src`` as an OCI layout tarball (what ``skopeo copy
    oci-archive:`` writes): ``blobs/sha256/<hex>`` for the config, the layers as the dir holds them
    (gzipped) and the manifest, then ``index.json`` naming it ``ref_name``, then ``oci-layout``.

    The manifest is the dir's own when it is OCI already, else the OCI twin of the v2s2 one (same
    config and layer blobs, OCI media types, written as :func:`manifest_bytes` writes OCI manifests).
    """
    image = read_dir(src)
    oci = MEDIA["oci"]
    if image.manifest.get("mediaType", oci["manifest"]) == oci["manifest"] and image.config.media_type == oci["config"]:
        layers, manifest_data = image.layers, image.manifest_data
    else:
        try:
            layers = [Blob(layer.digest, layer.size, OCI_LAYER[layer.media_type], layer.diff_id)
                      for layer in image.layers]
        except KeyError as e:
            raise ValueError(f"{src}: no OCI media type for layers of type {e}") from None
        config = Blob(image.config.digest, image.config.size, oci["config"])
        _, manifest_data = manifest_bytes(config, layers, "oci")
    manifest_digest = f"sha256:{hashlib.sha256(manifest_data).hexdigest()}"
    index = {"schemaVersion": 2, "manifests": [{"mediaType": oci["manifest"], "digest": manifest_digest,
                                                "size": len(manifest_data), "annotations": {REF_NAME: ref_name}}]}
    blobs: dict[str, bytes | Blob] = {manifest_digest: manifest_data, image.config.digest: image.config_data}
    for layer in layers:
        blobs[layer.digest] = layer
    created = _created(json.loads(image.config_data))
    with _TarWriter(dest, compress) as out:
        out.directory("blobs", created)
        out.directory("blobs/sha256", created)
        for digest in sorted(blobs):
            name = f"blobs/sha256/{digest.split(':', 1)[1]}"
            blob = blobs[digest]
            if isinstance(blob, bytes):
                out.data(name, blob, created)
            else:
                out.stream(name, blob.size, open(image.path(digest), "rb"), created)  # type: ignore[arg-type]
        out.data("index.json", json.dumps(index, separators=(",", ":")).encode(), created)
        out.data("oci-layout", b'{"imageLayoutVersion": "1.0.0"}', created)
    return ArchiveImage("oci-archive", dest, manifest_digest, image.config.digest, layers)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the skopeo dir to create")
    parser.add_argument("--size", default="64MiB", help="total size of the image's layers (default 64MiB)")
    parser.add_argument("--small-layers", type=int, default=3, help="small layers beside the big one")
    parser.add_argument("--format", choices=sorted(MEDIA), default="v2s2")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--platforms", help="comma-separated os/arch list: write a manifest list")
    parser.add_argument("--tar", type=Path, help="also tar the dir to this file")
    parser.add_argument("--docker-archive", type=Path, metavar="TAR",
                        help="also write the image as docker save (Docker 20.10) writes it, layers uncompressed")
    parser.add_argument("--oci-archive", type=Path, metavar="TAR", help="also write the image as an OCI layout tarball")
    parser.add_argument("--repo-tag", default=DEFAULT_REPO_TAG,
                        help=f"name:tag in the docker-archive (its tag names the OCI one; default {DEFAULT_REPO_TAG})")
    parser.add_argument("--gzip", action="store_true", help="gzip the tarballs (level 1)")
    args = parser.parse_args(argv)
    platforms = args.platforms.split(",") if args.platforms else None
    if platforms and (args.docker_archive or args.oci_archive):
        parser.error("--docker-archive and --oci-archive write a single image, not --platforms")
    digest = make_image(args.out, parse_size(args.size), small_layers=args.small_layers, fmt=args.format,
                        seed=args.seed, platforms=platforms)
    if args.tar:
        tar_dir(args.out, args.tar, compress=args.gzip)
    report: dict = {"dir": str(args.out), "manifest_digest": digest, "tar": str(args.tar) if args.tar else None}
    if args.docker_archive:
        written = write_docker_archive(args.out, args.docker_archive, repo_tags=(args.repo_tag,), compress=args.gzip)
        report["docker_archive"] = {"tar": str(written.path), "manifest_digest": written.manifest_digest}
    if args.oci_archive:
        written = write_oci_archive(args.out, args.oci_archive, ref_name=_split_tag(args.repo_tag)[1],
                                    compress=args.gzip)
        report["oci_archive"] = {"tar": str(written.path), "manifest_digest": written.manifest_digest}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
