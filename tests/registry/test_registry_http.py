"""The registry API over plain HTTP: headers, Range, negotiation, pagination, errors, the token handshake."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
import requests
from registry_helpers import error_code, get, member_bytes, upload_image

MT_V2 = "application/vnd.docker.distribution.manifest.v2+json"
MT_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
MT_V1 = "application/vnd.docker.distribution.manifest.v1+json"
MT_OCI = "application/vnd.oci.image.manifest.v1+json"
ALL_TYPES = ", ".join([MT_OCI, MT_V2, MT_V1_SIGNED, MT_V1, "application/vnd.docker.distribution.manifest.list.v2+json",
                       "application/vnd.oci.image.index.v1+json"])


def biggest_blob(image) -> tuple[str, bytes]:
    layers = json.loads(image.manifest_bytes).get("layers")
    digest = max(layers, key=lambda layer: layer["size"])["digest"]
    return digest, member_bytes(image.tarball, digest.split(":", 1)[1])


def test_base_endpoint_challenges_anonymous_and_accepts_credentials(pulp_server):
    anonymous = get(pulp_server, "/v2/")
    assert anonymous.status_code == 401
    assert anonymous.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    challenge = anonymous.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ") and f'realm="{pulp_server.url}/v2/token"' in challenge
    assert error_code(anonymous) == "UNAUTHORIZED"
    signed_in = get(pulp_server, "/v2/", auth=pulp_server.auth)
    assert signed_in.status_code == 200
    assert signed_in.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert get(pulp_server, "/v2/", auth=("admin", "nope")).status_code == 401


@pytest.mark.parametrize("key", ["v2s2", "oci", "v2s1"])
def test_manifest_headers_and_exact_bytes(images, pulp_server, key):
    image = images[key]
    response = get(pulp_server, f"/v2/{image.name}/manifests/{image.tag}", headers={"Accept": ALL_TYPES})
    assert response.status_code == 200
    assert response.content == image.manifest_bytes
    expected_type = {"v2s2": MT_V2, "oci": MT_OCI, "v2s1": MT_V1_SIGNED}[key]
    assert response.headers["Content-Type"] == expected_type
    assert response.headers["Docker-Content-Digest"] == image.digest
    assert int(response.headers["Content-Length"]) == len(image.manifest_bytes)
    head = requests.head(f"{pulp_server.url}/v2/{image.name}/manifests/{image.digest}", timeout=60)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Docker-Content-Digest"] == image.digest
    assert int(head.headers["Content-Length"]) == len(image.manifest_bytes)
    assert head.headers["Content-Type"] == expected_type


def test_blob_get_head_and_ranges(images, pulp_server):
    image = images["v2s2"]
    digest, data = biggest_blob(image)
    url = f"/v2/{image.name}/blobs/{digest}"
    whole = get(pulp_server, url)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["Docker-Content-Digest"] == digest
    assert whole.headers["Content-Type"] == "application/octet-stream"
    assert whole.headers["Accept-Ranges"] == "bytes"
    head = requests.head(pulp_server.url + url, timeout=60)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(data) and head.content == b""

    part = get(pulp_server, url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == data[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    tail = get(pulp_server, url, headers={"Range": "bytes=100-"})
    assert tail.status_code == 206 and tail.content == data[100:]
    suffix = get(pulp_server, url, headers={"Range": "bytes=-7"})
    assert suffix.status_code == 206 and suffix.content == data[-7:]
    past = get(pulp_server, url, headers={"Range": f"bytes={len(data) + 5}-"})
    assert past.status_code == 416
    assert past.headers["Content-Range"] == f"bytes */{len(data)}"
    # Resuming with If-Range: the digest ETag still matches, so the range is honoured.
    resumed = get(pulp_server, url, headers={"Range": "bytes=5-", "If-Range": whole.headers["ETag"]})
    assert resumed.status_code == 206 and resumed.content == data[5:]


def test_a_schema1_only_client_gets_manifest_unknown_for_a_schema2_tag(images, pulp_server):
    image = images["v2s2"]
    response = get(pulp_server, f"/v2/{image.name}/manifests/{image.tag}", headers={"Accept": MT_V1_SIGNED})
    assert response.status_code == 404
    assert error_code(response) == "MANIFEST_UNKNOWN"
    assert MT_V2 in json.dumps(response.json()["errors"][0]["detail"])
    # By digest the stored bytes are served whatever the Accept: the client named them.
    by_digest = get(pulp_server, f"/v2/{image.name}/manifests/{image.digest}", headers={"Accept": MT_V1_SIGNED})
    assert by_digest.status_code == 200 and by_digest.content == image.manifest_bytes


def test_schema1_is_one_family_and_no_accept_takes_anything(images, pulp_server):
    image = images["v2s1"]
    unsigned = get(pulp_server, f"/v2/{image.name}/manifests/{image.tag}", headers={"Accept": MT_V1})
    assert unsigned.status_code == 200 and unsigned.content == image.manifest_bytes
    oci = images["oci"]
    plain = get(pulp_server, f"/v2/{oci.name}/manifests/{oci.tag}")
    assert plain.status_code == 200 and plain.headers["Content-Type"] == MT_OCI
    docker_only = get(pulp_server, f"/v2/{oci.name}/manifests/{oci.tag}", headers={"Accept": MT_V2})
    assert docker_only.status_code == 404 and error_code(docker_only) == "MANIFEST_UNKNOWN"


def test_errors_in_registry_format(images, pulp_server):
    v2s2, v2s1 = images["v2s2"], images["v2s1"]
    cases = [
        ("/v2/reg-no-such-name/manifests/latest", 404, "NAME_UNKNOWN"),
        (f"/v2/{v2s2.name}/manifests/no-such-tag", 404, "MANIFEST_UNKNOWN"),
        (f"/v2/{v2s2.name}/manifests/sha256:{'0' * 64}", 404, "MANIFEST_UNKNOWN"),
        (f"/v2/{v2s2.name}/manifests/sha256:nothex", 400, "DIGEST_INVALID"),
        (f"/v2/{v2s2.name}/blobs/sha256:{'0' * 64}", 404, "BLOB_UNKNOWN"),
        (f"/v2/{v2s2.name}/blobs/md5:abc", 400, "DIGEST_INVALID"),
        ("/v2/Upper/Case/manifests/latest", 400, "NAME_INVALID"),
        (f"/v2/{v2s2.name}/tags/list?n=-1", 400, "PAGINATION_NUMBER_INVALID"),
        (f"/v2/{v2s2.name}/tags/list?n=many", 400, "PAGINATION_NUMBER_INVALID"),
        (f"/v2/{v2s2.name}/no-such-endpoint", 404, "UNSUPPORTED"),
    ]
    # A blob that is in the content store (another repository holds it) but not in this name's publication.
    only_v1 = (v2s1.blob_hexes - v2s2.blob_hexes).pop()
    cases.append((f"/v2/{v2s2.name}/blobs/sha256:{only_v1}", 404, "BLOB_UNKNOWN"))
    assert get(pulp_server, f"/v2/{v2s1.name}/blobs/sha256:{only_v1}").status_code == 200
    for path, status, code in cases:
        response = get(pulp_server, path)
        assert (response.status_code, error_code(response)) == (status, code), path
        assert response.headers["Content-Type"] == "application/json"
        head = requests.head(pulp_server.url + path, timeout=60)
        assert (head.status_code, head.content) == (status, b""), path


def test_anonymous_pushes_and_deletes_are_refused_and_other_methods_unsupported(images, pulp_server):
    name = images["v2s2"].name
    for method, path in [("POST", f"/v2/{name}/blobs/uploads/"), ("PUT", f"/v2/{name}/manifests/x"),
                         ("DELETE", f"/v2/{name}/manifests/{images['v2s2'].digest}")]:
        response = requests.request(method, pulp_server.url + path, timeout=60)
        assert response.status_code == 401, path
        assert error_code(response) == "UNAUTHORIZED"
        assert "scope=" in response.headers["WWW-Authenticate"]
    response = requests.request("PATCH", pulp_server.url + f"/v2/{name}/tags/list", timeout=60)
    assert response.status_code == 405 and error_code(response) == "UNSUPPORTED"
    assert get(pulp_server, f"/v2/{name}/manifests/latest").status_code == 200


def test_tags_list_pagination(pulp_server, images):
    image = images["v2s2"]
    repo = "reg-many-tags"
    upload_image(pulp_server, repo, image.tarball, "t0")
    for name in ["t1", "t2", "t3", "t4"]:
        upload_id = pulp_server.upload_file(image.tarball)
        task = pulp_server.import_upload(repo, upload_id, "docker_manifest", unit_metadata={"tag": name})
        assert task["state"] == "finished", task
    everything = get(pulp_server, f"/v2/{repo}/tags/list")
    assert everything.json() == {"name": repo, "tags": ["t0", "t1", "t2", "t3", "t4"]}
    assert "Link" not in everything.headers

    seen, path = [], f"/v2/{repo}/tags/list?n=2"
    while path:
        page = get(pulp_server, path)
        assert page.status_code == 200
        tags = page.json()["tags"]
        assert len(tags) <= 2
        seen += tags
        link = page.headers.get("Link")
        path = re.match(r'<([^>]+)>; rel="next"', link).group(1) if link else None
    assert seen == ["t0", "t1", "t2", "t3", "t4"]
    assert get(pulp_server, f"/v2/{repo}/tags/list?n=2&last=t3").json()["tags"] == ["t4"]
    assert get(pulp_server, f"/v2/{repo}/tags/list?last=t4").json()["tags"] == []


def test_catalog_lists_what_the_caller_may_pull(images, pulp_server):
    anonymous = get(pulp_server, "/v2/_catalog").json()["repositories"]
    assert {images["v2s2"].name, images["oci"].name, images["v2s1"].name} <= set(anonymous)
    assert images["protected"].name not in anonymous
    assert anonymous == sorted(anonymous)
    signed_in = get(pulp_server, "/v2/_catalog", auth=pulp_server.auth).json()["repositories"]
    assert images["protected"].name in signed_in

    walked, path = [], "/v2/_catalog?n=1"
    while path:
        page = get(pulp_server, path, auth=pulp_server.auth)
        walked += page.json()["repositories"]
        link = page.headers.get("Link")
        path = re.match(r'<([^>]+)>; rel="next"', link).group(1) if link else None
    assert walked == signed_in


def token_for(server, scope: str, auth=None) -> requests.Response:
    host = server.url.split("://", 1)[1]
    return get(server, "/v2/token", params={"service": host, "scope": scope}, auth=auth)


def test_bearer_token_handshake(images, pulp_server):
    image = images["protected"]
    url = f"/v2/{image.name}/manifests/{image.tag}"
    refused = get(pulp_server, url)
    assert refused.status_code == 401 and error_code(refused) == "UNAUTHORIZED"
    challenge = refused.headers["WWW-Authenticate"]
    assert f'scope="repository:{image.name}:pull"' in challenge
    realm = re.search(r'realm="([^"]+)"', challenge).group(1)
    assert realm == pulp_server.url + "/v2/token"

    granted = token_for(pulp_server, f"repository:{image.name}:pull", auth=pulp_server.auth)
    assert granted.status_code == 200
    body = granted.json()
    assert set(body) == {"token", "access_token", "expires_in", "issued_at"} and body["expires_in"] > 0
    bearer = {"Authorization": f"Bearer {body['token']}"}
    pulled = get(pulp_server, url, headers=bearer)
    assert pulled.status_code == 200 and pulled.content == image.manifest_bytes
    digest, data = biggest_blob(image)
    blob = get(pulp_server, f"/v2/{image.name}/blobs/{digest}", headers=bearer)
    assert blob.status_code == 200 and hashlib.sha256(blob.content).hexdigest() == digest.split(":")[1]
    assert get(pulp_server, "/v2/", headers=bearer).status_code == 200

    # A token for another name does not open this one; the answer asks for the right scope.
    other = token_for(pulp_server, f"repository:{images['v2s2'].name}:pull", auth=pulp_server.auth).json()
    narrow = get(pulp_server, url, headers={"Authorization": f"Bearer {other['token']}"})
    assert narrow.status_code == 401 and 'error="insufficient_scope"' in narrow.headers["WWW-Authenticate"]

    # Anonymous tokens exist (clients always ask) but cover no protected name.
    anonymous = token_for(pulp_server, f"repository:{image.name}:pull")
    assert anonymous.status_code == 200
    assert get(pulp_server, url, headers={"Authorization": f"Bearer {anonymous.json()['token']}"}).status_code == 401

    # Bad credentials get no token; a forged or mangled token is refused.
    assert token_for(pulp_server, f"repository:{image.name}:pull", auth=("admin", "wrong")).status_code == 401
    head, payload, _ = body["token"].split(".")
    forged = f"{head}.{payload}.{other['token'].rsplit('.', 1)[1]}"
    rejected = get(pulp_server, url, headers={"Authorization": f"Bearer {forged}"})
    assert rejected.status_code == 401 and 'error="invalid_token"' in rejected.headers["WWW-Authenticate"]
    assert get(pulp_server, url, headers={"Authorization": "Bearer not-a-token"}).status_code == 401


def test_basic_credentials_work_on_every_request(images, pulp_server):
    image = images["protected"]
    response = get(pulp_server, f"/v2/{image.name}/manifests/{image.tag}", auth=pulp_server.auth)
    assert response.status_code == 200 and response.content == image.manifest_bytes
    assert get(pulp_server, f"/v2/{image.name}/tags/list", auth=pulp_server.auth).json()["tags"] == [image.tag]
    assert get(pulp_server, f"/v2/{image.name}/tags/list").status_code == 401
    assert get(pulp_server, f"/v2/{image.name}/manifests/{image.tag}", auth=("admin", "x")).status_code == 401
