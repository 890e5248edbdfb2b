"""The rig for the sync tests: Debian's docker-registry over TLS with htpasswd, skopeo, and REST helpers.

``Distribution`` runs ``docker-registry serve`` (distribution 2.8) on 127.0.0.1:<free port> with a
self-signed certificate for IP 127.0.0.1, htpasswd auth and filesystem storage in a temp dir; skopeo
fills it and reads it back (``--cert-dir`` with the certificate as ``ca.crt``, so TLS is verified).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

DATA = Path(__file__).resolve().parent.parent / "data"
WEB = "docker_web_distributor_name_cli"
USER, PASSWORD = "syncer", "s3cret-Pw"
APP_TAGS = ["docker", "latest", "oci", "v2s2"]  # lib/app on the distribution fixture
_seeds = itertools.count(7000)


def need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (devel/test installs it when run as root)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def run(*command: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({result.returncode}):\n"
                             f"{result.stderr.decode(errors='replace')}")
    return result


def make_pem_pair(work: Path) -> tuple[Path, Path]:
    """A self-signed certificate for IP 127.0.0.1 and its key."""
    cert, key = work / "cert.pem", work / "key.pem"
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert))
    return cert, key


class Distribution:
    """``docker-registry serve`` over TLS with htpasswd auth; ``user``/``password`` may push and pull."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.cert, self.key = make_pem_pair(work)
        self.cert_pem = self.cert.read_text()
        self.cert_dir = work / "certs"
        self.cert_dir.mkdir()
        shutil.copy(self.cert, self.cert_dir / "ca.crt")
        self.storage = work / "storage"
        self.user, self.password = USER, PASSWORD
        run("htpasswd", "-Bbc", str(work / "htpasswd"), self.user, self.password)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"https://{self.host}"
        (work / "config.yml").write_text(json.dumps({  # YAML is a superset of JSON
            "version": 0.1, "log": {"level": "info"},
            "storage": {"filesystem": {"rootdirectory": str(self.storage)}, "delete": {"enabled": True}},
            "http": {"addr": self.host, "tls": {"certificate": str(self.cert), "key": str(self.key)}},
            "auth": {"htpasswd": {"realm": "sync-tests", "path": str(work / "htpasswd")}},
        }))
        self.log_path = work / "registry.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(["docker-registry", "serve", str(work / "config.yml")],
                                        stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._wait_up()

    def _wait_up(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {self.log_path.read_text(errors='replace')}")
            try:
                requests.get(f"{self.url}/v2/", verify=str(self.cert), timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"docker-registry did not come up: {self.log_path.read_text(errors='replace')}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    # -- skopeo against it ---------------------------------------------------------------------
    @property
    def creds(self) -> str:
        return f"{self.user}:{self.password}"

    def ref(self, name: str, reference: str) -> str:
        sep = "@" if reference.startswith("sha256:") else ":"
        return f"docker://{self.host}/{name}{sep}{reference}"

    def push(self, source: str, name: str, tag: str, *, all_images: bool = False) -> None:
        """``skopeo copy SOURCE docker://HOST/name:tag`` (``--all`` for a list)."""
        run("skopeo", "copy", "-q", *(["--all"] if all_images else []), "--dest-cert-dir", str(self.cert_dir),
            "--dest-creds", self.creds, source, self.ref(name, tag))

    def raw(self, name: str, reference: str) -> bytes:
        return run("skopeo", "inspect", "--raw", "--cert-dir", str(self.cert_dir), "--creds", self.creds,
                   self.ref(name, reference)).stdout

    def digest(self, name: str, reference: str) -> str:
        return sha256(self.raw(name, reference))

    def copy_to_dir(self, name: str, reference: str, out: Path, *, all_images: bool = False) -> Path:
        run("skopeo", "copy", "-q", *(["--all"] if all_images else []), "--src-cert-dir", str(self.cert_dir),
            "--src-creds", self.creds, self.ref(name, reference), f"dir:{out}")
        return out

    def delete(self, name: str, reference: str) -> None:
        """``skopeo delete``: the manifest goes, and with it every tag naming it."""
        run("skopeo", "delete", "--cert-dir", str(self.cert_dir), "--creds", self.creds, self.ref(name, reference))

    def tags(self, name: str) -> list[str]:
        reply = requests.get(f"{self.url}/v2/{name}/tags/list", auth=(self.user, self.password),
                             verify=str(self.cert), timeout=30)
        reply.raise_for_status()
        return sorted(reply.json()["tags"] or [])

    def blob_data(self, digest: str) -> Path:
        hexdigest = digest.split(":", 1)[1]
        return self.storage / "docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"


def generated_image(out: Path, size: int, *, small_layers: int = 1, platforms: list[str] | None = None,
                    fmt: str = "v2s2") -> tuple[Path, dict]:
    """A fresh image (unique seed, so no blob is shared with another test) as a skopeo dir.

    Returns the dir and its manifest.json parsed.
    """
    from imagegen import make_image

    make_image(out, size, small_layers=small_layers, fmt=fmt, seed=next(_seeds) * 100, platforms=platforms)
    return out, json.loads((out / "manifest.json").read_bytes())


def dir_files(path: Path) -> dict[str, str]:
    """File name -> sha256 of a skopeo dir (manifest, blobs, instances)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.iterdir()) if p.is_file()}


# -- our server ------------------------------------------------------------------------------------
def our_host(server) -> str:
    return server.url.split("://", 1)[1].rstrip("/")


def our_raw(server, name: str, reference: str, creds: str | None = None) -> bytes:
    sep = "@" if reference.startswith("sha256:") else ":"
    auth = ["--creds", creds] if creds else []
    return run("skopeo", "inspect", "--raw", "--tls-verify=false", *auth,
               f"docker://{our_host(server)}/{name}{sep}{reference}").stdout


def our_copy_to_dir(server, name: str, reference: str, out: Path, *, all_images: bool = False,
                    creds: str | None = None) -> Path:
    auth = ["--src-creds", creds] if creds else []
    run("skopeo", "copy", "-q", *(["--all"] if all_images else []), "--src-tls-verify=false", *auth,
        f"docker://{our_host(server)}/{name}:{reference}", f"dir:{out}")
    return out


def mirror(server, feed: str, upstream_name: str, **config) -> tuple[str, str]:
    """A docker repository syncing ``upstream_name`` from ``feed``, auto-published as ``mirror/<id>``.

    Returns (repo id, registry name).
    """
    repo_id = f"sync-{uuid.uuid4().hex[:10]}"
    name = f"mirror/{repo_id}"
    importer = {"feed": feed, "upstream_name": upstream_name, **config}
    server.create_repo(repo_id, registry_id=name, importer_config={k: v for k, v in importer.items() if v is not None})
    return repo_id, name


def sync(server, repo_id: str, override: dict | None = None, timeout: float = 300) -> dict:
    reply = server.api("POST", f"repositories/{repo_id}/actions/sync/", json={"override_config": override or {}})
    assert reply.status_code == 202, reply.text
    assert reply.json()["spawned_tasks"], reply.text
    return server.wait_task(reply.json(), timeout=timeout)


def finished(task: dict) -> dict:
    assert task["state"] == "finished", (task["state"], task.get("error"), task.get("traceback"))
    assert task["result"]["success_flag"] is True, task["result"]
    return task["result"]["summary"]


def units(server, repo_id: str, type_id: str) -> list[dict]:
    reply = server.api("POST", f"repositories/{repo_id}/search/units/", json={"criteria": {"type_ids": [type_id]}})
    assert reply.status_code == 200, reply.text
    return [row["metadata"] for row in reply.json()]


def tags(server, repo_id: str) -> dict[str, str]:
    return {t["name"]: t["manifest_digest"] for t in units(server, repo_id, "docker_tag")}


def counts(server, repo_id: str) -> dict[str, int]:
    reply = server.api("GET", f"repositories/{repo_id}/")
    assert reply.status_code == 200, reply.text
    return reply.json()["content_unit_counts"]


def upload_image(server, repo_id: str, tarball: Path, tag: str, *, registry_id: str, protected: bool,
                 create: bool = True) -> str:
    """As tests/registry/registry_helpers.upload_image: create the repository, upload, import, tag."""
    if create:
        server.create_repo(repo_id, distributors=[{
            "distributor_id": WEB, "distributor_type_id": "docker_distributor_web", "auto_publish": True,
            "distributor_config": {"repo-registry-id": registry_id, "protected": protected}}])
    upload_id = server.upload_file(tarball)
    task = server.import_upload(repo_id, upload_id, "docker_manifest", unit_metadata={"tag": tag})
    assert task["state"] == "finished", task
    server.api("DELETE", f"content/uploads/{upload_id}/")
    return task["result"]["details"]["unit"]["unit_key"]["digest"]
