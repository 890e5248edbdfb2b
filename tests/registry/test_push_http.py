"""Registry push over plain HTTP against the real server: sessions, chunks, mounts, manifests, deletes, referrers.

The real clients (skopeo, podman, buildah, docker) and the OCI conformance suite push in
test_push_clients.py and test_conformance.py; these pin down each answer and each failure exactly.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
import uuid

import pytest
import requests


def start_server(base, **settings):
    """``tests/conftest.py``'s ``start_server`` (this folder's conftest shadows the name): restartable on ``base``."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("pulp_tests_conftest", Path(__file__).parent.parent / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.start_server(base, **settings)

AUTH = ("admin", "admin")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
EMPTY = b"{}"


def sha(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def url(server, path: str) -> str:
    return f"{server.url}/v2/{path}"


def new_name() -> str:
    return f"push/{uuid.uuid4().hex[:8]}"


def push_blob(server, name: str, data: bytes) -> requests.Response:
    reply = requests.post(url(server, f"{name}/blobs/uploads/"), params={"digest": sha(data)}, data=data,
                          auth=AUTH, timeout=30)
    assert reply.status_code == 201, reply.text
    return reply


def image(server, name: str, layer: bytes = b"layer", **extra) -> tuple[bytes, str]:
    """Push a config and a layer, return the bytes of an OCI manifest naming them (not pushed)."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []},
                         "label": uuid.uuid4().hex}).encode()
    for blob in (config, layer):
        push_blob(server, name, blob)
    doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config),
                      "size": len(config)},
           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha(layer),
                       "size": len(layer)}], **extra}
    data = json.dumps(doc).encode()
    return data, sha(data)


def put_manifest(server, name: str, reference: str, data: bytes, media_type: str = OCI_MANIFEST,
                 auth=AUTH) -> requests.Response:
    return requests.put(url(server, f"{name}/manifests/{reference}"), data=data, auth=auth, timeout=60,
                        headers={"Content-Type": media_type})


def error_codes(reply: requests.Response) -> list[str]:
    return [e["code"] for e in reply.json()["errors"]]


def tmp_files(server) -> list[str]:
    return [p.name for p in (server.data_dir / "content" / "tmp").iterdir()]


def test_chunked_upload_in_order_then_close(pulp_server) -> None:
    name, data = new_name(), b"0123456789" * 1000
    start = requests.post(url(pulp_server, f"{name}/blobs/uploads/"), auth=AUTH, timeout=30)
    assert start.status_code == 202
    location = start.headers["Location"]
    assert start.headers["Docker-Upload-UUID"] and start.headers["OCI-Chunk-Min-Length"]
    first = requests.patch(pulp_server.url + location, data=data[:4000], auth=AUTH, timeout=30,
                           headers={"Content-Range": "0-3999", "Content-Type": "application/octet-stream"})
    assert first.status_code == 202 and first.headers["Range"] == "0-3999"
    gap = requests.patch(pulp_server.url + location, data=data[5000:6000], auth=AUTH, timeout=30,
                         headers={"Content-Range": "5000-5999"})
    assert gap.status_code == 416
    overlap = requests.patch(pulp_server.url + location, data=data[3000:4000], auth=AUTH, timeout=30,
                             headers={"Content-Range": "3000-3999"})
    assert overlap.status_code == 416
    status = requests.get(pulp_server.url + location, auth=AUTH, timeout=30)
    assert status.status_code == 204 and status.headers["Range"] == "0-3999"
    close = requests.put(pulp_server.url + location, params={"digest": sha(data)}, data=data[4000:], auth=AUTH,
                         timeout=30)
    assert close.status_code == 201, close.text
    assert close.headers["Docker-Content-Digest"] == sha(data)
    blob = requests.get(url(pulp_server, f"{name}/blobs/{sha(data)}"), auth=AUTH, timeout=30)
    assert blob.status_code == 200 and blob.content == data
    assert requests.get(pulp_server.url + location, auth=AUTH, timeout=30).status_code == 404


def test_a_blob_whose_bytes_do_not_match_its_digest_is_refused_and_leaves_nothing(pulp_server) -> None:
    name, data = new_name(), b"some bytes " + uuid.uuid4().bytes
    before = set(tmp_files(pulp_server))
    reply = requests.post(url(pulp_server, f"{name}/blobs/uploads/"), params={"digest": sha(b"other")},
                          data=data, auth=AUTH, timeout=30)
    assert reply.status_code == 400 and error_codes(reply) == ["DIGEST_INVALID"]
    assert set(tmp_files(pulp_server)) == before
    assert not (pulp_server.data_dir / "content").joinpath(f"sha256/{sha(data)[7:9]}/{sha(data)[7:]}").exists()


def test_cancelled_session_is_gone(pulp_server) -> None:
    name = new_name()
    location = requests.post(url(pulp_server, f"{name}/blobs/uploads/"), auth=AUTH, timeout=30).headers["Location"]
    requests.patch(pulp_server.url + location, data=b"partial", auth=AUTH, timeout=30)
    assert requests.delete(pulp_server.url + location, auth=AUTH, timeout=30).status_code == 204
    again = requests.get(pulp_server.url + location, auth=AUTH, timeout=30)
    assert again.status_code == 404 and error_codes(again) == ["BLOB_UPLOAD_UNKNOWN"]
    for method in ("PATCH", "PUT"):  # read under the session's lock, which an unknown session gives back
        late = requests.request(method, pulp_server.url + location, params={"digest": sha(b"partial")},
                                data=b"more", auth=AUTH, timeout=30)
        assert late.status_code == 404 and error_codes(late) == ["BLOB_UPLOAD_UNKNOWN"], late.text
    assert f"push-{location.rsplit('/', 1)[1]}" not in tmp_files(pulp_server)


def test_cross_repository_mount(pulp_server) -> None:
    source, target, data = new_name(), new_name(), b"mount me " + uuid.uuid4().bytes
    push_blob(pulp_server, source, data)
    mounted = requests.post(url(pulp_server, f"{target}/blobs/uploads/"), auth=AUTH, timeout=30,
                            params={"mount": sha(data), "from": source})
    assert mounted.status_code == 201 and mounted.headers["Location"] == f"/v2/{target}/blobs/{sha(data)}"
    assert requests.head(url(pulp_server, f"{target}/blobs/{sha(data)}"), timeout=30).status_code == 200
    unknown = requests.post(url(pulp_server, f"{target}/blobs/uploads/"), auth=AUTH, timeout=30,
                            params={"mount": sha(b"nobody has this"), "from": source})
    assert unknown.status_code == 202 and unknown.headers["Docker-Upload-UUID"]


def test_push_needs_credentials_and_the_token_handshake_grants_push(pulp_server) -> None:
    name = new_name()
    anonymous = requests.post(url(pulp_server, f"{name}/blobs/uploads/"), timeout=30)
    assert anonymous.status_code == 401
    challenge = anonymous.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer realm=") and f'scope="repository:{name}:pull,push"' in challenge
    token = requests.get(url(pulp_server, "token"), auth=AUTH, timeout=30,
                         params={"service": "x", "scope": f"repository:{name}:pull,push"}).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    data = b"pushed with a token"
    reply = requests.post(url(pulp_server, f"{name}/blobs/uploads/"), params={"digest": sha(data)}, data=data,
                          headers=bearer, timeout=30)
    assert reply.status_code == 201
    pull_only = requests.get(url(pulp_server, "token"), timeout=30,
                             params={"service": "x", "scope": f"repository:{name}:pull,push"}).json()["token"]
    refused = requests.post(url(pulp_server, f"{name}/blobs/uploads/"), timeout=30,
                            headers={"Authorization": f"Bearer {pull_only}"})
    assert refused.status_code == 401 and 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]


def test_manifest_put_creates_the_repository_and_is_visible_everywhere(pulp_server) -> None:
    name = new_name()
    data, digest = image(pulp_server, name)
    reply = put_manifest(pulp_server, name, "1.0", data)
    assert reply.status_code == 201, reply.text
    assert reply.headers["Docker-Content-Digest"] == digest
    assert reply.headers["Location"] == f"/v2/{name}/manifests/{digest}"
    served = requests.get(url(pulp_server, f"{name}/manifests/1.0"), headers={"Accept": OCI_MANIFEST}, timeout=30)
    assert served.content == data and served.headers["Content-Type"] == OCI_MANIFEST
    repo_id = name.replace("/", "-")
    repo = pulp_server.api("GET", f"repositories/{repo_id}/").json()
    assert repo["content_unit_counts"] == {"docker_blob": 2, "docker_manifest": 1, "docker_tag": 1}
    tags = pulp_server.api("POST", f"repositories/{repo_id}/search/units/",
                           json={"criteria": {"type_ids": ["docker_tag"]}}).json()
    assert [(t["metadata"]["name"], t["metadata"]["manifest_digest"]) for t in tags] == [("1.0", digest)]
    by_digest = put_manifest(pulp_server, name, digest, data)
    assert by_digest.status_code == 201


def test_a_push_publishes_in_place(pulp_server) -> None:
    """The publication serving a name gains a push's rows; it is not re-snapshot (cost of the push, not the repo)."""
    name = new_name()
    first, _ = image(pulp_server, name, b"one")
    assert put_manifest(pulp_server, name, "a", first).status_code == 201
    before = requests.get(url(pulp_server, f"{name}/tags/list"), timeout=30).json()["tags"]
    publication = _publication_id(pulp_server, name)
    second, _ = image(pulp_server, name, b"two")
    assert put_manifest(pulp_server, name, "b", second).status_code == 201
    assert _publication_id(pulp_server, name) == publication
    assert requests.get(url(pulp_server, f"{name}/tags/list"), timeout=30).json()["tags"] == [*before, "b"]


def _publication_id(server, name: str) -> str:
    import pymongo

    client = pymongo.MongoClient(server.mongo_uri, serverSelectionTimeoutMS=5000)
    try:
        return client.get_default_database()["docker_registry_names"].find_one({"_id": name})["publication_id"]
    finally:
        client.close()


def test_a_manifest_naming_missing_blobs_names_every_one(pulp_server) -> None:
    name = new_name()
    data, _ = image(pulp_server, name)
    doc = json.loads(data)
    missing = [sha(b"missing config"), sha(b"missing layer")]
    doc["config"]["digest"], doc["layers"][0]["digest"] = missing
    reply = put_manifest(pulp_server, name, "bad", json.dumps(doc).encode())
    assert reply.status_code == 400 and error_codes(reply) == ["MANIFEST_BLOB_UNKNOWN"]
    detail = json.dumps(reply.json()["errors"][0]["detail"])
    assert all(digest in detail for digest in missing)
    assert requests.get(url(pulp_server, f"{name}/manifests/bad"), timeout=30).status_code == 404


@pytest.mark.parametrize("case,status,code", [
    ("digest mismatch", 400, "DIGEST_INVALID"),
    ("not json", 400, "MANIFEST_INVALID"),
    ("declared type differs", 400, "MANIFEST_INVALID"),
    ("bad tag", 400, "TAG_INVALID"),
    ("too large", 413, "MANIFEST_INVALID"),
    ("anonymous", 401, "UNAUTHORIZED"),
])
def test_bad_manifest_puts(pulp_server, case: str, status: int, code: str) -> None:
    name = new_name()
    data, _ = image(pulp_server, name)
    reference, media_type, auth = "1.0", OCI_MANIFEST, AUTH
    if case == "digest mismatch":
        reference = sha(b"another manifest")
    elif case == "not json":
        data = b"{not json"
    elif case == "declared type differs":
        media_type = "application/vnd.docker.distribution.manifest.v2+json"
    elif case == "bad tag":
        reference = "-bad-"
    elif case == "too large":
        data = b" " * (4 * 1024 * 1024 + 1)
    else:
        auth = None
    reply = put_manifest(pulp_server, name, reference, data, media_type, auth=auth)
    assert reply.status_code == status, reply.text
    assert error_codes(reply) == [code]


def test_subject_and_referrers(pulp_server) -> None:
    name = new_name()
    subject_data, subject = image(pulp_server, name)
    assert put_manifest(pulp_server, name, "app", subject_data).status_code == 201
    referrers = []
    for artifact in ("application/vnd.example.signature", "application/vnd.example.sbom"):
        data, digest = image(pulp_server, name, artifact.encode(), artifactType=artifact,
                             subject={"mediaType": OCI_MANIFEST, "digest": subject, "size": len(subject_data)},
                             annotations={"kind": artifact})
        reply = put_manifest(pulp_server, name, digest, data)
        assert reply.status_code == 201 and reply.headers["OCI-Subject"] == subject
        referrers.append((digest, artifact))
    listing = requests.get(url(pulp_server, f"{name}/referrers/{subject}"), timeout=30)
    assert listing.status_code == 200
    assert listing.headers["Content-Type"] == "application/vnd.oci.image.index.v1+json"
    found = {(m["digest"], m["artifactType"]) for m in listing.json()["manifests"]}
    assert found == set(referrers)
    only = requests.get(url(pulp_server, f"{name}/referrers/{subject}"), timeout=30,
                        params={"artifactType": "application/vnd.example.sbom"})
    assert only.headers["OCI-Filters-Applied"] == "artifactType"
    assert [m["artifactType"] for m in only.json()["manifests"]] == ["application/vnd.example.sbom"]


def test_deletes_and_their_switch(pulp_server) -> None:
    name = new_name()
    data, digest = image(pulp_server, name)
    assert put_manifest(pulp_server, name, "t1", data).status_code == 201
    assert put_manifest(pulp_server, name, "t2", data).status_code == 201
    assert requests.delete(url(pulp_server, f"{name}/manifests/t1"), auth=AUTH, timeout=30).status_code == 202
    assert requests.get(url(pulp_server, f"{name}/tags/list"), timeout=30).json()["tags"] == ["t2"]
    gone = requests.delete(url(pulp_server, f"{name}/manifests/{digest}"), auth=AUTH, timeout=30)
    assert gone.status_code == 202
    assert requests.get(url(pulp_server, f"{name}/manifests/{digest}"), timeout=30).status_code == 404
    assert requests.get(url(pulp_server, f"{name}/manifests/t2"), timeout=30).status_code == 404
    config = json.loads(data)["config"]["digest"]
    assert requests.delete(url(pulp_server, f"{name}/blobs/{config}"), auth=AUTH, timeout=30).status_code == 202
    assert requests.head(url(pulp_server, f"{name}/blobs/{config}"), timeout=30).status_code == 404
    assert requests.delete(url(pulp_server, f"{name}/blobs/{config}"), auth=AUTH, timeout=30).status_code == 404
    # With allow-delete false the repository refuses deletes with 405.
    repo_id = name.replace("/", "-")
    update = pulp_server.api("PUT", f"repositories/{repo_id}/", json={"distributor_configs": {
        "docker_web_distributor_name_cli": {"allow-delete": False}}})
    assert update.status_code in (200, 202), update.text
    if update.status_code == 202:
        pulp_server.wait_task(update.json())
    layer = json.loads(data)["layers"][0]["digest"]
    refused = requests.delete(url(pulp_server, f"{name}/blobs/{layer}"), auth=AUTH, timeout=30)
    assert refused.status_code == 405 and error_codes(refused) == ["UNSUPPORTED"]


def test_sessions_survive_a_restart_and_stale_ones_are_purged(tmp_path) -> None:
    server = start_server(tmp_path / "srv", push_session_ttl=2)
    name, data = new_name(), b"survives a restart " * 100
    try:
        location = requests.post(url(server, f"{name}/blobs/uploads/"), auth=AUTH, timeout=30).headers["Location"]
        requests.patch(server.url + location, data=data[:500], auth=AUTH, timeout=30)
        stale = requests.post(url(server, f"{name}/blobs/uploads/"), auth=AUTH, timeout=30).headers["Location"]
        server.stop()
        server = start_server(tmp_path / "srv", push_session_ttl=30)
        close = requests.put(server.url + location, params={"digest": sha(data)}, data=data[500:], auth=AUTH,
                             timeout=30)
        assert close.status_code == 201, close.text  # hashed at close: the running hash died with the process
        server.stop()
        server = start_server(tmp_path / "srv", push_session_ttl=1)
        time.sleep(1.5)
        requests.post(url(server, f"{name}/blobs/uploads/"), auth=AUTH, timeout=30)  # a push starts: purge
        assert requests.get(server.url + stale, auth=AUTH, timeout=30).status_code == 404
        assert f"push-{stale.rsplit('/', 1)[1]}" not in tmp_files(server)
    finally:
        server.stop()


def test_two_pushes_sharing_layers_into_two_repositories_at_once(pulp_server) -> None:
    from concurrent.futures import ThreadPoolExecutor

    shared = [uuid.uuid4().bytes * 5000 for _ in range(4)]
    names = [new_name(), new_name()]

    def push(name: str) -> str:
        with ThreadPoolExecutor(4) as pool:  # the blob uploads of one push in parallel too
            list(pool.map(lambda layer: push_blob(pulp_server, name, layer), shared))
        data, digest = image(pulp_server, name, shared[0])
        doc = json.loads(data)
        doc["layers"] = [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha(layer),
                          "size": len(layer)} for layer in shared]
        data = json.dumps(doc).encode()
        reply = put_manifest(pulp_server, name, "1", data)
        assert reply.status_code == 201, reply.text
        return sha(data)

    with ThreadPoolExecutor(2) as pool:
        digests = list(pool.map(push, names))
    repo_ids = {r["id"] for r in pulp_server.api("GET", "repositories/").json()}
    for name in names:  # parallel first pushes of a new name make one repository
        assert name.replace("/", "-") in repo_ids and f"{name.replace('/', '-')}-2" not in repo_ids
    content = pulp_server.data_dir / "content" / "sha256"
    for layer in shared:
        assert (content / sha(layer)[7:9] / sha(layer)[7:]).is_file()
    for name, digest in zip(names, digests, strict=True):
        served = requests.get(url(pulp_server, f"{name}/manifests/1"), headers={"Accept": OCI_MANIFEST}, timeout=30)
        assert served.headers["Docker-Content-Digest"] == digest
        for layer in shared:
            blob = requests.get(url(pulp_server, f"{name}/blobs/{sha(layer)}"), timeout=30)
            assert blob.status_code == 200 and sha(blob.content) == sha(layer)


def test_a_manifest_declaring_another_size_for_a_held_blob_is_invalid(pulp_server) -> None:
    name = new_name()
    data, _ = image(pulp_server, name)
    doc = json.loads(data)
    doc["layers"][0]["size"] += 1
    reply = put_manifest(pulp_server, name, "1", json.dumps(doc).encode())
    assert reply.status_code == 400 and error_codes(reply) == ["MANIFEST_INVALID"]
    assert "DKR1036" in json.dumps(reply.json())


def test_the_lock_of_an_id_that_names_no_session_is_dropped_unless_held(tmp_path) -> None:
    from pulp_docker.plugins.push.sessions import Sessions
    from pulp_platform.storage import ContentStore

    store = Sessions(ContentStore(tmp_path / "content"))
    unknown = uuid.uuid4().hex
    lock = store.lock(unknown)
    store.forget_lock(unknown, lock)
    assert store.lock(unknown) is not lock  # forgotten: a request with made-up ids leaves nothing behind
    held = store.lock(unknown)
    with held:
        store.forget_lock(unknown, held)  # another request holds it: kept
        assert store.lock(unknown) is held
