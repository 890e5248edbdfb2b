"""Helpers for the registry tests: uploading images, comparing them, and driving skopeo and podman."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

DATA = Path(__file__).resolve().parent.parent / "data"


@dataclass
class Image:
    """An uploaded tarball: where it is served and what it must serve back byte for byte."""

    repo_id: str
    name: str
    tag: str
    digest: str
    tarball: Path
    protected: bool = False
    # Member name (basename) -> sha256 hex of the member's bytes, manifest.json included.
    members: dict[str, str] = field(default_factory=dict)

    @property
    def manifest_bytes(self) -> bytes:
        return member_bytes(self.tarball, "manifest.json")

    @property
    def blob_hexes(self) -> set[str]:
        return {name for name in self.members if len(name) == 64}


def member_bytes(tarball: Path, name: str) -> bytes:
    with tarfile.open(tarball) as tar:
        for info in tar:
            if info.isfile() and Path(info.name).name == name:
                return tar.extractfile(info).read()
    raise KeyError(name)


def member_hashes(tarball: Path) -> dict[str, str]:
    found = {}
    with tarfile.open(tarball) as tar:
        for info in tar:
            if info.isfile():
                sha = hashlib.sha256()
                with tar.extractfile(info) as handle:
                    while chunk := handle.read(1 << 20):
                        sha.update(chunk)
                found[Path(info.name).name] = sha.hexdigest()
    return found


def file_sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            sha.update(chunk)
    return sha.hexdigest()


def registry_host(server) -> str:
    return server.url.split("://", 1)[1].rstrip("/")


def upload_image(server, repo_id: str, tarball: Path, tag: str, *, registry_id: str | None = None,
                 protected: bool = False, create: bool = True) -> Image:
    """Create ``repo_id`` (auto-publishing web distributor), upload and import ``tarball`` tagged ``tag``."""
    if create:
        config = {"repo-registry-id": registry_id or repo_id, "protected": protected}
        server.create_repo(repo_id, distributors=[{
            "distributor_id": "docker_web_distributor_name_cli", "distributor_type_id": "docker_distributor_web",
            "distributor_config": config, "auto_publish": True}])
    upload_id = server.upload_file(tarball)
    task = server.import_upload(repo_id, upload_id, "docker_manifest", unit_metadata={"tag": tag})
    assert task["state"] == "finished", task
    server.api("DELETE", f"content/uploads/{upload_id}/")
    digest = task["result"]["details"]["unit"]["unit_key"]["digest"]
    return Image(repo_id, registry_id or repo_id, tag, digest, tarball, protected, member_hashes(tarball))


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (apt-get install {tool})")
    return path


def run(*command: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
    return result


class Skopeo:
    def __init__(self, host: str) -> None:
        self.exe = _need("skopeo")
        self.host = host

    def ref(self, name: str, reference: str) -> str:
        sep = "@" if reference.startswith("sha256:") else ":"
        return f"docker://{self.host}/{name}{sep}{reference}"

    def copy(self, name: str, reference: str, out: Path, *options: str, creds: str | None = None,
             global_options: tuple[str, ...] = (), check: bool = True) -> subprocess.CompletedProcess:
        """``skopeo [global_options] copy [options] docker://… dir:out``."""
        auth = ["--src-creds", creds] if creds else []
        return run(self.exe, *global_options, "copy", "--src-tls-verify=false", *auth, *options,
                   self.ref(name, reference), f"dir:{out}", check=check)

    def inspect(self, name: str, reference: str, *extra: str, creds: str | None = None,
                check: bool = True) -> subprocess.CompletedProcess:
        auth = ["--creds", creds] if creds else []
        return run(self.exe, "inspect", "--tls-verify=false", *auth, *extra, self.ref(name, reference),
                   check=check)

    def inspect_json(self, name: str, reference: str, *extra: str, creds: str | None = None) -> dict:
        return json.loads(self.inspect(name, reference, *extra, creds=creds).stdout)


class Podman:
    """podman with its own storage under a temp dir, so tests never touch the machine's images."""

    def __init__(self, host: str, root: Path) -> None:
        self.exe = _need("podman")
        self.host = host
        self.base = [self.exe, "--root", str(root / "root"), "--runroot", str(root / "run"),
                     "--storage-driver", "vfs"]

    def pull(self, name: str, reference: str, *extra: str, creds: str | None = None,
             check: bool = True) -> subprocess.CompletedProcess:
        auth = ["--creds", creds] if creds else []
        sep = "@" if reference.startswith("sha256:") else ":"
        return run(*self.base, "pull", "--tls-verify=false", *auth, *extra, f"{self.host}/{name}{sep}{reference}",
                   check=check)

    def inspect(self, ref: str) -> dict:
        return json.loads(run(*self.base, "image", "inspect", ref).stdout)[0]


def get(server, path: str, **kwargs) -> requests.Response:
    """``GET`` a path of the server (``/v2/...``), no credentials unless given."""
    kwargs.setdefault("timeout", 60)
    return requests.get(server.url + path, **kwargs)


def error_code(response: requests.Response) -> str:
    """The code of a registry error body, checking the body has the registry's shape."""
    body = response.json()
    assert set(body["errors"][0]) == {"code", "message", "detail"}
    return body["errors"][0]["code"]
