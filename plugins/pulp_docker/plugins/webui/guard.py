"""What every UI handler goes through: who the visitor is, the checks on writes, errors as pages.

Three wrappers, each running the (blocking) handler in the thread pool:

- ``page``: ``handler(request, visitor)`` for GETs; anonymous visitors allowed (the handler decides what
  they may see);
- ``action``: ``handler(request, visitor, form)`` for form POSTs: a signed-in visitor, a same-origin
  request and the session's CSRF token in the ``csrf_token`` field, else 403;
- ``api``: ``handler(request, visitor)`` answering JSON under ``/ui/api/``: signed in, and for anything
  but GET the CSRF token in the ``X-CSRF-Token`` header and a same-origin request; an async handler
  (one that reads the body as a stream) is awaited as it is.

A refused or bad request is a page (or JSON) saying what is wrong, with the status the platform's
error carries; only a bug is a 500.
"""

from __future__ import annotations

import functools
import inspect
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from mongoengine import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pulp_docker.plugins.webui import sessions
from pulp_docker.plugins.webui.rendering import error_page, with_headers
from pulp_docker.plugins.webui.sessions import ANONYMOUS, Visitor
from pulp_platform.errors import PulpException
from pulp_platform.storage import DigestError
from pulp_platform.webapi.endpoint import CrossOriginRefused, check_same_origin

log = logging.getLogger(__name__)
MAX_FORM_BYTES = 256 * 1024
MAX_FORM_FIELDS = 50
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class UiError(Exception):
    """A request the UI refuses, with the status and the sentence to show."""

    def __init__(self, status: int, message: str, title: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.title = title or {400: "Bad request", 403: "Not allowed", 404: "Not found",
                               409: "Conflict", 413: "Too large", 415: "Unsupported"}.get(status, "Error")


def not_found(what: str) -> UiError:
    return UiError(404, f"There is no {what} here, or you may not see it.")


def _described(exc: BaseException) -> tuple[int, str, str] | None:
    """(status, title, message) for an error that is the request's fault; None for a bug."""
    if isinstance(exc, UiError):
        return exc.status, exc.title, exc.message
    if isinstance(exc, CrossOriginRefused):
        return 403, "Not allowed", "Refused: this request came from a page of another site."
    code, description = getattr(exc, "code", None), getattr(exc, "description", None)
    if isinstance(exc, PulpException) or (isinstance(code, str) and isinstance(description, str)):
        status = int(getattr(exc, "http_status", 400) or 400)
        if status >= 500:
            return None
        return status, UiError(status, "").title, str(description)
    if isinstance(exc, DigestError):
        return 400, "Bad request", str(exc)
    if isinstance(exc, ValidationError):
        return 400, "Bad request", exc.message or str(exc)
    return None


def check_origin(request: Request) -> None:
    """403 unless the browser says the request comes from our own pages (``Origin``, ``Sec-Fetch-Site``)."""
    check_same_origin(request)
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise UiError(403, "Refused: this request came from a page of another site.")


def check_csrf(given: str | None, expected: str | None) -> None:
    if not expected or not given or not secrets.compare_digest(given.encode(), expected.encode()):
        raise UiError(403, "Refused: the form's security token is missing or out of date. "
                           "Reload the page and try again.")


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (the only kind our forms send), bounded in size."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise UiError(415, "This form takes application/x-www-form-urlencoded data.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise UiError(413, f"The form is larger than {MAX_FORM_BYTES // 1024} KiB.")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise UiError(400, "The form could not be read (not UTF-8, or too many fields).") from None
    return dict(pairs)


def _timed(response: Response, started: float) -> Response:
    response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return with_headers(response)


def _error_response(request: Request, exc: BaseException, visitor: Visitor, as_json: bool) -> Response:
    described = _described(exc)
    if described is None:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        described = (500, "Something went wrong", "The server failed to answer this request; its log says why.")
    status, title, message = described
    if as_json:
        return JSONResponse({"error": message, "title": title}, status_code=status)
    return error_page(request, status, title, message, visitor)


async def _visitor(request: Request) -> Visitor:
    return await run_in_threadpool(sessions.visitor, request)


def handled(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """An async ``handler(request)`` doing its own checks, with errors as pages (the sign-in form's POST)."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        started = time.perf_counter()
        try:
            response = await handler(request)
        except Exception as exc:  # noqa: BLE001
            response = _error_response(request, exc, ANONYMOUS, as_json=False)
        return _timed(response, started)

    return wrapper


def page(handler: Callable[[Request, Visitor], Response]) -> Callable[[Request], Any]:
    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        started, visitor = time.perf_counter(), ANONYMOUS
        try:
            visitor = await _visitor(request)
            response = await run_in_threadpool(handler, request, visitor)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a page
            response = _error_response(request, exc, visitor, as_json=False)
        return _timed(response, started)

    return wrapper


def action(handler: Callable[[Request, Visitor, dict[str, str]], Response]) -> Callable[[Request], Any]:
    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        started, visitor = time.perf_counter(), ANONYMOUS
        try:
            check_origin(request)
            visitor = await _visitor(request)
            form = await read_form(request)
            if not visitor.signed_in:
                raise UiError(403, "Sign in to do this.")
            check_csrf(form.get(CSRF_FIELD), visitor.csrf)
            response = await run_in_threadpool(handler, request, visitor, form)
        except Exception as exc:  # noqa: BLE001
            response = _error_response(request, exc, visitor, as_json=False)
        return _timed(response, started)

    return wrapper


def api(handler: Callable[..., Any]) -> Callable[[Request], Any]:
    is_async = inspect.iscoroutinefunction(handler)

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        started, visitor = time.perf_counter(), ANONYMOUS
        try:
            if request.method != "GET":
                check_origin(request)
            visitor = await _visitor(request)
            if not visitor.signed_in:
                raise UiError(403, "Sign in first (your session may have ended).")
            if request.method != "GET":
                check_csrf(request.headers.get(CSRF_HEADER), visitor.csrf)
            if is_async:
                result = await handler(request, visitor)
            else:
                result = await run_in_threadpool(handler, request, visitor)
            response = result if isinstance(result, Response) else JSONResponse(result)
        except Exception as exc:  # noqa: BLE001
            response = _error_response(request, exc, visitor, as_json=True)
        return _timed(response, started)

    return wrapper
