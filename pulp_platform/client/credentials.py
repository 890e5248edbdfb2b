"""The credential ``pulp-admin login`` stores, in ``~/.pulp/credentials`` with mode 0600.

Pulp 2 kept a client certificate there; our server authenticates with HTTP Basic, so the stored
credential is the user name and password the server accepted at login. The file is written under a
temporary name with mode 0600 from the start and renamed into place, so it is never readable by others.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pulp_platform.client.failures import ClientError, ExitCode

FILENAME = "credentials"


def path(id_cert_dir: Path) -> Path:
    return id_cert_dir / FILENAME


def save(id_cert_dir: Path, username: str, password: str) -> Path:
    """Store the credential; returns the file's path."""
    id_cert_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = path(id_cert_dir)
    temp = target.with_name(f".{FILENAME}.{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # O_CREAT's mode is filtered by the umask; make it exact
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"username": username, "password": password}, handle)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return target


def load(id_cert_dir: Path) -> tuple[str, str] | None:
    """The stored (username, password), or None when not logged in."""
    target = path(id_cert_dir)
    try:
        with open(target, encoding="utf-8") as handle:
            data = json.load(handle)
        return str(data["username"]), str(data["password"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ClientError(f"cannot read the stored login {target}: run `pulp-admin logout` and log in again",
                          ExitCode.CONFIG) from exc


def remove(id_cert_dir: Path) -> bool:
    """Forget the stored credential; True if there was one."""
    try:
        path(id_cert_dir).unlink()
        return True
    except FileNotFoundError:
        return False
