"""The registry API (Docker Registry HTTP API V2 / OCI distribution 1.1) mounted into the platform's server.

Routes, one handler module per resource (names may contain ``/``, so they are matched as paths)::

    GET        /v2/                                   base.api_version
    GET        /v2/token                              auth.token_endpoint
    GET        /v2/_catalog                           catalog.catalog
    GET|HEAD   /v2/<name>/manifests/<tag|digest>      manifests.get_manifest
    PUT        /v2/<name>/manifests/<tag|digest>      pushes.put_manifest
    DELETE     /v2/<name>/manifests/<tag|digest>      pushes.delete_manifest
    GET|HEAD   /v2/<name>/blobs/<digest>              blobs.get_blob
    DELETE     /v2/<name>/blobs/<digest>              pushes.delete_blob
    POST       /v2/<name>/blobs/uploads/              uploads.start_upload
    PATCH|PUT|GET|DELETE /v2/<name>/blobs/uploads/<id>  uploads.patch_upload, finish_upload, upload_status,
                                                      cancel_upload
    GET        /v2/<name>/referrers/<digest>          referrers.get_referrers
    GET        /v2/<name>/tags/list                   tags.list_tags
    any other  /v2/...                                base.unsupported (UNSUPPORTED)
"""

from __future__ import annotations

from starlette.routing import Route

from pulp_docker.plugins.registry import auth, base, blobs, catalog, manifests, pushes, referrers, tags, uploads

_ANY = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def mount(routes: list) -> None:
    """Append the registry's routes (the ``pulp.web_apps`` entry point)."""
    routes += [
        Route("/v2/", base.api_version, methods=["GET"]),
        Route("/v2/token", auth.token_endpoint, methods=["GET"]),
        Route("/v2/_catalog", catalog.catalog, methods=["GET"]),
        Route("/v2/{name:path}/blobs/uploads/", uploads.start_upload, methods=["POST"]),
        Route("/v2/{name:path}/blobs/uploads/{session_id}", uploads.patch_upload, methods=["PATCH"]),
        Route("/v2/{name:path}/blobs/uploads/{session_id}", uploads.finish_upload, methods=["PUT"]),
        Route("/v2/{name:path}/blobs/uploads/{session_id}", uploads.upload_status, methods=["GET"]),
        Route("/v2/{name:path}/blobs/uploads/{session_id}", uploads.cancel_upload, methods=["DELETE"]),
        Route("/v2/{name:path}/manifests/{reference}", manifests.get_manifest, methods=["GET"]),
        Route("/v2/{name:path}/manifests/{reference}", pushes.put_manifest, methods=["PUT"]),
        Route("/v2/{name:path}/manifests/{reference}", pushes.delete_manifest, methods=["DELETE"]),
        Route("/v2/{name:path}/blobs/{digest}", blobs.get_blob, methods=["GET"]),
        Route("/v2/{name:path}/blobs/{digest}", pushes.delete_blob, methods=["DELETE"]),
        Route("/v2/{name:path}/referrers/{digest}", referrers.get_referrers, methods=["GET"]),
        Route("/v2/{name:path}/tags/list", tags.list_tags, methods=["GET"]),
        Route("/v2/{path:path}", base.unsupported, methods=_ANY),
    ]
