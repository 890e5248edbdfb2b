"""The real tools for end-to-end tests: a private Docker engine, podman, skopeo, and tarball makers.

``Engine`` starts ``dockerd`` as docs/real-clients.md says (own socket, data and exec roots under a
short /tmp dir, no iptables, no bridge) and builds tiny images on a busybox-static base. ``Podman``
keeps its own vfs storage; ``Skopeo`` reads the engine through its socket. The tarball makers write
every kind of archive the importer takes, always with the real tools.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dockerengine import DockerEngine, ToolMissing, run

BUSYBOX = Path("/bin/busybox")
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
REF_NAME = "org.opencontainers.image.ref.name"
MANIFEST_ACCEPT = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    OCI_MANIFEST, OCI_INDEX,
])


def need(tool: str) -> str:
    """The path of ``tool``, or skip the test when it is not installed."""
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed")
    return path


def sha256_bytes(data: bytes) -> str:
    """``sha256:<hex>`` of some bytes."""
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


class Engine(DockerEngine):
    """A private ``dockerd`` (``devel/dockerengine.py``, skipping the test when it is not installed) that
    also builds tiny images on a busybox-static base."""

    def __init__(self) -> None:
        try:
            super().__init__()
        except ToolMissing as exc:
            pytest.skip(str(exc))
        self._builds = 0

    def repo_digests(self, ref: str) -> list[str]:
        return json.loads(self.docker("image", "inspect", "-f", "{{json .RepoDigests}}", ref).stdout)

    def import_base(self, tag: str = "base:1") -> str:
        """A base image with a shell: busybox-static and sh/cat/echo/ls links, ``docker import``-ed."""
        if not BUSYBOX.exists():
            pytest.skip("busybox-static is not installed (/bin/busybox)")
        rootfs = self.dir / "rootfs"
        (rootfs / "bin").mkdir(parents=True, exist_ok=True)
        shutil.copy2(BUSYBOX, rootfs / "bin" / "busybox")
        for tool in ("sh", "cat", "echo", "ls"):
            link = rootfs / "bin" / tool
            if not link.is_symlink():
                link.symlink_to("busybox")
        data = subprocess.run(["tar", "-C", str(rootfs), "-c", "."], capture_output=True, check=True).stdout
        self.docker("import", "-", tag, input=data)
        return self.image_id(tag)

    def build(self, tag: str, dockerfile_text: str) -> str:
        """``DOCKER_BUILDKIT=0 docker build -t tag`` of a context holding only the Dockerfile; the image id."""
        self._builds += 1
        context = self.dir / f"ctx{self._builds}"
        context.mkdir()
        (context / "Dockerfile").write_text(dockerfile_text)
        self.docker("build", "-q", "-t", tag, context)
        return self.image_id(tag)

    def save(self, out: Path, *refs: str) -> Path:
        """``docker save -o out REFS`` (engine 20.10: the classic docker-archive)."""
        self.docker("save", "-o", out, *refs)
        return out

    def run_image(self, ref: str) -> str:
        """``docker run --rm --network none REF``; its stdout."""
        return self.docker("run", "--rm", "--network", "none", ref).stdout


class Skopeo:
    """skopeo, reading ``docker-daemon:`` images from the private engine."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.exe = need("skopeo")
        self.engine = engine

    def copy(self, src: str, dest: str, *options: str) -> subprocess.CompletedProcess:
        extra: list[str] = []
        if src.startswith("docker-daemon:") and self.engine is not None:
            extra += ["--src-daemon-host", self.engine.host]
        if dest.startswith("docker-daemon:") and self.engine is not None:
            extra += ["--dest-daemon-host", self.engine.host]
        if src.startswith("docker://"):
            extra.append("--src-tls-verify=false")
        if dest.startswith("docker://"):
            extra.append("--dest-tls-verify=false")
        return run(self.exe, "copy", "-q", *extra, *options, src, dest)


