"""Sync from Debian's docker-registry (distribution 2.8) over TLS with htpasswd auth, filled by skopeo.

The certificate is self-signed for 127.0.0.1 and trusted through ``ssl_ca_cert``; the registry asks for
Basic credentials (htpasswd). Every synced tag pulls back from us byte-identical with skopeo.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tarfile
import time
import uuid
from pathlib import Path

import pytest
import requests

DATA = Path(__file__).resolve().parent.parent / "data"
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def distribution(tmp_path_factory):
    for tool in ("docker-registry", "openssl", "htpasswd", "skopeo"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    work = tmp_path_factory.mktemp("distribution")
    cert, key, users = work / "cert.pem", work / "key.pem", work / "htpasswd"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    subprocess.run(["htpasswd", "-Bbc", str(users), "syncer", "s3cret"], check=True, capture_output=True)
    port = _free_port()
    (work / "config.yml").write_text(json.dumps({
        "version": 0.1, "log": {"level": "warn"},
        "storage": {"filesystem": {"rootdirectory": str(work / "storage")}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}", "tls": {"certificate": str(cert), "key": str(key)}},
        "auth": {"htpasswd": {"realm": "test", "path": str(users)}},
    }))
    log = open(work / "registry.log", "wb")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen(["docker-registry", "serve", str(work / "config.yml")], stdout=log, stderr=log)
    url = f"https://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(f"{url}/v2/", verify=str(cert), timeout=2)
            break
        except requests.RequestException:
            time.sleep(0.1)
    image = work / "image"
    with tarfile.open(DATA / "skopeo-v2s2.tar") as tar:
        tar.extractall(image, filter="data")
    push = ["skopeo", "copy", "-q", "--dest-cert-dir", str(work / "certs"), "--dest-creds", "syncer:s3cret"]
    (work / "certs").mkdir()
    shutil.copy(cert, work / "certs" / "ca.crt")
    subprocess.run([*push, f"dir:{image}", f"docker://127.0.0.1:{port}/lib/app:1.0"], check=True, capture_output=True)
    subprocess.run([*push, f"oci-archive:{DATA / 'oci-archive.tar'}", f"docker://127.0.0.1:{port}/lib/app:oci"],
                   check=True, capture_output=True)
    yield {"url": url, "cert": cert.read_text(), "cert_dir": work / "certs", "port": port}
    process.terminate()
    process.wait(30)
    log.close()


def _mirror(server, distribution, **config) -> str:
    repo_id = f"dist-{uuid.uuid4().hex[:8]}"
    server.create_repo(repo_id, importer_config={
        "feed": distribution["url"], "upstream_name": "lib/app", "ssl_ca_cert": distribution["cert"],
        "basic_auth_username": "syncer", "basic_auth_password": "s3cret", **config})
    return repo_id


def _sync(server, repo_id: str) -> dict:
    reply = server.api("POST", f"repositories/{repo_id}/actions/sync/", json={})
    assert reply.status_code == 202, reply.text
    return server.wait_task(reply.json(), timeout=300)


def _raw(ref: str, *options: str) -> bytes:
    return subprocess.run(["skopeo", "inspect", "--raw", *options, ref], check=True, capture_output=True).stdout


def test_sync_over_tls_with_htpasswd_pulls_back_byte_identical(pulp_server, distribution) -> None:
    repo_id = _mirror(pulp_server, distribution)
    task = _sync(pulp_server, repo_id)
    assert task["state"] == "finished", task["error"]
    assert sorted(task["result"]["summary"]["tags"]) == ["1.0", "oci"]
    host = pulp_server.url.split("://", 1)[1]
    upstream_auth = ["--cert-dir", str(distribution["cert_dir"]), "--creds", "syncer:s3cret"]
    for tag in ("1.0", "oci"):
        theirs = _raw(f"docker://127.0.0.1:{distribution['port']}/lib/app:{tag}", *upstream_auth)
        ours = _raw(f"docker://{host}/{repo_id}:{tag}", "--tls-verify=false")
        assert ours == theirs
    again = _sync(pulp_server, repo_id)
    assert again["result"]["summary"]["blobs_downloaded"] == 0 and again["result"]["summary"]["tags"] == []


def test_an_untrusted_certificate_or_wrong_password_fails_clearly(pulp_server, distribution) -> None:
    untrusted = _mirror(pulp_server, distribution, ssl_ca_cert=None)
    task = _sync(pulp_server, untrusted)
    assert task["state"] == "error" and "CERTIFICATE_VERIFY_FAILED" in task["error"]["description"]
    wrong = _mirror(pulp_server, distribution, basic_auth_password="nope")
    task = _sync(pulp_server, wrong)
    assert task["state"] == "error" and "401" in task["error"]["description"]
