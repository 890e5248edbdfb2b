"""A private Docker engine, as docs/real-clients.md starts it: shared by the tests and ``devel/bench``.

``DockerEngine`` runs Debian's ``dockerd`` with its own socket, data and exec roots under a short
/tmp dir, no iptables and no bridge, so it never touches the host's engine or network. 127.0.0.0/8 is
an insecure registry to docker, so plain HTTP on loopback works for ``docker login``/``push``/``pull``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


class ToolMissing(RuntimeError):
    """A program the engine needs is not installed."""


def docker_client() -> str:
    """Debian's docker 20.10 client (``/usr/local/bin/docker`` may be a newer one that shadows it)."""
    if Path("/usr/bin/docker").exists():
        return "/usr/bin/docker"
    found = shutil.which("docker")
    if found is None:
        raise ToolMissing("docker is not installed")
    return found


def run(*command: str | os.PathLike, env: dict[str, str] | None = None, input: bytes | None = None,
        check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a command (text output); on failure raise with its stdout and stderr."""
    args = [str(c) for c in command]
    result = subprocess.run(args, env=env, input=input, capture_output=True, timeout=timeout)
    result.stdout = result.stdout.decode(errors="replace")
    result.stderr = result.stderr.decode(errors="replace")
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


class DockerEngine:
    """A private ``dockerd``: ``start()``, ``docker(*args)``, ``stop()``."""

    def __init__(self) -> None:
        found = shutil.which("dockerd")
        if found is None:
            raise ToolMissing("dockerd is not installed (Debian's docker.io)")
        self.dockerd = found
        self.client = docker_client()
        # Unix socket paths are limited to 108 bytes: keep the dir short.
        self.dir = Path(tempfile.mkdtemp(prefix="dk-", dir="/tmp"))
        self.sock = self.dir / "docker.sock"
        self.host = f"unix://{self.sock}"
        (self.dir / "cfg").mkdir()
        self.env = {**os.environ, "DOCKER_HOST": self.host, "DOCKER_BUILDKIT": "0",
                    "DOCKER_CONFIG": str(self.dir / "cfg")}
        self.process: subprocess.Popen | None = None

    def start(self) -> DockerEngine:
        """Start dockerd and wait until ``docker info`` answers."""
        d = self.dir
        with open(d / "log", "wb") as log:
            self.process = subprocess.Popen(
                [self.dockerd, "--iptables=false", "--bridge=none", "--data-root", str(d / "data"),
                 "--exec-root", str(d / "exec"), "-H", self.host, "--pidfile", str(d / "pid")],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"dockerd exited with {self.process.returncode}:\n{self.log_tail()}")
            if run(self.client, "info", env=self.env, check=False, timeout=30).returncode == 0:
                return self
            if time.monotonic() > deadline:
                raise RuntimeError(f"dockerd did not answer within {START_TIMEOUT}s:\n{self.log_tail()}")
            time.sleep(0.3)

    def stop(self) -> None:
        """SIGTERM dockerd, wait, unmount what it left under the dir, remove the dir."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for mount in reversed(self._mounts()):
            run("umount", "-R", mount, check=False)
        for mount in reversed(self._mounts()):
            run("umount", "-l", mount, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def _mounts(self) -> list[str]:
        prefix = str(self.dir) + "/"
        with open("/proc/self/mounts") as mounts:
            points = [line.split()[1] for line in mounts]
        return sorted({p for p in points if p.startswith(prefix)})

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join((self.dir / "log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def docker(self, *args: str | os.PathLike, check: bool = True, input: bytes | None = None,
               timeout: float = 300) -> subprocess.CompletedProcess:
        """``docker ARGS`` against this engine (DOCKER_HOST set, classic builder)."""
        return run(self.client, *args, env=self.env, check=check, input=input, timeout=timeout)

    def image_id(self, ref: str) -> str:
        return self.docker("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip()

    def has_image(self, ref: str) -> bool:
        return self.docker("image", "inspect", ref, check=False).returncode == 0

    def rmi(self, *refs: str) -> None:
        """``docker rmi -f`` of each image that is there."""
        for ref in refs:
            if self.has_image(ref):
                self.docker("rmi", "-f", ref)

    def pull(self, ref: str, *extra: str) -> None:
        self.docker("pull", "-q", *extra, ref)

    def login(self, host: str, user: str, password: str) -> None:
        """``docker login HOST`` with the password on stdin."""
        self.docker("login", "-u", user, "--password-stdin", host, input=password.encode())
