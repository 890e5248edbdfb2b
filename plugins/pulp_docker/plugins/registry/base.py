"""``GET /v2/``, the catch-all for what this registry does not do, and what every handler shares:
the content store, resolving a name (with access control) and ``n``/``last`` pagination."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pulp_docker.plugins.publication import Published, valid_name
from pulp_docker.plugins.registry import auth
from pulp_docker.plugins.registry.errors import (
    NameInvalid,
    NameUnknown,
    PaginationInvalid,
    Unsupported,
    registry_view,
)
from pulp_platform import config
from pulp_platform.storage import ContentStore


@cache
def _store(root: Path) -> ContentStore:
    return ContentStore(root)


def content_store(request: Request) -> ContentStore:
    """The content store of the server handling ``request`` (its settings, else the environment's)."""
    state = getattr(request.app.state, "pulp", None)
    settings = state.settings if state is not None else config.load()
    return _store(settings.content_path)


def resolve(request: Request) -> Published:
    """The published name in the URL, once the caller is allowed to pull it."""
    name = request.path_params["name"]
    if not valid_name(name):
        raise NameInvalid({"name": name})
    published = Published.lookup(name)
    if published is None:
        raise NameUnknown({"name": name})
    auth.require_pull(request, published)
    return published


def page(request: Request) -> tuple[int | None, str | None]:
    """The ``n`` (None when absent) and ``last`` query parameters."""
    raw = request.query_params.get("n")
    n = None
    if raw is not None:
        try:
            n = int(raw)
        except ValueError:
            raise PaginationInvalid({"n": raw}) from None
        if n < 0:
            raise PaginationInvalid({"n": raw})
    return n, request.query_params.get("last") or None


def paged(request: Request, body: dict, key: str, items: list[str], n: int | None) -> JSONResponse:
    """Answer the first ``n`` of ``items`` (fetched as n + 1) under ``key``, with a ``Link`` to the rest."""
    headers = {}
    if n is not None and len(items) > n:
        items = items[:n]
        query = urlencode({"n": n, "last": items[-1]} if items else {"n": n})
        headers["Link"] = f'<{request.url.path}?{query}>; rel="next"'
    return JSONResponse({**body, key: items}, headers=headers)


@registry_view
def api_version(request: Request) -> Response:
    """``GET /v2/``: 200 to a caller with valid credentials or token, else 401 with the token challenge."""
    identity = auth.identify(request)
    if identity is auth.ANONYMOUS:
        raise auth.unauthorized(request)
    return JSONResponse({})


@registry_view
def unsupported(request: Request) -> Response:
    """Endpoints and methods this registry does not have."""
    if request.method in ("GET", "HEAD"):
        raise Unsupported({"path": request.url.path}, message="no such registry endpoint", status=404)
    raise Unsupported({"method": request.method, "path": request.url.path},
                      message="no such registry endpoint for this method")
