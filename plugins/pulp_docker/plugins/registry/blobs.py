"""``GET|HEAD /v2/<name>/blobs/<digest>``: a blob of the name's current publication, streamed from the store.

Starlette's FileResponse answers ``Range`` (206 with ``Content-Range``, 416 past the end) and
``If-Range``. A whole body it hands to the server as the ASGI ``http.response.pathsend`` extension,
which ``pulp-server``'s API offers (``pulp_platform.server_cli``: the event loop copies the file from
the page cache into the socket, no thread per chunk). A range, or any body under a server without the
extension, it reads in chunks in a worker thread; ``BlobResponse`` makes those chunks large so the
per-chunk overhead stays small.
"""

from __future__ import annotations

import logging
import os

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from pulp_docker.plugins.registry.base import content_store, resolve
from pulp_docker.plugins.registry.errors import BlobUnknown, registry_view
from pulp_platform.storage import check_digest

log = logging.getLogger(__name__)


class BlobResponse(FileResponse):
    chunk_size = 1024 * 1024


@registry_view
def get_blob(request: Request) -> Response:
    published = resolve(request)
    digest = check_digest(request.path_params["digest"])
    if published.blob(digest) is None:
        raise BlobUnknown({"name": published.name, "digest": digest})
    path = content_store(request).path(digest)
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        log.error("blob %s is published as %s but its file %s is missing", digest, published.name, path)
        raise BlobUnknown({"digest": digest}, message="blob file missing from the store") from None
    headers = {"Docker-Content-Digest": digest, "ETag": f'"{digest}"', "Cache-Control": "max-age=31536000"}
    return BlobResponse(path, stat_result=stat, media_type="application/octet-stream", headers=headers)
