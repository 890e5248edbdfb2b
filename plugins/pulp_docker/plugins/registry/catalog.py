"""``GET /v2/_catalog``: published names the caller may pull, in lexical order, paginated like tags."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from pulp_docker.plugins.publication import registry_names
from pulp_docker.plugins.registry import auth
from pulp_docker.plugins.registry.base import page, paged
from pulp_docker.plugins.registry.errors import registry_view


@registry_view
def catalog(request: Request) -> Response:
    n, last = page(request)
    identity = auth.identify(request)
    # Protected names are listed to any signed-in caller; a token limited to other names still counts,
    # as listing is not pulling.
    names = registry_names(last, None if n is None else n + 1, include_protected=identity.login is not None)
    return paged(request, {}, "repositories", names, n)
