"""``POST actions/login/``: trade Basic credentials for a bearer token (see ``auth``)."""

from __future__ import annotations

import secrets

from starlette.requests import Request

from pulp_platform.models.content import now
from pulp_platform.models.user import AuthToken
from pulp_platform.tasking.reports import iso
from pulp_platform.webapi.auth import TOKEN_LIFETIME, token_hash
from pulp_platform.webapi.endpoint import endpoint


@endpoint
def login(request: Request, body: dict) -> dict:
    """``POST actions/login/``: trade Basic credentials for a bearer token."""
    token = secrets.token_urlsafe(32)
    expires = now() + TOKEN_LIFETIME
    AuthToken(token_hash=token_hash(token), login=request.state.login, expires=expires).save(force_insert=True)
    return {"key": token, "certificate": token, "token_type": "Bearer", "login": request.state.login,
            "expires": iso(expires)}