class Podman:
    """podman with its own vfs storage in a short /tmp dir (its run root is length-limited)."""

    def __init__(self) -> None:
        self.exe = need("podman")
        self.dir = Path(tempfile.mkdtemp(prefix="pm-", dir="/tmp"))
        conf = self.dir / "containers.conf"
        conf.write_text('[containers]\ndefault_ulimits = ["nofile=1024:1024"]\n[engine]\nruntime = "runc"\n')
        self.env = {**os.environ, "CONTAINERS_CONF": str(conf)}
        self.base = [self.exe, "--root", str(self.dir / "root"), "--runroot", str(self.dir / "run"),
                     "--storage-driver", "vfs"]

    def podman(self, *args: str | os.PathLike, check: bool = True) -> subprocess.CompletedProcess:
        return run(*self.base, *args, env=self.env, check=check)

    def load(self, archive: Path) -> None:
        self.podman("load", "-q", "-i", archive)

    def save(self, out: Path, ref: str, fmt: str) -> Path:
        self.podman("save", "-q", "--format", fmt, "-o", out, ref)
        return out

    def pull(self, ref: str) -> None:
        self.podman("pull", "-q", "--tls-verify=false", ref)

    def inspect(self, ref: str) -> dict[str, Any]:
        return json.loads(self.podman("image", "inspect", ref).stdout)[0]

    def rmi(self, image_id: str) -> None:
        """Remove an image (by id) from this podman's storage, if it is there."""
        self.podman("rmi", "-f", "--ignore", image_id.removeprefix("sha256:"))

    def close(self) -> None:
        for mount in _mounts_under(self.dir):
            run("umount", "-l", mount, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def _mounts_under(folder: Path) -> list[str]:
    prefix = str(folder) + "/"
    with open("/proc/self/mounts") as mounts:
        return sorted({line.split()[1] for line in mounts if line.split()[1].startswith(prefix)}, reverse=True)


# -- tarball makers ---------------------------------------------------------------------------------
def tar_dir(folder: Path, out: Path) -> Path:
    """``tar -C folder -cf out .`` (the seed story's way of tarring a skopeo ``dir:`` or ``oci:`` dir)."""
    run("tar", "-C", folder, "-cf", out, ".")
    return out


def compress(src: Path, how: str) -> Path:
    """A compressed copy of ``src`` made by the command line tool: gzip, bzip2, xz or zstd."""
    suffix = {"gzip": ".gz", "bzip2": ".bz2", "xz": ".xz", "zstd": ".zst"}[how]
    out = src.with_name(src.name + suffix)
    if how == "zstd":
        run(need("zstd"), "-q", "-f", src, "-o", out)
    else:
        with open(out, "wb") as handle:
            handle.write(subprocess.run([need(how), "-c", str(src)], capture_output=True, check=True).stdout)
    return out


def members(tarball: Path) -> dict[str, bytes]:
    """Small regular members of a (possibly compressed by tarfile's means) tar, by normalised name."""
    found = {}
    with tarfile.open(tarball) as tar:
        for info in tar:
            if info.isfile() and info.size < 1 << 20:
                found[info.name.removeprefix("./")] = tar.extractfile(info).read()
    return found


def docker_archive_images(tarball: Path) -> list[dict[str, Any]]:
    """Each image of a docker-archive: ``{"id": sha256 of its config, "repo_tags": [...]}``."""
    files = members(tarball)
    images = []
    for entry in json.loads(files["manifest.json"]):
        config = files[entry["Config"].removeprefix("./")]
        images.append({"id": sha256_bytes(config), "repo_tags": list(entry.get("RepoTags") or [])})
    return images


def oci_layout_refs(tarball: Path) -> dict[str, dict[str, Any]]:
    """Each ``index.json`` entry of an OCI layout tar by ref name: its digest, media type and manifest bytes."""
    files = members(tarball)
    refs = {}
    for desc in json.loads(files["index.json"])["manifests"]:
        name = desc.get("annotations", {}).get(REF_NAME, "")
        blob = files["blobs/" + desc["digest"].replace(":", "/")]
        assert sha256_bytes(blob) == desc["digest"]
        refs[name] = {"digest": desc["digest"], "media_type": desc["mediaType"], "bytes": blob,
                      "doc": json.loads(blob), "blobs": files}
    return refs


def write_blob(layout: Path, data: bytes) -> str:
    """Store ``data`` as a blob of an OCI layout; its digest."""
    digest = sha256_bytes(data)
    (layout / "blobs" / "sha256" / digest.split(":", 1)[1]).write_bytes(data)
    return digest


def multi_platform_layout(skopeo: Skopeo, layout: Path, amd64_src: str, arm64_src: str, ref_name: str
                          ) -> dict[str, str]:
    """An OCI layout whose only ``index.json`` entry is a nested index of a linux/amd64 and a linux/arm64 image.

    Both images come from the engine through skopeo (``oci:layout:tag``); umoci rewrites the second's
    config to say arm64; the nested index with ``platform`` fields is written by hand; ``umoci gc``
    drops what nothing refers to. Returns the digests: ``index``, ``amd64``, ``arm64``, and each
    platform's config (``amd64_config``, ``arm64_config``).
    """
    skopeo.copy(amd64_src, f"oci:{layout}:amd64")
    skopeo.copy(arm64_src, f"oci:{layout}:arm64")
    run(need("umoci"), "config", "--image", f"{layout}:arm64", "--architecture", "arm64", "--no-history")
    index = json.loads((layout / "index.json").read_text())
    by_ref = {d["annotations"][REF_NAME]: d for d in index["manifests"]}
    entries, found = [], {}
    for arch in ("amd64", "arm64"):
        desc = by_ref[arch]
        manifest = json.loads((layout / "blobs" / "sha256" / desc["digest"].split(":", 1)[1]).read_bytes())
        found[arch], found[f"{arch}_config"] = desc["digest"], manifest["config"]["digest"]
        entries.append({"mediaType": OCI_MANIFEST, "digest": desc["digest"], "size": desc["size"],
                        "platform": {"architecture": arch, "os": "linux"}})
    nested = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    found["index"] = write_blob(layout, nested)
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": OCI_INDEX, "digest": found["index"], "size": len(nested),
         "annotations": {REF_NAME: ref_name}}]}))
    run(need("umoci"), "gc", "--layout", layout)
    for digest in (found["index"], found["amd64"], found["arm64"], found["amd64_config"], found["arm64_config"]):
        assert (layout / "blobs" / "sha256" / digest.split(":", 1)[1]).exists(), f"umoci gc dropped {digest}"
    return found


