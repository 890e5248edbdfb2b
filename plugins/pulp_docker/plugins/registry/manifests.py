"""``GET|HEAD /v2/<name>/manifests/<tag|digest>``: the stored manifest bytes, exactly."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from pulp_docker.common.references import is_tag
from pulp_docker.plugins.registry import negotiation
from pulp_docker.plugins.registry.base import content_store, resolve
from pulp_docker.plugins.registry.errors import ManifestUnknown, registry_view
from pulp_platform.storage import check_digest


def _stored_file(root: Path, storage_path: str) -> Path:
    """The content file a unit names, refusing a path that would leave the store."""
    path = (root / storage_path).resolve()
    if not storage_path or not path.is_relative_to(root.resolve()):
        raise ManifestUnknown({"storage_path": storage_path}, message="manifest file is outside the store")
    return path


@registry_view
def get_manifest(request: Request) -> Response:
    published = resolve(request)
    reference = request.path_params["reference"]
    if ":" in reference:
        row = published.manifest(check_digest(reference))
    elif is_tag(reference):
        rows = published.tag(reference)
        if not rows:
            raise ManifestUnknown({"name": published.name, "tag": reference})
        accepted = negotiation.parse_accept(request.headers.getlist("accept"))
        try:
            digest = negotiation.choose(rows, accepted, published.manifest)
        except negotiation.NotAcceptable as exc:
            raise ManifestUnknown({"name": published.name, "tag": reference, "offered": exc.offered},
                                  message="the tag names no manifest of a type the client accepts") from None
        row = published.manifest(digest)
    else:
        raise ManifestUnknown({"reference": reference}, message="reference is neither a tag nor a digest")
    if row is None:
        raise ManifestUnknown({"name": published.name, "reference": reference})
    try:
        data = _stored_file(content_store(request).root, row["storage_path"]).read_bytes()
    except FileNotFoundError:
        raise ManifestUnknown({"digest": row["digest"]}, message="manifest file missing from the store") from None
    headers = {"Docker-Content-Digest": row["digest"], "ETag": f'"{row["digest"]}"',
               "Content-Length": str(len(data))}
    # Content-Length is given explicitly so a HEAD answer carries the real length without a body.
    return Response(b"" if request.method == "HEAD" else data, media_type=row["media_type"], headers=headers)
