"""Manifest PUT and the deletes: the push steps that run under the repository's lock.

::

    PUT    /v2/<name>/manifests/<tag|digest>   201: the manifest, kept byte for byte (Location, OCI-Subject)
    DELETE /v2/<name>/manifests/<digest>       202: the manifest and the tags naming it leave the repository
    DELETE /v2/<name>/manifests/<tag>          202: the tag leaves it
    DELETE /v2/<name>/blobs/<digest>           202: the blob leaves it

A PUT is verified by the ingest path against what the repository holds (blobs pushed before it, child
manifests of a list): every missing one is named in one 400 ``MANIFEST_BLOB_UNKNOWN``. Deletes need the
repository's ``allow-delete`` (default true); where it is false they answer 405 ``UNSUPPORTED``.
"""

from __future__ import annotations

import base64
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from pulp_docker.common import media_types as mt
from pulp_docker.common.manifest import manifest_digest
from pulp_docker.common.references import is_sha256_digest, is_tag
from pulp_docker.plugins import publication
from pulp_docker.plugins.push import targets
from pulp_docker.plugins.push.locked import StepFailed, run_locked
from pulp_docker.plugins.registry import auth
from pulp_docker.plugins.registry.errors import (
    BlobUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    RegistryError,
    TagInvalid,
    TooLarge,
    Unsupported,
    registry_stream_view,
    registry_view,
)
from pulp_platform.webapi.endpoint import state

MAX_MANIFEST = 4 * 1024 * 1024  # as distribution
_BLOB_MISSING = {"DKR1018", "DKR1037"}


def _name(request: Request) -> str:
    name = request.path_params["name"]
    if not publication.valid_name(name):
        raise NameInvalid({"name": name})
    return name


async def _body(request: Request) -> bytes:
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_MANIFEST:
            raise TooLarge({"limit": MAX_MANIFEST}, message=f"manifest larger than {MAX_MANIFEST} bytes")
    return bytes(data)


def _error(error: dict[str, Any]) -> RegistryError:
    """A failed PUT's Pulp error as the registry error a client expects."""
    problems = error.get("sub_errors") or [error]
    detail = [{"code": p.get("code"), "message": p.get("description"), **(p.get("data") or {})} for p in problems]
    codes = {p.get("code") for p in problems}
    if codes <= _BLOB_MISSING:
        return ManifestBlobUnknown(detail)
    if codes == {"DKR1039"}:
        return TagInvalid(detail)
    return ManifestInvalid(detail, message=error.get("description") or "manifest invalid")


def _put(request: Request, name: str, data: bytes) -> Response:
    reference = request.path_params["reference"]
    auth.require(request, name, auth.PUSH)
    digest = manifest_digest(data)
    tag = None
    if ":" in reference:
        if not is_sha256_digest(reference):
            raise DigestInvalid({"reference": reference})
        if reference != digest:
            raise DigestInvalid({"reference": reference, "digest": digest},
                                message="the manifest's digest is not the one in the URL")
    elif is_tag(reference):
        tag = reference
    else:
        raise TagInvalid({"reference": reference}, message="reference is neither a tag nor a digest")
    declared = request.headers.get("content-type", "").split(";", 1)[0].strip()
    target = targets.find_or_create(state(request).plugins, name)
    try:
        report = run_locked(state(request), target.repo_id, "put_manifest",
                            manifest=base64.b64encode(data).decode(),
                            media_type=declared if declared in mt.ALL_MANIFESTS else None, tag=tag)
    except StepFailed as exc:
        raise _error(exc.error) from None
    headers = {"Location": f"/v2/{name}/manifests/{digest}", "Docker-Content-Digest": digest, "Content-Length": "0"}
    subject = (((report.get("details") or {}).get("unit") or {}).get("metadata") or {}).get("subject")
    if subject:
        headers["OCI-Subject"] = subject
    return Response(status_code=201, headers=headers)


@registry_stream_view
async def put_manifest(request: Request) -> Response:
    name = _name(request)
    await run_in_threadpool(auth.require, request, name, auth.PUSH)
    data = await _body(request)
    return await run_in_threadpool(_put, request, name, data)


def _deletable(request: Request, name: str) -> targets.Target:
    auth.require(request, name, auth.DELETE)
    target = targets.find(name)
    if target is None:
        raise ManifestUnknown({"name": name})
    if not publication.deletes_allowed(target.config):
        raise Unsupported({"name": name}, message="deletes are disabled for this repository (allow-delete)")
    return target


@registry_view
def delete_manifest(request: Request) -> Response:
    name = _name(request)
    target = _deletable(request, name)
    reference = request.path_params["reference"]
    if ":" in reference:
        if not is_sha256_digest(reference):
            raise DigestInvalid({"reference": reference})
        result = run_locked(state(request), target.repo_id, "delete_manifest", digest=reference)
    elif is_tag(reference):
        result = run_locked(state(request), target.repo_id, "delete_tag", name=reference)
    else:
        raise TagInvalid({"reference": reference})
    if not result.get("deleted"):
        raise ManifestUnknown({"name": name, "reference": reference})
    return Response(status_code=202, headers={"Content-Length": "0"})


@registry_view
def delete_blob(request: Request) -> Response:
    name = _name(request)
    target = _deletable(request, name)
    digest = request.path_params["digest"]
    if not is_sha256_digest(digest):
        raise DigestInvalid({"digest": digest})
    result = run_locked(state(request), target.repo_id, "delete_blob", digest=digest)
    if not result.get("deleted"):
        raise BlobUnknown({"name": name, "digest": digest})
    return Response(status_code=202, headers={"Content-Length": "0"})
