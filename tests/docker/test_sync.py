"""Sync from a real upstream registry on loopback: a second server of ours, protected (token handshake).

Covers the importer keys and their validation, the sync action and its progress report, idempotence,
the whitelist, moved and removed tags, multi-arch lists, and the faults: a connection cut mid-blob
(resumed), a blob corrupted on the upstream's disk, wrong credentials, an upstream that is down.
Distribution over TLS with htpasswd is synced from in tests/sync.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import uuid

import pytest
import requests

AUTH = ("admin", "admin")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def sha(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def push_image(server, name: str, tag: str, layers: list[bytes]) -> str:
    """Push an OCI image of ``layers`` to ``server`` as ``name:tag``; returns its manifest digest."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "id": uuid.uuid4().hex}).encode()
    for blob in (config, *layers):
        reply = requests.post(f"{server.url}/v2/{name}/blobs/uploads/", params={"digest": sha(blob)}, data=blob,
                              auth=AUTH, timeout=60)
        assert reply.status_code == 201, reply.text
    doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config),
                      "size": len(config)},
           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha(layer),
                       "size": len(layer)} for layer in layers]}
    data = json.dumps(doc).encode()
    reply = requests.put(f"{server.url}/v2/{name}/manifests/{tag}", data=data, auth=AUTH, timeout=60,
                         headers={"Content-Type": OCI_MANIFEST})
    assert reply.status_code == 201, reply.text
    return sha(data)


@pytest.fixture(scope="module")
def upstream(start_pulp_server):
    """A second server: ``up/app`` (protected) with tags 1.0 and 2.0, sharing a layer."""
    server = start_pulp_server()
    shared = os.urandom(64 * 1024)
    push_image(server, "up/app", "1.0", [shared, b"one"])
    push_image(server, "up/app", "2.0", [shared, b"two"])
    repo = server.api("PUT", "repositories/up-app/", json={"distributor_configs": {
        "docker_web_distributor_name_cli": {"protected": True}}})
    assert repo.status_code in (200, 202), repo.text
    publish = server.api("POST", "repositories/up-app/actions/publish/", json={"id": "docker_web_distributor_name_cli"})
    server.wait_task(publish.json())
    assert requests.get(f"{server.url}/v2/up/app/tags/list", timeout=30).status_code == 401
    return server


def mirror(server, upstream_url: str, **config) -> str:
    repo_id = f"mirror-{uuid.uuid4().hex[:8]}"
    body = {"feed": upstream_url, "upstream_name": "up/app", "basic_auth_username": "admin",
            "basic_auth_password": "admin", **config}
    server.create_repo(repo_id, importer_config=body)
    return repo_id


def sync(server, repo_id: str, override: dict | None = None) -> dict:
    reply = server.api("POST", f"repositories/{repo_id}/actions/sync/", json={"override_config": override or {}})
    assert reply.status_code == 202, reply.text
    return server.wait_task(reply.json(), timeout=300)


def tags(server, repo_id: str) -> dict[str, str]:
    rows = server.api("POST", f"repositories/{repo_id}/search/units/",
                      json={"criteria": {"type_ids": ["docker_tag"]}}).json()
    return {r["metadata"]["name"]: r["metadata"]["manifest_digest"] for r in rows}


def counts(server, repo_id: str) -> dict:
    return server.api("GET", f"repositories/{repo_id}/").json()["content_unit_counts"]


def upstream_digest(upstream, tag: str) -> str:
    reply = requests.get(f"{upstream.url}/v2/up/app/manifests/{tag}", auth=AUTH, timeout=30,
                         headers={"Accept": OCI_MANIFEST})
    return reply.headers["Docker-Content-Digest"]


def test_sync_follows_the_token_handshake_and_mirrors_every_tag(pulp_server, upstream) -> None:
    repo_id = mirror(pulp_server, upstream.url)
    task = sync(pulp_server, repo_id)
    assert task["state"] == "finished", task["error"]
    summary = task["result"]["summary"]
    assert sorted(summary["tags"]) == ["1.0", "2.0"] and summary["blobs_downloaded"] >= 1
    assert tags(pulp_server, repo_id) == {t: upstream_digest(upstream, t) for t in ("1.0", "2.0")}
    steps = task["progress_report"]["docker_importer"]
    assert [s["step_type"] for s in steps] == ["sync_step_metadata", "sync_step_download", "sync_step_save"]
    assert all(s["state"] == "FINISHED" and s["num_processed"] == s["items_total"] for s in steps)
    # Published at once, byte for byte what the upstream serves.
    ours = requests.get(f"{pulp_server.url}/v2/{repo_id}/manifests/1.0", headers={"Accept": OCI_MANIFEST}, timeout=30)
    theirs = requests.get(f"{upstream.url}/v2/up/app/manifests/1.0", headers={"Accept": OCI_MANIFEST}, auth=AUTH,
                          timeout=30)
    assert ours.content == theirs.content
    importer = pulp_server.api("GET", f"repositories/{repo_id}/?details=true").json()["importers"][0]
    assert importer["last_sync"] and importer["config"]["basic_auth_password"] == "*****"
    before = counts(pulp_server, repo_id)
    again = sync(pulp_server, repo_id)
    assert again["state"] == "finished"
    assert again["result"]["summary"]["blobs_downloaded"] == 0 and again["result"]["summary"]["tags"] == []
    assert counts(pulp_server, repo_id) == before


