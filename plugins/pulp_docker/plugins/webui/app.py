"""The web UI, mounted into the platform's server (the ``pulp.web_apps`` entry point).

Its code, its templates and Jinja2 are loaded on the first request under ``/`` or ``/ui``: a server
nobody opens the page of does not hold them (about 6 MB of the idle server). The routes are in
``routes``; the tag index of the repository pages is built at start, in the background, all the same.
"""

from __future__ import annotations

import threading
from typing import Any

from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from pulp_docker.plugins.webui.tag_order import make_index_soon

_ROUTE = "webui.route"  # where ``matches`` leaves the route it found, for ``handle``


class LazyPages(BaseRoute):
    """Every UI route, as one route whose table is imported (and its templates compiled) when first needed."""

    def __init__(self) -> None:
        self._routes: list[BaseRoute] | None = None
        self._lock = threading.Lock()

    def routes(self) -> list[BaseRoute]:
        if self._routes is None:
            with self._lock:
                if self._routes is None:
                    from pulp_docker.plugins.webui.rendering import compile_templates
                    from pulp_docker.plugins.webui.routes import routes

                    compile_templates()
                    self._routes = routes()
        return self._routes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/" or path == "/ui" or path.startswith("/ui/")):
            return Match.NONE, {}
        partial: Scope | None = None
        for route in self.routes():
            match, child = route.matches(scope)
            if match is Match.FULL:
                return Match.FULL, {**child, _ROUTE: route}
            if match is Match.PARTIAL and partial is None:
                partial = {**child, _ROUTE: route}
        return (Match.PARTIAL, partial) if partial is not None else (Match.NONE, {})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope[_ROUTE].handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        for route in self.routes():
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)


def mount(route_list: list) -> None:
    """Append the UI (the ``pulp.web_apps`` entry point)."""
    make_index_soon()
    route_list.append(LazyPages())
