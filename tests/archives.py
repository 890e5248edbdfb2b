"""Hand-made docker-archive and OCI-layout tarballs, for the cases real tools do not make on demand.

Real tools make the tarballs of the end-to-end tests (tests/realtools); these build the variants that
need precise control: several images, shared layers, broken entries. The layout follows what
``docker save`` (20.10) and ``skopeo copy oci-archive:`` write.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field


def sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def layer_tar(files: dict[str, bytes]) -> bytes:
    """An uncompressed layer: a tar of ``files`` (deterministic)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@dataclass
class Image:
    """An image: its layers (uncompressed tars) and the tags an archive gives it."""

    layers: list[bytes]
    tags: list[str] = field(default_factory=list)
    label: str = "x"

    @property
    def config(self) -> bytes:
        doc = {"architecture": "amd64", "os": "linux", "config": {"Labels": {"test": self.label}},
               "rootfs": {"type": "layers", "diff_ids": [sha256(layer) for layer in self.layers]}}
        return json.dumps(doc, sort_keys=True).encode()

    @property
    def image_id(self) -> str:
        return sha256(self.config)


def _tar(members: list[tuple[str, bytes | None, str]]) -> bytes:
    """(name, data, link target) -> tar bytes; data None makes a symlink."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data, target in members:
            info = tarfile.TarInfo(name)
            info.mode = 0o644
            if data is None:
                info.type, info.linkname = tarfile.SYMTYPE, target
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def docker_archive(images: list[Image], *, entries: list[dict] | None = None, skip: set[str] = frozenset(),
                   links: bool = False) -> bytes:
    """A docker-archive as Docker 20.10 writes it (``links``: as skopeo writes it, layer.tar a symlink)."""
    members: dict[str, tuple[bytes | None, str]] = {}
    manifest = []
    for image in images:
        config_name = f"{image.image_id[7:]}.json"
        members[config_name] = (image.config, "")
        layer_names = []
        for layer in image.layers:
            hexdigest = sha256(layer)[7:]
            if links:
                members[f"{hexdigest}.tar"] = (layer, "")
                members[f"{hexdigest[:32]}/layer.tar"] = (None, f"../{hexdigest}.tar")
            else:
                members[f"{hexdigest[:32]}/layer.tar"] = (layer, "")
            members[f"{hexdigest[:32]}/json"] = (b"{}", "")
            members[f"{hexdigest[:32]}/VERSION"] = (b"1.0", "")
            layer_names.append(f"{hexdigest[:32]}/layer.tar")
        manifest.append({"Config": config_name, "RepoTags": image.tags or None, "Layers": layer_names})
    members["manifest.json"] = (json.dumps(entries if entries is not None else manifest).encode(), "")
    members["repositories"] = (b"{}", "")
    return _tar([(name, data, target) for name, (data, target) in members.items() if name not in skip])


def oci_manifest(image: Image, *, compress: bool = True) -> tuple[bytes, dict[str, bytes]]:
    """An OCI image manifest for ``image`` and the blobs it names (layers gzipped unless told not to)."""
    blobs = {sha256(image.config): image.config}
    layers = []
    for layer in image.layers:
        data = gzip.compress(layer, mtime=0) if compress else layer
        blobs[sha256(data)] = data
        media = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if compress else "")
        layers.append({"mediaType": media, "digest": sha256(data), "size": len(data)})
    doc = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(image.config),
                      "size": len(image.config)},
           "layers": layers}
    return json.dumps(doc).encode(), blobs


def descriptor(data: bytes, media_type: str, ref: str | None = None, platform: dict | None = None) -> dict:
    entry = {"mediaType": media_type, "digest": sha256(data), "size": len(data)}
    if ref is not None:
        entry["annotations"] = {"org.opencontainers.image.ref.name": ref}
    if platform is not None:
        entry["platform"] = platform
    return entry


def oci_layout(index_entries: list[dict], blobs: dict[str, bytes], *, skip: set[str] = frozenset()) -> bytes:
    """An OCI layout tarball: ``oci-layout``, ``index.json`` with ``index_entries``, and ``blobs/sha256/*``."""
    members = [("oci-layout", b'{"imageLayoutVersion": "1.0.0"}', ""),
               ("index.json", json.dumps({"schemaVersion": 2, "manifests": index_entries}).encode(), "")]
    members += [(f"blobs/sha256/{digest[7:]}", data, "") for digest, data in blobs.items()]
    return _tar([m for m in members if m[0] not in skip])


def single_oci_layout(image: Image, ref: str | None = "1.0") -> tuple[bytes, str]:
    """A layout holding one image; returns the tarball and the manifest's digest."""
    data, blobs = oci_manifest(image)
    blobs[sha256(data)] = data
    return oci_layout([descriptor(data, "application/vnd.oci.image.manifest.v1+json", ref)], blobs), sha256(data)
