"""Authentication: HTTP Basic on every call but ``status/``, or a token from ``actions/login/``.

``POST actions/login/`` (with Basic credentials) answers ``{"key": T, "certificate": T, ...}``; a client
then sends ``Authorization: Bearer T`` until the token expires (7 days, as Pulp 2's certificates).
Passwords are bcrypt-hashed; since bcrypt is slow on purpose, a successful check is remembered (by a
hash of the credentials and the stored hash, so a password change invalidates it).

A failed login costs one bcrypt check whether or not the user exists (unknown users are checked against
a dummy hash), so timing does not tell user names apart. Failures are counted per client address and per
user name (``LoginThrottle``, in memory per API process); past the limit a login answers 429 with
``Retry-After``, before any password is looked at.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import logging
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import timedelta

import bcrypt
from mongoengine import NotUniqueError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from pulp_platform import validation
from pulp_platform.config import DEFAULT_ADMIN_PASSWORD, Settings
from pulp_platform.errors import NotAuthorized, PulpException
from pulp_platform.models.content import now
from pulp_platform.models.user import AuthToken, User

log = logging.getLogger(__name__)
TOKEN_LIFETIME = timedelta(days=7)
_verified: dict[str, bool] = {}
_verified_lock = threading.Lock()
_VERIFIED_MAX = 1024


def hash_password(password: str) -> str:
    """The bcrypt hash to store; a password bcrypt cannot take whole is InvalidValue (400)."""
    return bcrypt.hashpw(validation.check_password(password).encode(), bcrypt.gensalt()).decode()


@functools.cache
def _dummy_hash() -> bytes:
    # Same cost factor as hash_password's (gensalt's default), so checking against it takes as long.
    return bcrypt.hashpw(secrets.token_hex(16).encode(), bcrypt.gensalt())


def check_no_password(password: str) -> None:
    """Spend what ``check_password`` spends on a wrong password, for a login that has no user."""
    try:
        bcrypt.checkpw(password.encode(), _dummy_hash())
    except ValueError:
        pass  # over 72 bytes: check_password gives up just as fast


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
    _dummy_hash()  # made now, so the first unknown-user login does not take twice as long
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
                    "--admin-password-file, --admin-password or the config file)", settings.admin_username,
                    DEFAULT_ADMIN_PASSWORD)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TooManyFailedLogins(PulpException):
    """429: this client or user name failed to log in too often lately."""

    http_status = 429

    def __init__(self, retry_after: int, scope: str) -> None:
        message = f"Too many failed logins {scope}; retry after {retry_after} seconds."
        super().__init__(message, message=message, retry_after=retry_after)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class LoginThrottle:
    """Failed logins in a sliding window, per client address and per user name (known or not, so a 429
    does not tell which users exist). A success resets nothing: it would let a client with one valid
    account, or the real user elsewhere, clear the count of someone guessing another password."""

    MAX_KEYS = 10_000

    def __init__(self, per_client: int, per_user: int, window: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = {"client": per_client, "user": per_user}
        self.window = window
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _keys(self, client: str, login: str) -> list[tuple[tuple[str, str], int]]:
        keys = [(("client", client), self.limits["client"]), (("user", login[:256]), self.limits["user"])]
        return [(key, limit) for key, limit in keys if limit > 0]

    def check(self, client: str, login: str) -> None:
        """TooManyFailedLogins when either count is at its limit within the window."""
        now_ = self.clock()
        with self._lock:
            for key, limit in self._keys(client, login):
                times = self._failures.get(key)
                if times is not None and len(times) >= limit and times[0] > now_ - self.window:
                    wait = max(1, math.ceil(times[0] + self.window - now_))
                    raise TooManyFailedLogins(wait, "from this address" if key[0] == "client" else "for this user")

    def failed(self, client: str, login: str) -> None:
        now_ = self.clock()
        with self._lock:
            if len(self._failures) >= self.MAX_KEYS:
                self._forget_old(now_)
            for key, limit in self._keys(client, login):
                self._failures.setdefault(key, deque(maxlen=limit)).append(now_)

    def _forget_old(self, now_: float) -> None:
        for key in [k for k, times in self._failures.items() if times[-1] <= now_ - self.window]:
            del self._failures[key]
        while len(self._failures) >= self.MAX_KEYS:  # all recent: drop the oldest-created
            del self._failures[next(iter(self._failures))]


_throttle_lock = threading.Lock()


def login_throttle(request: Request) -> LoginThrottle | None:
    """The app's throttle, made from its settings at first use (None for an app without platform state)."""
    app_state = request.app.state
    throttle = getattr(app_state, "login_throttle", None)
    if throttle is None:
        settings = getattr(getattr(app_state, "pulp", None), "settings", None)
        if settings is None:
            return None
        with _throttle_lock:
            throttle = getattr(app_state, "login_throttle", None)
            if throttle is None:
                throttle = LoginThrottle(settings.login_failures_per_client, settings.login_failures_per_user,
                                         settings.login_failure_window)
                app_state.login_throttle = throttle
    return throttle


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _check_basic(login: str, password: str) -> bool:
    """One bcrypt check in every case: for an existing user, or a dummy one for a login with no user."""
    user = User.objects(login=login).first() if validation.is_valid_id(login) else None
    if user is None:
        check_no_password(password)
        return False
    return check_password(password, user.password)


def authenticate(authorization: str | None, client: str = "unknown", throttle: LoginThrottle | None = None) -> str:
    """The login named by an ``Authorization`` header, or NotAuthorized (TooManyFailedLogins when throttled)."""
    if not authorization:
        raise NotAuthorized()
    scheme, _, value = authorization.partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        try:
            login, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise NotAuthorized() from None
        if not sep:
            raise NotAuthorized()
        if throttle is not None:
            throttle.check(client, login)
        if not _check_basic(login, password):
            if throttle is not None:
                throttle.failed(client, login)
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


def authenticate_caller(request: Request) -> str:
    """``authenticate`` for a request's header, client address and app throttle (blocking: the registry's)."""
    return authenticate(request.headers.get("authorization"), client_address(request), login_throttle(request))


async def authenticate_request(request: Request) -> str:
    authorization = request.headers.get("authorization")
    client, throttle = client_address(request), login_throttle(request)
    login = _recently_authenticated(authorization) if authorization else None
    if login is not None and throttle is not None and authorization.lower().startswith("basic "):
        # Throttled stays throttled: else, while the real user is busy, a guess equal to their (just
        # verified) password would still get its 200 out of this cache, with no limit on guessing.
        throttle.check(client, login)
    if login is None:
        login = await run_in_threadpool(authenticate, authorization, client, throttle)
        _remember(authorization, login)
    request.state.login = login
    return login