# -- images and the server ------------------------------------------------------------------------
@dataclass(frozen=True)
class Built:
    """An image the engine built: its local name, tag, id and what ``docker run`` prints."""

    ref: str
    tag: str
    id: str
    message: str


def build_image(engine: Engine, name: str, tag: str) -> Built:
    """Build ``name:tag`` from ``base:1`` with a RUN step writing a unique message, run by its CMD."""
    message = f"built-{name}-{uuid.uuid4().hex[:12]}"
    dockerfile = f'FROM base:1\nRUN echo {message} > /msg\nCMD ["cat", "/msg"]\n'
    image_id = engine.build(f"{name}:{tag}", dockerfile)
    return Built(f"{name}:{tag}", tag, image_id, message)


def new_repo_id(kind: str) -> str:
    """A fresh repository id (also its registry name): ``rt-<kind>-<hex>``."""
    return f"rt-{kind}-{uuid.uuid4().hex[:8]}"


def import_tarball(server: Any, repo_id: str, tarball: Any, tag: str | None = None) -> dict:
    """Create ``repo_id``, upload ``tarball`` and import it (``unit_metadata`` ``{"tag": tag}`` or ``{}``)."""
    server.create_repo(repo_id)
    upload_id = server.upload_file(tarball)
    try:
        return server.import_upload(repo_id, upload_id, "docker_manifest",
                                    unit_metadata={"tag": tag} if tag else {}, timeout=300)
    finally:
        server.api("DELETE", f"content/uploads/{upload_id}/")


def served_digest(server: Any, repo: str, reference: str) -> str:
    """The ``Docker-Content-Digest`` the registry answers for ``GET /v2/<repo>/manifests/<reference>``."""
    response = server.api("GET", f"/v2/{repo}/manifests/{reference}", auth=None,
                          headers={"Accept": MANIFEST_ACCEPT})
    assert response.status_code == 200, response.text
    return response.headers["Docker-Content-Digest"]


def repo_units(server: Any, repo_id: str) -> list[dict]:
    """Every unit associated with the repository."""
    response = server.api("POST", f"repositories/{repo_id}/search/units/", json={"criteria": {}})
    assert response.status_code == 200, response.text
    return response.json()
