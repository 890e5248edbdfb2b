"""Authentication: HTTP Basic on every call but ``status/``, or a token from ``actions/login/``.

``POST actions/login/`` (with Basic credentials) answers ``{"key": T, "certificate": T, ...}``; a client
then sends ``Authorization: Bearer T`` until the token expires (7 days, as Pulp 2's certificates).
Passwords are bcrypt-hashed; since bcrypt is slow on purpose, a successful check is remembered (by a
hash of the credentials and the stored hash, so a password change invalidates it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import threading
import time
from datetime import timedelta

import bcrypt
from mongoengine import NotUniqueError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from pulp_platform.config import DEFAULT_ADMIN_PASSWORD, Settings
from pulp_platform.errors import NotAuthorized
from pulp_platform.models.content import now
from pulp_platform.models.user import AuthToken, User

log = logging.getLogger(__name__)
TOKEN_LIFETIME = timedelta(days=7)
_verified: dict[str, bool] = {}
_verified_lock = threading.Lock()
_VERIFIED_MAX = 1024


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


def check_password(password: str, hashed: str) -> bool:
    key = hashlib.sha256(f"{hashed}\0{password}".encode()).hexdigest()
    with _verified_lock:
        if key in _verified:
            return True
    try:
        ok = bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        return False
    if ok:
        with _verified_lock:
            if len(_verified) >= _VERIFIED_MAX:
                _verified.clear()
            _verified[key] = True
    return ok


def ensure_admin(settings: Settings) -> None:
    """Create the admin user, or reset its password to the configured one; warn while it is the default."""
    user = User.objects(login=settings.admin_username).first()
    if user is None:
        try:
            User(login=settings.admin_username, name=settings.admin_username, roles=["super-users"],
                 password=hash_password(settings.admin_password)).save(force_insert=True)
            log.info("created user %r", settings.admin_username)
        except NotUniqueError:
            pass  # another API process created it at the same moment
    elif not check_password(settings.admin_password, user.password):
        user.update(set__password=hash_password(settings.admin_password))
        log.info("password of user %r set from the configuration", settings.admin_username)
    if settings.admin_password == DEFAULT_ADMIN_PASSWORD:
        log.warning("the password of user %r is the default %r: set admin_password (PULP_ADMIN_PASSWORD, "
                    "--admin-password or the config file)", settings.admin_username, DEFAULT_ADMIN_PASSWORD)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(authorization: str | None) -> str:
    """The login named by an ``Authorization`` header, or NotAuthorized."""
    if not authorization:
        raise NotAuthorized()
    scheme, _, value = authorization.partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        try:
            login, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise NotAuthorized() from None
        user = User.objects(login=login).first() if sep else None
        if user is None or not check_password(password, user.password):
            raise NotAuthorized()
        return login
    if scheme == "bearer" and value.strip():
        token = AuthToken.objects(token_hash=token_hash(value.strip()), expires__gt=now()).first()
        if token is None or User.objects(login=token.login).first() is None:
            raise NotAuthorized()
        return token.login
    raise NotAuthorized()


# A client sends the same header on every request (an upload is hundreds of PUTs): a successful check is
# reused for a few seconds, so a changed password, deleted user or expired token counts within that time.
RECENT_SECONDS = 5.0
_recent: dict[str, tuple[str, float]] = {}


def _recently_authenticated(authorization: str) -> str | None:
    key = hashlib.sha256(authorization.encode()).hexdigest()
    hit = _recent.get(key)
    if hit and hit[1] > time.monotonic():
        return hit[0]
    return None


def _remember(authorization: str, login: str) -> None:
    if len(_recent) >= _VERIFIED_MAX:
        _recent.clear()
    _recent[hashlib.sha256(authorization.encode()).hexdigest()] = (login, time.monotonic() + RECENT_SECONDS)


async def authenticate_request(request: Request) -> str:
    authorization = request.headers.get("authorization")
    login = _recently_authenticated(authorization) if authorization else None
    if login is None:
        login = await run_in_threadpool(authenticate, authorization)
        _remember(authorization, login)
    request.state.login = login
    return login
