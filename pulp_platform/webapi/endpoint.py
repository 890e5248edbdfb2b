"""The glue every handler shares: per-app state, JSON in and out, and the ``endpoint`` wrapper."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from celery import Celery
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pulp_platform.config import Settings
from pulp_platform.errors import InvalidValue, PulpException
from pulp_platform.plugin_api import Plugins
from pulp_platform.tasking.reports import API_PREFIX, jsonable
from pulp_platform.uploads import Uploads
from pulp_platform.webapi.auth import authenticate_request

MAX_JSON_BODY = 16 * 1024 * 1024


@dataclass
class ApiState:
    """What handlers need, kept on ``app.state.pulp``."""

    settings: Settings
    celery: Celery
    plugins: Plugins
    uploads: Uploads
    mongo_uri: str
    extra: dict[str, Any] = field(default_factory=dict)


def state(request: Request) -> ApiState:
    return request.app.state.pulp


class PulpJSONResponse(JSONResponse):
    """JSON with datetimes as Pulp 2's ISO strings and other database types as strings."""

    def render(self, content: Any) -> bytes:
        return json.dumps(jsonable(content), separators=(",", ":")).encode()


@dataclass
class Reply:
    """A handler's answer when it is not ``200`` with a JSON body."""

    status: int
    body: Any = None
    headers: dict[str, str] | None = None


class PluginCodedError(PulpException):
    """A plugin's own coded error (duck-typed ``code``/``description``/``data``) met in a request."""

    def __init__(self, inner: Exception) -> None:
        super().__init__(str(inner))
        self.inner = inner
        self.http_status = getattr(inner, "http_status", 400)
        self.data = getattr(inner, "data", {}) or {}
        self.sub_errors = getattr(inner, "sub_errors", []) or []

    @property
    def code(self) -> str:
        return self.inner.code

    @property
    def description(self) -> str:
        return self.inner.description


def _is_coded(exc: Exception) -> bool:
    return isinstance(getattr(exc, "code", None), str) and isinstance(getattr(exc, "description", None), str)


def href(path: str) -> str:
    return f"{API_PREFIX}{path}"


async def read_json(request: Request) -> Any:
    """The request body as JSON (``{}`` when empty), read with a size limit."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_JSON_BODY:
            raise InvalidValue("body", reason=f"larger than {MAX_JSON_BODY} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise InvalidValue("body", reason=f"not valid JSON: {exc}") from None


def to_response(result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, Reply):
        return PulpJSONResponse(result.body, status_code=result.status, headers=result.headers)
    return PulpJSONResponse(result)


Handler = Callable[[Request, Any], Any]


def endpoint(handler: Handler | None = None, *, auth: bool = True) -> Any:
    """Wrap ``handler(request, body)``: authenticate, parse a JSON body, run it in the thread pool.

    ``body`` is the parsed JSON for POST/PUT (``{}`` when empty) and None otherwise; a non-object
    body is refused, since every API call here takes an object.
    """
    if handler is None:
        return functools.partial(endpoint, auth=auth)

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        if auth:
            await authenticate_request(request)
        body = None
        if request.method in ("POST", "PUT", "PATCH"):
            body = await read_json(request)
            if body is None:  # some clients send a literal null for "no arguments"
                body = {}
            if not isinstance(body, dict):
                raise InvalidValue("body", reason="must be a JSON object")
        try:
            result = await run_in_threadpool(handler, request, body)
        except PulpException:
            raise
        except Exception as exc:
            if _is_coded(exc):
                raise PluginCodedError(exc) from exc
            raise
        return to_response(result)

    return wrapper


AsyncHandler = Callable[[Request], Awaitable[Any]]


def stream_endpoint(handler: AsyncHandler) -> AsyncHandler:
    """Wrap an async handler that reads the request stream itself (upload chunks)."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        await authenticate_request(request)
        return to_response(await handler(request))

    return wrapper
