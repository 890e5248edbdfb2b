"""The one place errors become responses: Pulp 2's error body with the exception's HTTP status."""

from __future__ import annotations

import logging

from mongoengine import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from pulp_platform.errors import InvalidValue, MissingResource, PulpException, error_body
from pulp_platform.webapi.endpoint import PulpJSONResponse

log = logging.getLogger(__name__)


class MethodNotAllowed(PulpException):
    http_status = 405


def _render(request: Request, exc: BaseException, status: int) -> Response:
    body = error_body(exc, href=request.url.path, method=request.method, http_status=status)
    headers = {"WWW-Authenticate": 'Basic realm="pulp"'} if status == 401 else {}
    extra = getattr(exc, "headers", None)
    if isinstance(extra, dict):
        headers.update(extra)  # e.g. Retry-After of a 429
    return PulpJSONResponse(body, status_code=status, headers=headers)


async def pulp_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "http_status", 500)
    if status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc, exc_info=exc)
    return _render(request, exc, status)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return _render(request, MissingResource(path=request.url.path), 404)
    if exc.status_code == 405:
        return _render(request, MethodNotAllowed(f"method {request.method} not allowed here"), 405)
    return _render(request, PulpException(exc.detail or "HTTP error"), exc.status_code)


async def validation_error(request: Request, exc: Exception) -> Response:
    """A document mongoengine refused to save (a field of the wrong type or shape) was bad input: 400."""
    assert isinstance(exc, ValidationError)
    names = sorted(str(name) for name in (exc.errors or {})) or ["body"]
    return _render(request, InvalidValue(*names, reason=exc.message or str(exc)), 400)


async def server_error(request: Request, exc: Exception) -> Response:
    # Starlette logs the exception again after this answer goes out.
    return _render(request, exc, 500)


HANDLERS = {PulpException: pulp_error, HTTPException: http_error, ValidationError: validation_error,
            Exception: server_error}
