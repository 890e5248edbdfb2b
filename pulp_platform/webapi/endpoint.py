"""The glue every handler shares: per-app state, JSON in and out, and the ``endpoint`` wrapper.

Request safety (docs/security.md): a state-changing call from another web origin is refused (403), a
body must be ``application/json`` (415), of at most ``max_json_body`` bytes (413), nested at most
``MAX_JSON_DEPTH`` deep, without NaN/Infinity or integers MongoDB cannot store (400). Responses are
always strict JSON.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any
from urllib.parse import urlsplit

from celery import Celery
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pulp_platform import validation
from pulp_platform.config import Settings
from pulp_platform.errors import InvalidValue, PulpException
from pulp_platform.models.repository import Repository
from pulp_platform.plugin_api import Plugins
from pulp_platform.tasking.reports import API_PREFIX, jsonable
from pulp_platform.upload_streams import UploadStreams
from pulp_platform.uploads import Uploads
from pulp_platform.webapi.auth import authenticate_request

log = logging.getLogger(__name__)
MAX_JSON_DEPTH = 64
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_INT64 = 2**63


@dataclass
class ApiState:
    """What handlers need, kept on ``app.state.pulp``."""

    settings: Settings
    celery: Celery
    plugins: Plugins
    uploads: Uploads
    mongo_uri: str
    streams: UploadStreams
    extra: dict[str, Any] = field(default_factory=dict)


def state(request: Request) -> ApiState:
    return request.app.state.pulp


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as null (documents stored before bodies were checked)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class PulpJSONResponse(JSONResponse):
    """Strict JSON, with datetimes as Pulp 2's ISO strings and other database types as strings."""

    def render(self, content: Any) -> bytes:
        data = jsonable(content)
        try:
            return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()
        except ValueError:
            # Python's default would write NaN, which no JSON parser reads back.
            log.warning("a response held NaN or Infinity; sent as null")
            return json.dumps(_finite(data), separators=(",", ":"), allow_nan=False).encode()


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


class BodyTooLarge(InvalidValue):
    http_status = 413


class UnsupportedMediaType(InvalidValue):
    http_status = 415


class CrossOriginRefused(PulpException):
    """A browser sent this from a page of another origin (cross-site request forgery)."""

    http_status = 403


def _is_json(content_type: str | None) -> bool:
    """``application/json``, optionally with ``charset=utf-8`` (the only encoding JSON has, RFC 8259)."""
    if not content_type:
        return False
    media, *params = (part.strip().lower() for part in content_type.split(";"))
    if media != "application/json":
        return False
    return all(p.replace('"', "") == "charset=utf-8" for p in params if p)


def _declares_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return "transfer-encoding" in request.headers or (length is not None and length.strip() not in ("", "0"))


def check_same_origin(request: Request) -> None:
    """Refuse a state-changing call that a browser sent from a page of another origin.

    Browsers send ``Origin`` with every cross-origin POST, forms and ``fetch(..., {mode: "no-cors"})``
    included, which need no CORS preflight; a body-less ``POST .../actions/sync/`` would otherwise run
    with the user's cached Basic credentials. Other clients (pulp-admin, curl, docker) send no Origin.
    """
    origin = request.headers.get("origin")
    if request.method in SAFE_METHODS or origin is None:
        return
    try:
        parts = urlsplit(origin)
        default = 443 if parts.scheme == "https" else 80
        host = urlsplit("//" + request.headers.get("host", ""))
        same = (parts.scheme in ("http", "https") and parts.hostname is not None
                and (parts.hostname, parts.port or default) == (host.hostname, host.port or default))
    except ValueError:
        same = False
    if not same:
        raise CrossOriginRefused(f"refused: a {request.method} from the web page of another origin ({origin})")


