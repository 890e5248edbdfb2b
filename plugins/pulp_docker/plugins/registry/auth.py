"""Who is pulling or pushing, and whether they may: Basic credentials and the bearer-token handshake.

Unprotected names pull anonymously. For a protected name, and for every push or delete, a request
needs the platform's user credentials, either as ``Authorization: Basic`` on every request or, as
docker, podman and skopeo do, through the token handshake:

1. ``GET /v2/`` without credentials answers 401 with
   ``WWW-Authenticate: Bearer realm="<base>/v2/token",service="<host>"`` (clients learn the realm here,
   so this happens even though anonymous pulls of unprotected names need no token);
2. the client calls ``GET /v2/token?service=…&scope=repository:NAME:pull`` with Basic credentials (or
   none, for an anonymous token that covers no protected name);
3. it retries with ``Authorization: Bearer <token>``; a request for a protected name the token does not
   cover answers 401 with the challenge naming the scope (``error="insufficient_scope"``).

A token carries ``pull`` on the names the caller may pull, and ``push`` and ``delete`` (asked for as
``repository:NAME:pull,push`` or ``*``) only for a signed-in user.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pulp_docker.plugins.publication import Published
from pulp_docker.plugins.registry import tokens
from pulp_docker.plugins.registry.errors import RegistryError, Unauthorized, registry_view
from pulp_platform.errors import NotAuthorized
from pulp_platform.webapi import auth as platform_auth

TOKEN_TTL = 300
PULL, PUSH, DELETE = "pull", "push", "delete"
_SIGNED_IN_ACTIONS = (PUSH, DELETE)


@dataclass(frozen=True)
class Identity:
    """The caller: ``login`` None when anonymous; ``grants`` (name -> actions) None when not limited by a token."""

    login: str | None
    grants: dict[str, frozenset[str]] | None = None
    bearer: bool = False

    def may(self, action: str, name: str) -> bool:
        if self.login is None:
            return False
        return self.grants is None or action in self.grants.get(name, frozenset())

    def may_pull(self, published: Published) -> bool:
        return not published.protected or self.may(PULL, published.name)


ANONYMOUS = Identity(None)


class TooManyRequests(RegistryError):
    """429 for a client or user name that failed to log in too often (the platform's ``LoginThrottle``)."""

    code, status, message = "TOOMANYREQUESTS", 429, "too many failed logins"


def challenge(request: Request, scope: str | None = None, error: str | None = None) -> str:
    """The ``WWW-Authenticate`` value sending a client to this server's token endpoint."""
    base = f"{request.url.scheme}://{request.url.netloc}"
    parts = [f'realm="{base}/v2/token"', f'service="{request.url.netloc}"']
    if scope:
        parts.append(f'scope="{scope}"')
    if error:
        parts.append(f'error="{error}"')
    return "Bearer " + ",".join(parts)


def unauthorized(request: Request, *, scope: str | None = None, error: str | None = None,
                 detail: object = None, message: str | None = None) -> Unauthorized:
    return Unauthorized(detail, message=message, headers={"WWW-Authenticate": challenge(request, scope, error)})


def identify(request: Request) -> Identity:
    """The caller named by the Authorization header; Unauthorized when it names one badly."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        try:
            return Identity(platform_auth.authenticate_caller(request))
        except NotAuthorized:
            raise unauthorized(request, message="invalid username or password") from None
        except platform_auth.TooManyFailedLogins as exc:
            raise TooManyRequests({"retry_after": exc.retry_after}, message=exc.description,
                                  headers={"Retry-After": str(exc.retry_after)}) from None
    if scheme == "bearer":
        try:
            claims = tokens.verify(value.strip())
        except tokens.InvalidToken as exc:
            raise unauthorized(request, error="invalid_token", message=f"invalid token: {exc}") from None
        grants: dict[str, frozenset[str]] = {}
        for access in claims.get("access", []):
            if access.get("type") == "repository" and isinstance(access.get("name"), str):
                name = access["name"]
                grants[name] = grants.get(name, frozenset()) | frozenset(access.get("actions", []))
        return Identity(claims.get("sub") or None, grants, bearer=True)
    return ANONYMOUS


def require(request: Request, name: str, action: str) -> Identity:
    """The caller, when it may ``action`` (push, delete) ``name``; else Unauthorized with the challenge to follow."""
    identity = identify(request)
    if identity.may(action, name):
        return identity
    scope = f"repository:{name}:pull,{action}"
    raise unauthorized(request, scope=scope, error="insufficient_scope" if identity.bearer else None,
                       detail=[{"Type": "repository", "Name": name, "Action": action}])


def require_pull(request: Request, published: Published) -> None:
    """Return if the caller may pull ``published``; else Unauthorized with the challenge to follow."""
    if not published.protected:
        return
    identity = identify(request)
    if identity.may_pull(published):
        return
    scope = f"repository:{published.name}:{PULL}"
    raise unauthorized(request, scope=scope, error="insufficient_scope" if identity.bearer else None,
                       detail=[{"Type": "repository", "Name": published.name, "Action": PULL}])


def _granted(scope: str, identity: Identity) -> dict | None:
    """The access a ``type:name:actions`` scope gets: pull on names the caller may pull; push and delete
    for a signed-in user; nothing else."""
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    if kind != "repository" or not name:
        return None
    asked = set(actions.split(","))
    if "*" in asked:
        asked = {PULL, *_SIGNED_IN_ACTIONS}
    granted = []
    if PULL in asked:
        published = Published.lookup(name)
        if identity.login is not None or (published is not None and not published.protected):
            granted.append(PULL)
    if identity.login is not None:
        granted += [action for action in _SIGNED_IN_ACTIONS if action in asked]
    return {"type": "repository", "name": name, "actions": granted} if granted else None


@registry_view
def token_endpoint(request: Request) -> Response:
    """``GET /v2/token``: a bearer token for the requested scopes, for Basic credentials or anonymously."""
    identity = identify(request)
    if identity.bearer:
        raise unauthorized(request, message="the token endpoint takes Basic credentials, not a token")
    access = [g for s in request.query_params.getlist("scope") for part in s.split(" ")
              if part and (g := _granted(part, identity))]
    service = request.query_params.get("service") or request.url.netloc
    token, issued = tokens.issue(identity.login or "", service, access, TOKEN_TTL)
    return JSONResponse({"token": token, "access_token": token, "expires_in": TOKEN_TTL,
                         "issued_at": datetime.fromtimestamp(issued, UTC).isoformat()})