def test_whitelist_moved_and_removed_tags(pulp_server, upstream) -> None:
    repo_id = mirror(pulp_server, upstream.url, tags=["1.0", "3.0"])
    push_image(upstream, "up/app", "3.0", [b"three"])
    _republish(upstream)
    assert sync(pulp_server, repo_id)["state"] == "finished"
    assert sorted(tags(pulp_server, repo_id)) == ["1.0", "3.0"]
    moved = push_image(upstream, "up/app", "3.0", [b"three, moved"])
    requests.delete(f"{upstream.url}/v2/up/app/manifests/1.0", auth=AUTH, timeout=30)
    _republish(upstream)
    assert sync(pulp_server, repo_id)["state"] == "finished"
    now = tags(pulp_server, repo_id)
    assert now["3.0"] == moved and "1.0" in now  # Pulp 2's default: a tag gone upstream stays
    task = sync(pulp_server, repo_id, {"remove_missing": True})
    assert task["result"]["summary"]["removed_tags"] == ["1.0"]
    assert sorted(tags(pulp_server, repo_id)) == ["3.0"]
    push_image(upstream, "up/app", "1.0", [b"one again"])
    _republish(upstream)


def _republish(upstream) -> None:
    task = upstream.api("POST", "repositories/up-app/actions/publish/", json={"id": "docker_web_distributor_name_cli"})
    upstream.wait_task(task.json())


def _close_both(*sockets: socket.socket) -> None:
    for sock in sockets:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()


