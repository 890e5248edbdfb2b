"""The registry pull API (Docker Registry HTTP API V2 / OCI distribution) mounted into the platform's server.

Routes, one handler module per resource (names may contain ``/``, so they are matched as paths)::

    GET        /v2/                                   base.api_version
    GET        /v2/token                              auth.token_endpoint
    GET        /v2/_catalog                           catalog.catalog
    GET|HEAD   /v2/<name>/manifests/<tag|digest>      manifests.get_manifest
    GET|HEAD   /v2/<name>/blobs/<digest>              blobs.get_blob
    GET        /v2/<name>/tags/list                   tags.list_tags
    any other  /v2/...                                base.unsupported (UNSUPPORTED)
"""

from __future__ import annotations

from starlette.routing import Route

from pulp_docker.plugins.registry import auth, base, blobs, catalog, manifests, tags

_ANY = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def mount(routes: list) -> None:
    """Append the registry's routes (the ``pulp.web_apps`` entry point)."""
    routes += [
        Route("/v2/", base.api_version, methods=["GET"]),
        Route("/v2/token", auth.token_endpoint, methods=["GET"]),
        Route("/v2/_catalog", catalog.catalog, methods=["GET"]),
        Route("/v2/{name:path}/manifests/{reference}", manifests.get_manifest, methods=["GET"]),
        Route("/v2/{name:path}/blobs/{digest}", blobs.get_blob, methods=["GET"]),
        Route("/v2/{name:path}/tags/list", tags.list_tags, methods=["GET"]),
        Route("/v2/{path:path}", base.unsupported, methods=_ANY),
    ]
