"""A manifest's (or list's) page in one repository."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from pulp_docker.plugins.registry.base import content_store
from pulp_docker.plugins.webui import manifest_details
from pulp_docker.plugins.webui.guard import UiError, page
from pulp_docker.plugins.webui.rendering import render
from pulp_docker.plugins.webui.sessions import Visitor, served_over_tls
from pulp_docker.plugins.webui.views_repositories import registry_host, visible_repository
from pulp_platform.storage import DigestError


@page
def manifest(request: Request, visitor: Visitor) -> Response:
    doc, serving = visible_repository(visitor, request.path_params["repo_id"])
    digest = request.path_params["digest"]
    try:
        found = manifest_details.details(content_store(request), serving, digest)
    except DigestError:
        raise UiError(400, f"{digest[:80]!r} is not a digest: sha256: and 64 lowercase hex digits.") from None
    return render(request, visitor, "manifest.html", repo=doc, serving=serving, m=found, host=registry_host(request),
                  tls=served_over_tls(request))