class CuttingProxy:
    """Forwards to the upstream; cuts the first reply longer than ``after`` bytes once, mid-body."""

    def __init__(self, port: int, after: int) -> None:
        self.target, self.after, self.cuts = ("127.0.0.1", port), after, 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            threading.Thread(target=self._pipe, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, True), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, replies: bool) -> None:
        passed = 0
        try:
            while data := src.recv(65536):
                passed += len(data)
                if replies and self.cuts == 0 and passed > self.after:
                    self.cuts += 1
                    dst.sendall(data[: len(data) // 2])
                    break
                dst.sendall(data)
        except OSError:
            pass
        _close_both(src, dst)

    def close(self) -> None:
        self.listener.close()


def test_a_connection_cut_mid_blob_is_resumed(pulp_server, upstream) -> None:
    big = os.urandom(6 * 1024 * 1024)
    push_image(upstream, "up/app", "big", [big])
    _republish(upstream)
    proxy = CuttingProxy(int(upstream.url.rsplit(":", 1)[1]), after=3 * 1024 * 1024)
    try:
        repo_id = mirror(pulp_server, f"http://127.0.0.1:{proxy.port}", tags=["big"])
        task = sync(pulp_server, repo_id)
    finally:
        proxy.close()
    assert proxy.cuts == 1
    assert task["state"] == "finished", task["error"]
    blob = requests.get(f"{pulp_server.url}/v2/{repo_id}/blobs/{sha(big)}", timeout=60)
    assert sha(blob.content) == sha(big)


def test_a_blob_corrupted_upstream_fails_the_sync_and_leaves_that_image_out(pulp_server, upstream) -> None:
    layer = os.urandom(32 * 1024)
    digest = push_image(upstream, "up/app", "corrupt", [layer])
    _republish(upstream)
    path = upstream.data_dir / "content" / "sha256" / sha(layer)[7:9] / sha(layer)[7:]
    os.chmod(path, 0o644)
    path.write_bytes(b"x" * len(layer))  # same size, other bytes
    repo_id = mirror(pulp_server, upstream.url, tags=["corrupt", "2.0"])
    task = sync(pulp_server, repo_id)
    assert task["state"] == "error"
    assert sha(layer) in task["error"]["description"]
    assert "corrupt" not in tags(pulp_server, repo_id)
    manifests = pulp_server.api("POST", f"repositories/{repo_id}/search/units/",
                                json={"criteria": {"type_ids": ["docker_manifest"]}}).json()
    assert digest not in {m["metadata"]["digest"] for m in manifests}
    assert not any((pulp_server.data_dir / "content" / "tmp").glob("sync-*"))


@pytest.mark.parametrize("case", ["wrong credentials", "upstream down", "no such repository"])
def test_sync_failures_name_their_cause(pulp_server, upstream, case: str) -> None:
    if case == "wrong credentials":
        repo_id = mirror(pulp_server, upstream.url, basic_auth_password="wrong")
        expected = "401"
    elif case == "upstream down":
        closed = socket.create_server(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
        repo_id = mirror(pulp_server, f"http://127.0.0.1:{port}")
        expected = "ConnectError"
    else:
        repo_id = mirror(pulp_server, upstream.url, upstream_name="up/nothing-here")
        expected = "up/nothing-here"
    task = sync(pulp_server, repo_id)
    assert task["state"] == "error"
    assert task["error"]["code"] == "DKR1043" and expected in task["error"]["description"], task["error"]
    assert counts(pulp_server, repo_id) == {}


@pytest.mark.parametrize("config,key", [
    ({"enable_v1": True}, "enable_v1"),
    ({"feed": "ftp://example"}, "feed"),
    ({"tags": ["bad tag!"]}, "tags"),
    ({"max_downloads": 0}, "max_downloads"),
    ({"ssl_client_cert": "PEM"}, "ssl_client_cert"),
])
def test_bad_importer_configs_are_refused(pulp_server, config: dict, key: str) -> None:
    body = {"id": f"bad-{uuid.uuid4().hex[:8]}", "importer_type_id": "docker_importer", "importer_config": config}
    reply = pulp_server.api("POST", "repositories/", json=body)
    assert reply.status_code == 400, reply.text
    assert key in json.dumps(reply.json())


def test_a_multi_arch_index_syncs_with_every_manifest(pulp_server, upstream) -> None:
    entries = []
    for arch in ("amd64", "arm64"):
        digest = push_image(upstream, "up/app", f"only-{arch}", [arch.encode() * 100])
        size = len(requests.get(f"{upstream.url}/v2/up/app/manifests/{digest}", auth=AUTH, timeout=30).content)
        entries.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": size,
                        "platform": {"os": "linux", "architecture": arch}})
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": entries}).encode()
    reply = requests.put(f"{upstream.url}/v2/up/app/manifests/multi", data=index, auth=AUTH, timeout=30,
                         headers={"Content-Type": "application/vnd.oci.image.index.v1+json"})
    assert reply.status_code == 201, reply.text
    _republish(upstream)
    repo_id = mirror(pulp_server, upstream.url, tags=["multi"])
    task = sync(pulp_server, repo_id)
    assert task["state"] == "finished", task["error"]
    assert tags(pulp_server, repo_id) == {"multi": sha(index)}
    assert counts(pulp_server, repo_id)["docker_manifest"] == 2
    for entry in entries:
        served = requests.get(f"{pulp_server.url}/v2/{repo_id}/manifests/{entry['digest']}", timeout=30)
        assert served.status_code == 200 and sha(served.content) == entry["digest"]


class ThrottlingProxy(CuttingProxy):
    """Forwards replies at about ``rate`` bytes a second, so a download is still running when it is canceled."""

    def __init__(self, port: int, rate: int) -> None:
        self.rate = rate
        super().__init__(port, after=1 << 62)

    def _pipe(self, src: socket.socket, dst: socket.socket, replies: bool) -> None:
        import time

        try:
            while data := src.recv(16384 if replies else 65536):
                dst.sendall(data)
                if replies:
                    time.sleep(len(data) / self.rate)
        except OSError:
            pass
        _close_both(src, dst)


def test_a_canceled_sync_leaves_nothing_half_made(pulp_server, upstream) -> None:
    import time

    big = os.urandom(8 * 1024 * 1024)
    push_image(upstream, "up/app", "slow", [big])
    _republish(upstream)
    proxy = ThrottlingProxy(int(upstream.url.rsplit(":", 1)[1]), rate=1024 * 1024)
    try:
        repo_id = mirror(pulp_server, f"http://127.0.0.1:{proxy.port}", tags=["slow"])
        reply = pulp_server.api("POST", f"repositories/{repo_id}/actions/sync/", json={})
        task_id = reply.json()["spawned_tasks"][0]["task_id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            steps = pulp_server.api("GET", f"tasks/{task_id}/").json()["progress_report"].get("docker_importer", [])
            if any(s["step_type"] == "sync_step_download" and s["state"] == "IN_PROGRESS" for s in steps):
                break
            time.sleep(0.1)
        time.sleep(1.5)  # mid-blob
        assert pulp_server.api("DELETE", f"tasks/{task_id}/").status_code == 200
        task = pulp_server.wait_task(task_id, timeout=120)
    finally:
        proxy.close()
    assert task["state"] == "canceled"
    tmp = pulp_server.data_dir / "content" / "tmp"
    deadline = time.monotonic() + 20  # the worker notices at its next check (each second) and cleans up
    while any(tmp.glob("sync-*")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert counts(pulp_server, repo_id) == {}
    assert not any((pulp_server.data_dir / "content" / "tmp").glob("sync-*"))
    assert not (pulp_server.data_dir / "content" / "sha256" / sha(big)[7:9] / sha(big)[7:]).exists()
