"""``GET /v2/<name>/tags/list``: the name's tags in lexical order, paginated with ``n``/``last`` and ``Link``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from pulp_docker.plugins.registry.base import page, paged, resolve
from pulp_docker.plugins.registry.errors import registry_view


@registry_view
def list_tags(request: Request) -> Response:
    published = resolve(request)
    n, last = page(request)
    names = published.tag_names(last, None if n is None else n + 1)
    return paged(request, {"name": published.name}, "tags", names, n)
