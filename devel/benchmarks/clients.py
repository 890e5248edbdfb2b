"""The client side of each measurement: pulp-admin, skopeo, curl, cp and cat, run as users run them."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from benchmarks.servers import NO_PROXY, OurServer, venv_exe

STEP_TIMEOUT = 3600.0


def run(argv: list[str], env: dict | None = None, stdout: int | None = subprocess.PIPE) -> str:
    """Run a command to its end; a failure stops the benchmark with the command's own error."""
    result = subprocess.run(argv, env=env, stdout=stdout, stderr=subprocess.PIPE, timeout=STEP_TIMEOUT)
    if result.returncode != 0:
        tail = result.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise SystemExit(f"{' '.join(argv[:4])} … exited {result.returncode}: {' / '.join(tail)}")
    return result.stdout.decode() if result.stdout is not None else ""


class PulpAdmin:
    """``pulp-admin`` with a HOME of its own: an ``admin.conf`` naming the server, and a stored login."""

    def __init__(self, home: Path, server: OurServer, chunk_size: int | None = None) -> None:
        self.home = home
        conf = home / ".pulp" / "admin.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        text = f"[server]\nhost = 127.0.0.1\nport = {server.port}\nscheme = http\n"
        if chunk_size:
            text += f"upload_chunk_size = {chunk_size}\n"
        conf.write_text(text)
        self.env = {**os.environ, **NO_PROXY, "HOME": str(home)}
        self.exe = venv_exe("pulp-admin")

    def argv(self, *args: str) -> list[str]:
        return [self.exe, *args]

    def __call__(self, *args: str) -> str:
        return run(self.argv(*args), env=self.env)

    def login(self) -> None:
        self("login", "-u", "admin", "-p", "admin")

    def create_repo(self, repo_id: str) -> None:
        self("docker", "repo", "create", "--repo-id", repo_id)

    def upload_argv(self, repo_id: str, tar: Path, tag: str) -> list[str]:
        return self.argv("docker", "repo", "uploads", "upload", "--repo-id", repo_id, "-f", str(tar),
                         "--tag", tag, "--json")

    def upload(self, repo_id: str, tar: Path, tag: str) -> dict:
        """Upload, import and tag one tarball; pulp-admin waits for the task. Returns its JSON result."""
        return parse_upload(self(*self.upload_argv(repo_id, tar, tag)[1:]))


def parse_upload(stdout: str) -> dict:
    result = json.loads(stdout)[0]
    if result.get("state") != "finished":
        raise SystemExit(f"upload ended {result.get('state')}: {result}")
    return result


def skopeo(*args: str) -> str:
    return run(["skopeo", *args], env=skopeo_env())


def skopeo_push_argv(image_dir: Path, host: str, name: str, tag: str, creds: str | None = None) -> list[str]:
    """``skopeo copy dir:DIR docker://HOST/NAME:TAG`` (plain HTTP), with ``--dest-creds`` when given."""
    return ["skopeo", "copy", "-q", "--dest-tls-verify=false", *(["--dest-creds", creds] if creds else []),
            f"dir:{image_dir}", f"docker://{host}/{name}:{tag}"]


def skopeo_push(image_dir: Path, host: str, name: str, tag: str, creds: str | None = None) -> None:
    run(skopeo_push_argv(image_dir, host, name, tag, creds), env=skopeo_env())


def skopeo_env() -> dict:
    return {**os.environ, **NO_PROXY}


def skopeo_pull(host: str, name: str, tag: str, out: Path) -> None:
    skopeo("copy", "-q", "--src-tls-verify=false", f"docker://{host}/{name}:{tag}", f"dir:{out}")


def skopeo_digest(host: str, name: str, tag: str) -> str:
    return json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{host}/{name}:{tag}"))["Digest"]


def curl_get(url: str, size: int) -> None:
    """GET ``url`` with curl, the body to /dev/null (no disk write); the byte count must be ``size``."""
    got = run(["curl", "-sS", "-f", "--noproxy", "*", "-o", "/dev/null", "-w", "%{size_download}", url])
    if int(got) != size:
        raise SystemExit(f"GET {url}: {got} bytes, expected {size}")


def cat_to_null(path: Path) -> None:
    """``cat FILE > /dev/null``."""
    with open(os.devnull, "wb") as null:
        run(["cat", str(path)], stdout=null.fileno())


def copy_file(src: Path, dest: Path) -> None:
    run(["cp", str(src), str(dest)])


def same_image(pulled: Path, image_dir: Path) -> None:
    """A pulled dir holds the image's manifest and every blob byte for byte, or the benchmark stops."""
    if (pulled / "manifest.json").read_bytes() != (image_dir / "manifest.json").read_bytes():
        raise SystemExit(f"{pulled}: the manifest differs from the uploaded one")
    for path in image_dir.iterdir():
        if len(path.name) != 64:
            continue
        sha = hashlib.sha256()
        with open(pulled / path.name, "rb") as f:
            while chunk := f.read(1 << 20):
                sha.update(chunk)
        if sha.hexdigest() != path.name:
            raise SystemExit(f"{pulled / path.name}: the content does not match its digest")
