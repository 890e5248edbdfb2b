"""Query parameters of the listing pages: page number, sort order and a name prefix, checked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from pulp_docker.plugins.webui.guard import UiError

PER_PAGE = 50
MAX_PAGE = 100_000
MAX_PREFIX = 256


@dataclass(frozen=True)
class Listing:
    """What a listing page asks for: ``page`` (from 1), ``sort`` (one of the page's keys), ``prefix``."""

    page: int
    sort: str
    prefix: str
    per_page: int = PER_PAGE

    @property
    def skip(self) -> int:
        return (self.page - 1) * self.per_page

    def link(self, **change: Any) -> str:
        """This listing's query string with some parameters changed (``page=2``, ``sort="date"``)."""
        values = {"page": self.page, "sort": self.sort, "q": self.prefix, **change}
        if values["page"] == 1:
            del values["page"]
        if not values["q"]:
            del values["q"]
        return "?" + urlencode(values)


def listing(request: Request, sorts: tuple[str, ...]) -> Listing:
    """The listing a request asks for; a malformed parameter is a 400 page saying which."""
    params = request.query_params
    raw_page = params.get("page", "1")
    if not raw_page.isdigit() or not 1 <= int(raw_page) <= MAX_PAGE:
        raise UiError(400, f"page must be a whole number from 1 to {MAX_PAGE:,}, not {raw_page[:40]!r}.")
    sort = params.get("sort", sorts[0])
    if sort not in sorts:
        raise UiError(400, f"sort must be one of {', '.join(sorts)}, not {sort[:40]!r}.")
    prefix = params.get("q", "").strip()
    if len(prefix) > MAX_PREFIX or any(ord(c) < 32 for c in prefix):
        raise UiError(400, f"The name filter takes at most {MAX_PREFIX} printable characters.")
    return Listing(int(raw_page), sort, prefix)


def prefix_range(prefix: str) -> dict[str, str]:
    """A query matching strings that start with ``prefix``, as an index range (a regex scans everything)."""
    return {"$gte": prefix, "$lt": prefix + "\U0010ffff"}
