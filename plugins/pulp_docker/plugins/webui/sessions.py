"""Sign-in sessions of the web UI, kept in the database (``webui_sessions``) so that signing out ends them.

The browser holds only a random token in an HttpOnly, SameSite=Strict cookie (Secure over TLS); the
database keeps its sha256, the login, the session's CSRF token and a fingerprint of the user's password
hash, so a changed password or a deleted user ends every session at its next request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

import mongoengine as me
from starlette.requests import Request
from starlette.responses import Response

from pulp_platform.models.content import now
from pulp_platform.models.user import User

SESSION_COOKIE = "pulp_ui_session"
# The sign-in form's CSRF token, for a visitor who has no session yet (double-submit: cookie == field).
SIGNIN_COOKIE = "pulp_ui_signin"
COOKIE_PATH = "/ui"
LIFETIME = timedelta(hours=12)


class UiSession(me.Document):
    """One signed-in browser; ``_id`` is the sha256 of the cookie's token."""

    token_hash = me.StringField(primary_key=True)
    login = me.StringField(required=True)
    csrf = me.StringField(required=True)
    password_mark = me.StringField(required=True)
    created = me.DateTimeField(default=now)
    expires = me.DateTimeField(required=True)

    meta: ClassVar[dict[str, Any]] = {"collection": "webui_sessions"}


@dataclass(frozen=True)
class Visitor:
    """Who is looking: ``login`` None for an anonymous visitor; ``csrf`` the token their writes must carry."""

    login: str | None
    csrf: str | None = None
    token_hash: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.login is not None


ANONYMOUS = Visitor(None)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _password_mark(user: User) -> str:
    return hashlib.sha256(user.password.encode()).hexdigest()


def start(login: str) -> tuple[str, Visitor]:
    """A new session for ``login`` (already authenticated); returns the cookie token and the visitor."""
    user = User.objects(login=login).first()
    if user is None:
        raise LookupError(login)
    UiSession._get_collection().delete_many({"expires": {"$lt": now()}})
    token = secrets.token_urlsafe(32)
    session = UiSession(token_hash=_hash(token), login=login, csrf=secrets.token_urlsafe(32),
                        password_mark=_password_mark(user), expires=now() + LIFETIME)
    session.save(force_insert=True)
    return token, Visitor(login, session.csrf, session.token_hash)


def visitor(request: Request) -> Visitor:
    """The visitor named by the request's session cookie (blocking: two small database reads)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 128:
        return ANONYMOUS
    session = UiSession.objects(token_hash=_hash(token)).first()
    if session is None:
        return ANONYMOUS
    user = User.objects(login=session.login).only("password").first()
    if session.expires < now() or user is None or _password_mark(user) != session.password_mark:
        session.delete()
        return ANONYMOUS
    return Visitor(session.login, session.csrf, session.token_hash)


def end(visitor_: Visitor) -> None:
    if visitor_.token_hash:
        UiSession.objects(token_hash=visitor_.token_hash).delete()


def served_over_tls(request: Request) -> bool:
    """Whether the browser reached us over TLS: directly, or through a TLS-terminating proxy that says so.

    Trusting ``X-Forwarded-Proto`` here can only add ``Secure`` to a cookie, never take it away.
    """
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path=COOKIE_PATH, httponly=True, samesite="strict",
                        secure=served_over_tls(request))


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(name, path=COOKIE_PATH, httponly=True, samesite="strict",
                           secure=served_over_tls(request))