_JSON_STRINGS_AND_NON_BRACKETS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[^"\[\]{}]+|"')
_BRACKET_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(raw: bytes) -> int:
    """How deep brackets nest in ``raw`` (JSON), found without recursion.

    json's C decoder recurses once per level, so 100k brackets end in RecursionError; this pre-scan
    refuses deep bodies first (strings dropped by one regex, the running sum computed in C).
    """
    brackets = _JSON_STRINGS_AND_NON_BRACKETS.sub(b"", raw)
    return max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _int64(text: str) -> int:
    value = int(text)
    if not -_INT64 <= value < _INT64:
        raise ValueError(f"integer {text[:40]}... does not fit in 64 bits (MongoDB)")
    return value


def parse_json(raw: bytes) -> Any:
    """Strict JSON: no NaN/Infinity, finite numbers, 64-bit integers, at most ``MAX_JSON_DEPTH`` deep."""
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise InvalidValue("body", reason=f"nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(raw, parse_constant=_no_constant, parse_float=_finite_float, parse_int=_int64)
    except RecursionError:  # the pre-scan misjudged malformed input; still a bad body, not a 500
        raise InvalidValue("body", reason=f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:
        raise InvalidValue("body", reason=f"not valid JSON: {exc}") from None


async def read_json(request: Request) -> Any:
    """The request body as JSON (``{}`` when empty): ``application/json`` only, of bounded size."""
    limit = state(request).settings.max_json_body
    if _declares_body(request) and not _is_json(request.headers.get("content-type")):
        raise UnsupportedMediaType("body", reason="send the body as Content-Type: application/json")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge("body", reason=f"larger than {limit} bytes (max_json_body)")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge("body", reason=f"larger than {limit} bytes (max_json_body)")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    if not _is_json(request.headers.get("content-type")):
        raise UnsupportedMediaType("body", reason="send the body as Content-Type: application/json")
    return parse_json(raw)


def _check_repository_update(request: Request, body: dict) -> None:
    current = Repository.objects(repo_id=request.path_params["repo_id"]).only("notes").first()
    validation.check_repository_update(body, current.notes if current else None)


# The bodies whose fields are stored: (method, route path under /pulp/api/v2/) -> check (in the thread pool).
BODY_CHECKS: dict[tuple[str, str], Callable[[Request, dict], None]] = {
    ("POST", "repositories/"): lambda request, body: validation.check_repository_create(body),
    ("PUT", "repositories/{repo_id}/"): _check_repository_update,
}


def _body_check(request: Request) -> Callable[[Request, dict], None] | None:
    path = getattr(request.scope.get("route"), "path", "")
    return BODY_CHECKS.get((request.method, path.removeprefix(API_PREFIX)))


def to_response(result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, Reply):
        return PulpJSONResponse(result.body, status_code=result.status, headers=result.headers)
    return PulpJSONResponse(result)


Handler = Callable[[Request, Any], Any]


def endpoint(handler: Handler | None = None, *, auth: bool = True) -> Any:
    """Wrap ``handler(request, body)``: same origin, authenticate, parse a JSON body, run it in the thread pool.

    ``body`` is the parsed JSON for POST/PUT (``{}`` when empty) and None otherwise; a non-object
    body is refused, since every API call here takes an object. A DELETE's body is not read, but
    one that is not JSON is refused like any other.
    """
    if handler is None:
        return functools.partial(endpoint, auth=auth)

    def checked(request: Request, body: Any) -> Any:
        check = _body_check(request) if body else None
        if check is not None:
            check(request, body)
        return handler(request, body)

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        check_same_origin(request)
        if auth:
            await authenticate_request(request)
        body = None
        if request.method in ("POST", "PUT", "PATCH"):
            body = await read_json(request)
            if body is None:  # some clients send a literal null for "no arguments"
                body = {}
            if not isinstance(body, dict):
                raise InvalidValue("body", reason="must be a JSON object")
        elif request.method == "DELETE" and _declares_body(request) \
                and not _is_json(request.headers.get("content-type")):
            raise UnsupportedMediaType("body", reason="send the body as Content-Type: application/json")
        try:
            result = await run_in_threadpool(checked, request, body)
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
    """Wrap an async handler that reads the request stream itself (upload chunks: bytes, not JSON)."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        check_same_origin(request)
        await authenticate_request(request)
        return to_response(await handler(request))

    return wrapper
