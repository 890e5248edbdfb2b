"""Turning templates into responses: the Jinja2 environment, its filters, error pages, security headers."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from pulp_docker.plugins.webui.sessions import ANONYMOUS, Visitor

HERE = Path(__file__).resolve().parent
# No inline script or style anywhere: a stored value that slipped past escaping still could not run.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY",
                    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
_UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB")


def filesize(value: int | None) -> str:
    """``1536`` -> ``1.5 KiB`` (binary units, as ``docker images`` and ``du -h`` count)."""
    if value is None:
        return "—"
    size, unit = float(value), 0
    while size >= 1024 and unit < len(_UNITS) - 1:
        size, unit = size / 1024, unit + 1
    return f"{int(size)} bytes" if unit == 0 else f"{size:.1f} {_UNITS[unit]}"


def sized(value: int | None) -> Markup:
    """A size for people with the exact byte count kept for machines (``<data value=...>``)."""
    if value is None:
        return Markup("—")
    return Markup('<data value="{}" title="{} bytes">{}</data>').format(value, f"{value:,}", filesize(value))


def when(value: datetime | str | None) -> Markup:
    """A timestamp as ``<time>`` in UTC, minutes precision for people, full ISO for machines."""
    if value is None:
        return Markup("—")
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return Markup("{}").format(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), value.strftime("%Y-%m-%d %H:%M UTC"))


def short_digest(digest: str | None) -> str:
    if not digest:
        return "—"
    algorithm, _, hexdigest = digest.partition(":")
    return f"{algorithm}:{hexdigest[:12]}…" if len(hexdigest) > 12 else digest


MEDIA_LABELS = {
    "application/vnd.docker.distribution.manifest.v2+json": "Docker v2",
    "application/vnd.docker.distribution.manifest.list.v2+json": "Docker list",
    "application/vnd.docker.distribution.manifest.v1+json": "Docker v1",
    "application/vnd.docker.distribution.manifest.v1+prettyjws": "Docker v1 (signed)",
    "application/vnd.oci.image.manifest.v1+json": "OCI image",
    "application/vnd.oci.image.index.v1+json": "OCI index",
}


def media_label(media_type: str | None) -> Markup:
    """A manifest media type by its short name, the full one in ``title`` (tables have little room)."""
    if not media_type:
        return Markup("—")
    label = MEDIA_LABELS.get(media_type)
    if label is None:
        return Markup('<code class="small">{}</code>').format(media_type)
    return Markup('<abbr title="{}">{}</abbr>').format(media_type, label)


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False, ensure_ascii=False)


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=jinja2.select_autoescape(default=True), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(filesize=filesize, sized=sized, when=when, short_digest=short_digest, pretty_json=pretty_json,
                       media_label=media_label)
    return env


def compile_templates() -> None:
    """Compile every template now (at mount), so no visitor waits for it."""
    env = environment()
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)


def with_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def render(request: Request, visitor: Visitor, template: str, status: int = 200,
           headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    """The page ``template`` for ``visitor``; every page gets the request, the visitor and its CSRF token."""
    html = environment().get_template(template).render(request=request, visitor=visitor, **context)
    return HTMLResponse(html, status_code=status, headers=headers)


def error_page(request: Request, status: int, title: str, message: str, visitor: Visitor = ANONYMOUS,
               headers: dict[str, str] | None = None) -> HTMLResponse:
    return render(request, visitor, "error.html", status=status, headers=headers, title=title, message=message)
