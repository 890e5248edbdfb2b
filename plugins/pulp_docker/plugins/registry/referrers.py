"""``GET /v2/<name>/referrers/<digest>[?artifactType=T]``: what refers to a manifest (OCI distribution 1.1).

The answer is an OCI image index of the descriptors of every manifest (signatures, SBOMs, …) whose
``subject`` is the digest, from the name's current publication; ``artifactType`` filters them, and
``OCI-Filters-Applied: artifactType`` says so.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from pulp_docker.common import media_types as mt
from pulp_docker.plugins.registry.base import resolve
from pulp_docker.plugins.registry.errors import registry_view
from pulp_platform.storage import check_digest


@registry_view
def get_referrers(request: Request) -> Response:
    published = resolve(request)
    digest = check_digest(request.path_params["digest"])
    wanted = request.query_params.get("artifactType")
    manifests = []
    for row in sorted(published.referrers(digest), key=lambda r: r["digest"]):
        if wanted is not None and row.get("artifact_type") != wanted:
            continue
        descriptor = {"mediaType": row["media_type"], "digest": row["digest"], "size": row["size"]}
        if row.get("artifact_type"):
            descriptor["artifactType"] = row["artifact_type"]
        if row.get("annotations"):
            descriptor["annotations"] = row["annotations"]
        manifests.append(descriptor)
    body = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": manifests}).encode()
    headers = {"OCI-Filters-Applied": "artifactType"} if wanted is not None else {}
    return Response(body, media_type=mt.OCI_INDEX, headers=headers)
