"""The credential ``pulp-admin login`` stores, in ``~/.pulp/credentials`` with mode 0600.

Pulp 2 kept a client certificate there. Our server trades Basic credentials at
``POST actions/login/`` for a bearer token (its answer's ``key``); the token is stored, never the
password. The file is written under a temporary name with mode 0600 from the start and renamed into
place, so it is never readable by others.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import requests

from pulp_admin_client.failures import ClientError, ExitCode

FILENAME = "credentials"


@dataclass(frozen=True)
class StoredLogin:
    login: str
    token: str
    expires: str | None = None


class BearerAuth(requests.auth.AuthBase):
    """``Authorization: Bearer <token>`` on every request."""

    def __init__(self, stored: StoredLogin) -> None:
        self.stored = stored

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.stored.token}"
        return request


def path(id_cert_dir: Path) -> Path:
    return id_cert_dir / FILENAME


def save(id_cert_dir: Path, stored: StoredLogin) -> Path:
    """Store the credential; returns the file's path."""
    id_cert_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = path(id_cert_dir)
    temp = target.with_name(f".{FILENAME}.{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # O_CREAT's mode is filtered by the umask; make it exact
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(stored), handle)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return target


def load(id_cert_dir: Path) -> StoredLogin | None:
    """The stored login, or None when not logged in."""
    target = path(id_cert_dir)
    try:
        with open(target, encoding="utf-8") as handle:
            data = json.load(handle)
        return StoredLogin(login=str(data["login"]), token=str(data["token"]), expires=data.get("expires"))
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
