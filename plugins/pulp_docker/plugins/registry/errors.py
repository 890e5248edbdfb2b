"""Registry errors and the one place they become the distribution JSON error body.

Handlers raise a ``RegistryError`` subclass; ``registry_view`` renders it as
``{"errors": [{"code", "message", "detail"}]}`` with its HTTP status and headers::

    RegistryError
    ├── NameUnknown        404 NAME_UNKNOWN       the name is not published
    ├── NameInvalid        400 NAME_INVALID       the name is outside the distribution grammar
    ├── ManifestUnknown    404 MANIFEST_UNKNOWN   no such tag or digest, or none the client accepts
    ├── BlobUnknown        404 BLOB_UNKNOWN       the blob is not in the name's current publication
    ├── DigestInvalid      400 DIGEST_INVALID     a malformed digest in the URL
    ├── PaginationInvalid  400 PAGINATION_NUMBER_INVALID
    ├── Unauthorized       401 UNAUTHORIZED       with a WWW-Authenticate challenge
    ├── Denied             403 DENIED
    ├── Unsupported        405 UNSUPPORTED        deletes where they are off, unknown endpoints (404)
    ├── ManifestInvalid    400 MANIFEST_INVALID   a pushed manifest that does not parse or verify
    ├── ManifestBlobUnknown 400 MANIFEST_BLOB_UNKNOWN  a pushed manifest names blobs the repository lacks
    ├── TagInvalid         400 TAG_INVALID        a tag outside the grammar
    ├── SizeInvalid        400 SIZE_INVALID       a blob or manifest of another size than declared
    ├── BlobUploadUnknown  404 BLOB_UPLOAD_UNKNOWN  no such upload session
    ├── BlobUploadInvalid  400 BLOB_UPLOAD_INVALID  a chunk that is not the next one (416 for a range)
    ├── TooLarge           413 MANIFEST_INVALID   a manifest over 4 MiB
    └── StorageFull        507 UNKNOWN            the disk cannot take the upload (distribution's code)
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pulp_platform.storage import DigestError
from pulp_platform.webapi.endpoint import CrossOriginRefused, check_same_origin

log = logging.getLogger(__name__)


class RegistryError(Exception):
    code = "UNKNOWN"
    status = 500
    message = "unknown error"

    def __init__(self, detail: Any = None, *, message: str | None = None, status: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message or self.message)
        self.detail = detail
        if message:
            self.message = message
        if status:
            self.status = status
        self.headers = headers or {}


class NameUnknown(RegistryError):
    code, status, message = "NAME_UNKNOWN", 404, "repository name not known to registry"


class NameInvalid(RegistryError):
    code, status, message = "NAME_INVALID", 400, "invalid repository name"


class ManifestUnknown(RegistryError):
    code, status, message = "MANIFEST_UNKNOWN", 404, "manifest unknown"


class BlobUnknown(RegistryError):
    code, status, message = "BLOB_UNKNOWN", 404, "blob unknown to registry"


class DigestInvalid(RegistryError):
    code, status, message = "DIGEST_INVALID", 400, "provided digest did not match uploaded content"


class PaginationInvalid(RegistryError):
    code, status, message = "PAGINATION_NUMBER_INVALID", 400, "invalid number of results requested"


class Unauthorized(RegistryError):
    code, status, message = "UNAUTHORIZED", 401, "authentication required"


class Denied(RegistryError):
    code, status, message = "DENIED", 403, "requested access to the resource is denied"


class Unsupported(RegistryError):
    code, status, message = "UNSUPPORTED", 405, "The operation is unsupported."


class ManifestInvalid(RegistryError):
    code, status, message = "MANIFEST_INVALID", 400, "manifest invalid"


class ManifestBlobUnknown(RegistryError):
    code, status, message = "MANIFEST_BLOB_UNKNOWN", 400, "manifest references a blob unknown to the repository"


class TagInvalid(RegistryError):
    code, status, message = "TAG_INVALID", 400, "manifest tag did not match URI"


class SizeInvalid(RegistryError):
    code, status, message = "SIZE_INVALID", 400, "provided length did not match content length"


class BlobUploadUnknown(RegistryError):
    code, status, message = "BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry"


class BlobUploadInvalid(RegistryError):
    code, status, message = "BLOB_UPLOAD_INVALID", 400, "blob upload invalid"


class TooLarge(RegistryError):
    code, status, message = "MANIFEST_INVALID", 413, "manifest too large"


class StorageFull(RegistryError):
    code, status, message = "UNKNOWN", 507, "no space left on the registry's disk"


def error_response(exc: RegistryError) -> JSONResponse:
    body = {"errors": [{"code": exc.code, "message": exc.message, "detail": exc.detail}]}
    headers = {"Docker-Distribution-API-Version": "registry/2.0", **exc.headers}
    return JSONResponse(body, status_code=exc.status, headers=headers)


def registry_view(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
    """Wrap a (synchronous) handler so registry errors answer in the registry's format.

    The wrapper stays synchronous, so Starlette runs it in its thread pool: handlers query the
    database with blocking pymongo calls and hand back a response that streams asynchronously.
    """

    @functools.wraps(handler)
    def view(request: Request) -> Response:
        try:
            _same_origin(request)
            response = handler(request)
        except (RegistryError, DigestError) as exc:
            return _rendered(exc)
        response.headers.setdefault("Docker-Distribution-API-Version", "registry/2.0")
        return response

    return view


def _same_origin(request: Request) -> None:
    """The platform's request-forgery rule (docs/security.md) for the registry's writes: a browser's
    cross-site POST/PUT/PATCH/DELETE (which would carry its cached credentials) is DENIED."""
    try:
        check_same_origin(request)
    except CrossOriginRefused as exc:
        raise Denied({"origin": request.headers.get("origin")}, message=str(exc)) from None


def _rendered(exc: RegistryError | DigestError) -> JSONResponse:
    if isinstance(exc, DigestError):
        return error_response(DigestInvalid(str(exc), message="invalid digest"))
    return error_response(exc)


def registry_stream_view(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """``registry_view`` for an ``async`` handler that reads the request body as a stream."""

    @functools.wraps(handler)
    async def view(request: Request) -> Response:
        try:
            _same_origin(request)
            response = await handler(request)
        except (RegistryError, DigestError) as exc:
            return _rendered(exc)
        response.headers.setdefault("Docker-Distribution-API-Version", "registry/2.0")
        return response

    return view
