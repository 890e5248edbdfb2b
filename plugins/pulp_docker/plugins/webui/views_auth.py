"""Signing in and out.

The password is checked by the platform's own ``webapi.auth.authenticate`` (bcrypt, the same cost for
unknown users, the per-client and per-user throttle): the form's login and password are handed to it
as the Basic credentials a REST client would send. The sign-in form is protected from cross-site
posts by an Origin check and a token kept in a cookie of its own (no session exists yet).
"""

from __future__ import annotations

import base64
import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pulp_docker.plugins.webui import sessions
from pulp_docker.plugins.webui.guard import (
    CSRF_FIELD,
    UiError,
    action,
    check_csrf,
    check_origin,
    handled,
    page,
    read_form,
)
from pulp_docker.plugins.webui.rendering import render
from pulp_docker.plugins.webui.sessions import ANONYMOUS, SIGNIN_COOKIE, Visitor
from pulp_platform.errors import NotAuthorized
from pulp_platform.webapi import auth as platform_auth

HOME = "/ui/"
SIGNIN_TOKEN_AGE = 3600


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of this UI only (never another site: ``//evil``, ``/\\evil``)."""
    if value and value.startswith("/ui/") and not value.startswith(("//", "/\\")) and "\\" not in value \
            and not any(ord(c) < 32 for c in value):
        return value
    return HOME


def _signin_form(request: Request, status: int = 200, error: str | None = None, login: str = "",
                 headers: dict[str, str] | None = None) -> Response:
    token = request.cookies.get(SIGNIN_COOKIE)
    if not token or len(token) > 128:
        token = secrets.token_urlsafe(32)
    response = render(request, ANONYMOUS, "signin.html", status=status, headers=headers, signin_token=token,
                      error=error, login=login, next=safe_next(request.query_params.get("next")))
    sessions.set_cookie(request, response, SIGNIN_COOKIE, token, SIGNIN_TOKEN_AGE)
    return response


@page
def signin_form(request: Request, visitor: Visitor) -> Response:
    if visitor.signed_in:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return _signin_form(request)


def _check(login: str, password: str, request: Request) -> str:
    """The platform's password check, with its throttle, for the form's credentials."""
    header = "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()
    return platform_auth.authenticate(header, platform_auth.client_address(request),
                                      platform_auth.login_throttle(request))


@handled
async def signin(request: Request) -> Response:
    check_origin(request)
    form = await read_form(request)
    check_csrf(form.get(CSRF_FIELD), request.cookies.get(SIGNIN_COOKIE))
    login, password = form.get("login", "").strip(), form.get("password", "")
    if not login or not password:
        return _signin_form(request, 400, "Give your login and password.", login)
    if ":" in login:
        return _signin_form(request, 401, "Wrong login or password.", login)
    try:
        login = await run_in_threadpool(_check, login, password, request)
    except NotAuthorized:
        return _signin_form(request, 401, "Wrong login or password.", login)
    except platform_auth.TooManyFailedLogins as exc:
        return _signin_form(request, 429, exc.description, login, {"Retry-After": str(exc.retry_after)})
    try:
        token, _ = await run_in_threadpool(sessions.start, login)
    except LookupError:
        raise UiError(401, "This user no longer exists.") from None
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    sessions.set_cookie(request, response, sessions.SESSION_COOKIE, token, int(sessions.LIFETIME.total_seconds()))
    sessions.clear_cookie(request, response, SIGNIN_COOKIE)
    return response


@action
def signout(request: Request, visitor: Visitor, form: dict[str, str]) -> Response:
    sessions.end(visitor)
    response = RedirectResponse(HOME, status_code=303)
    sessions.clear_cookie(request, response, sessions.SESSION_COOKIE)
    return response
