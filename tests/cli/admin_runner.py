"""``Admin``: runs the installed ``pulp-admin`` as a subprocess with its own HOME and admin.conf."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PULP_ADMIN = Path(sys.executable).parent / "pulp-admin"


@dataclass
class Admin:
    """Runs pulp-admin with its own HOME and admin.conf."""

    home: Path
    host: str
    port: int
    auth: tuple[str, str] | None
    chunk_size: int = 1048576
    env: dict[str, str] = field(default_factory=dict)
    binary: Path = PULP_ADMIN  # another installation's pulp-admin (the client installed on its own)

    def __post_init__(self) -> None:
        self.env = {**os.environ, "HOME": str(self.home), "COLUMNS": "120"}
        self.env.pop("PULP_CONFIG", None)
        self.configure()

    def configure(self, *, host: str | None = None, port: int | None = None, auth: bool = True,
                  chunk_size: int | None = None) -> None:
        """(Re)write ``~/.pulp/admin.conf``; a host, port or chunk size given is kept for later calls."""
        self.chunk_size = chunk_size or self.chunk_size
        self.host = host or self.host
        self.port = port or self.port
        lines = ["[server]", f"host = {self.host}", f"port = {self.port}", "scheme = http",
                 f"upload_chunk_size = {self.chunk_size}"]
        if auth and self.auth:
            lines += ["[auth]", f"username = {self.auth[0]}", f"password = {self.auth[1]}"]
        (self.home / ".pulp").mkdir(parents=True, exist_ok=True)
        (self.home / ".pulp" / "admin.conf").write_text("\n".join(lines) + "\n")

    @property
    def records(self) -> list[Path]:
        folder = self.home / ".pulp" / "uploads"
        return sorted(folder.glob("*.json")) if folder.is_dir() else []

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.binary), *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def ok(self, *args: str) -> str:
        """Run; assert success and a silent stderr; return stdout."""
        result = self.run(*args)
        assert result.returncode == 0, f"pulp-admin {' '.join(args)} -> {result.returncode}\n{result.stderr}"
        assert result.stderr == "", result.stderr
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def fails(self, *args: str, code: int, says: str) -> str:
        """Run; assert exit ``code`` and exactly one ``error:`` line on stderr containing ``says``."""
        result = self.run(*args)
        lines = result.stderr.splitlines()
        assert result.returncode == code, f"exit {result.returncode}, stderr: {result.stderr}"
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert says in lines[0], lines[0]
        return lines[0]

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([str(self.binary), *args], env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def server_address(pulp_server: Any) -> tuple[str, int]:
    parts = urlsplit(pulp_server.url)
    return parts.hostname or "127.0.0.1", parts.port or 80
