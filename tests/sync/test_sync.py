"""Sync from real upstreams on loopback, through the Pulp 2 REST API, checked with skopeo.

Upstreams (``conftest.py``): Debian's docker-registry (distribution 2.8) over TLS with a self-signed
certificate (``ssl_ca_cert``) and htpasswd auth (``basic_auth_*``), and a second server of ours with a
protected repository (the 401 -> Bearer token handshake). Faults come from ``fault_proxy.FaultProxy``
in front of the upstream, or from the upstream's own storage.
"""

from __future__ import annotations

import json
import re
import socket
import uuid

import pytest
import requests

from .fault_proxy import FaultProxy
from .helpers import (
    APP_TAGS,
    counts,
    dir_files,
    finished,
    generated_image,
    make_pem_pair,
    mirror,
    need,
    our_copy_to_dir,
    our_raw,
    sha256,
    sync,
    tags,
    units,
)

MiB = 1024 * 1024
STEP_TYPES = ["sync_step_metadata", "sync_step_download", "sync_step_save"]


def tls_mirror(server, distribution, upstream_name: str = "lib/app", **config) -> tuple[str, str]:
    config = {"ssl_ca_cert": distribution.cert_pem, "basic_auth_username": distribution.user,
              "basic_auth_password": distribution.password, **config}
    return mirror(server, distribution.url, upstream_name, **config)


def assert_pulls_identical(server, name: str, distribution, upstream_name: str, tag: str, tmp_path,
                           *, all_images: bool = False) -> None:
    """skopeo gets the same manifest bytes and the same files from us as from the upstream."""
    assert our_raw(server, name, tag) == distribution.raw(upstream_name, tag), tag
    key = f"{tag}-{uuid.uuid4().hex[:6]}"
    ours = our_copy_to_dir(server, name, tag, tmp_path / f"ours-{key}", all_images=all_images)
    theirs = distribution.copy_to_dir(upstream_name, tag, tmp_path / f"theirs-{key}", all_images=all_images)
    assert dir_files(ours) == dir_files(theirs), tag


def unique_upstream(prefix: str) -> str:
    return f"lib/{prefix}-{uuid.uuid4().hex[:8]}"


# -- distribution over TLS with htpasswd ----------------------------------------------------------
@pytest.mark.slow
def test_sync_over_tls_with_ca_cert_and_basic_auth_pulls_back_byte_identical(pulp_server, distribution,
                                                                             tmp_path) -> None:
    repo_id, name = tls_mirror(pulp_server, distribution)
    task = sync(pulp_server, repo_id)
    summary = finished(task)
    assert sorted(summary["tags"]) == APP_TAGS
    assert summary["removed_tags"] == []
    # The server is shared and these blobs come from fixtures other tests upload, so what was
    # downloaded depends on test order; what holds is that every download landed in the repository.
    downloaded = task["result"]["details"]["blobs_downloaded"]
    assert len(downloaded) == summary["blobs_downloaded"]
    assert set(downloaded) <= {b["digest"] for b in units(pulp_server, repo_id, "docker_blob")}
    steps = task["progress_report"]["docker_importer"]
    assert [s["step_type"] for s in steps] == STEP_TYPES
    for step in steps:
        assert step["state"] == "FINISHED" and step["num_processed"] == step["items_total"], step
    assert steps[0]["items_total"] == len(APP_TAGS)
    assert tags(pulp_server, repo_id) == {t: distribution.digest("lib/app", t) for t in APP_TAGS}
    for tag in APP_TAGS:  # auto-published: skopeo pulls each tag from us, byte for byte
        assert_pulls_identical(pulp_server, name, distribution, "lib/app", tag, tmp_path)
    importer = pulp_server.api("GET", f"repositories/{repo_id}/?details=true").json()["importers"][0]
    assert importer["last_sync"]


@pytest.mark.slow
def test_a_whitelist_syncs_only_its_tags(pulp_server, distribution) -> None:
    repo_id, name = tls_mirror(pulp_server, distribution, tags=["oci", "latest", "not-upstream"])
    summary = finished(sync(pulp_server, repo_id))
    assert sorted(summary["tags"]) == ["latest", "oci"]
    assert sorted(tags(pulp_server, repo_id)) == ["latest", "oci"]
    listed = requests.get(f"{pulp_server.url}/v2/{name}/tags/list", timeout=30).json()
    assert listed["tags"] == ["latest", "oci"]
    for tag in ("docker", "v2s2"):
        reply = requests.get(f"{pulp_server.url}/v2/{name}/manifests/{tag}", timeout=30)
        assert reply.status_code == 404, (tag, reply.text)


@pytest.mark.slow
def test_a_resync_is_idempotent(pulp_server, distribution) -> None:
    repo_id, _ = tls_mirror(pulp_server, distribution, upstream_name="lib/multi")
    finished(sync(pulp_server, repo_id))
    before_counts, before_tags = counts(pulp_server, repo_id), tags(pulp_server, repo_id)
    assert before_counts
    task = sync(pulp_server, repo_id)
    summary = finished(task)
    assert summary["blobs_downloaded"] == 0, summary
    assert summary["tags"] == [] and summary["removed_tags"] == [], summary
    assert task["result"]["details"]["blobs_downloaded"] == []
    assert counts(pulp_server, repo_id) == before_counts
    assert tags(pulp_server, repo_id) == before_tags


@pytest.mark.slow
def test_a_moved_tag_moves_and_removed_tags_stay_unless_remove_missing(pulp_server, distribution,
                                                                       tmp_path) -> None:
    upstream = unique_upstream("moving")
    images = {key: generated_image(tmp_path / key, 32 * 1024)[0] for key in ("a1", "b1", "a2")}
    distribution.push(f"dir:{images['a1']}", upstream, "a")
    distribution.push(f"dir:{images['b1']}", upstream, "b")
    first = {t: distribution.digest(upstream, t) for t in ("a", "b")}
    repo_id, name = tls_mirror(pulp_server, distribution, upstream_name=upstream)
    assert sorted(finished(sync(pulp_server, repo_id))["tags"]) == ["a", "b"]
    assert tags(pulp_server, repo_id) == first

    distribution.push(f"dir:{images['a2']}", upstream, "a")  # "a" moves
    distribution.delete(upstream, first["b"])  # "b" goes
    assert distribution.tags(upstream) == ["a"]
    moved = distribution.digest(upstream, "a")
    assert moved != first["a"]
    summary = finished(sync(pulp_server, repo_id))
    assert summary["tags"] == ["a"] and summary["removed_tags"] == [], summary
    assert tags(pulp_server, repo_id) == {"a": moved, "b": first["b"]}  # Pulp 2's default keeps "b"
    assert_pulls_identical(pulp_server, name, distribution, upstream, "a", tmp_path)
    assert sha256(our_raw(pulp_server, name, "b")) == first["b"]

    summary = finished(sync(pulp_server, repo_id, {"remove_missing": True}))
    assert summary["removed_tags"] == ["b"], summary
    assert tags(pulp_server, repo_id) == {"a": moved}
    gone = requests.get(f"{pulp_server.url}/v2/{name}/manifests/b", timeout=30)
    assert gone.status_code == 404, gone.text

    # remove_missing in the importer config itself does the same.
    distribution.push(f"dir:{images['b1']}", upstream, "b")
    repo2, _ = tls_mirror(pulp_server, distribution, upstream_name=upstream, remove_missing=True)
    finished(sync(pulp_server, repo2))
    distribution.delete(upstream, first["b"])
    assert finished(sync(pulp_server, repo2))["removed_tags"] == ["b"]
    assert sorted(tags(pulp_server, repo2)) == ["a"]


@pytest.mark.slow
def test_a_multi_arch_list_syncs_with_every_manifest(pulp_server, distribution, tmp_path) -> None:
    repo_id, name = tls_mirror(pulp_server, distribution, upstream_name="lib/multi")
    summary = finished(sync(pulp_server, repo_id))
    assert summary["tags"] == ["latest"]
    listing = distribution.raw("lib/multi", "latest")
    instances = [m["digest"] for m in json.loads(listing)["manifests"]]
    assert len(instances) == 2
    assert tags(pulp_server, repo_id) == {"latest": sha256(listing)}
    unit_counts = counts(pulp_server, repo_id)
    assert unit_counts.get("docker_manifest") == 2, unit_counts
    assert unit_counts.get("docker_manifest_list") == 1, unit_counts
    assert {m["digest"] for m in units(pulp_server, repo_id, "docker_manifest")} == set(instances)
    for digest in instances:
        assert our_raw(pulp_server, name, digest) == distribution.raw("lib/multi", digest)
    assert_pulls_identical(pulp_server, name, distribution, "lib/multi", "latest", tmp_path, all_images=True)


# -- our own server, protected: the token handshake -------------------------------------------------
@pytest.mark.slow
def test_sync_from_a_protected_server_of_ours_follows_the_token_handshake(pulp_server, protected_upstream,
                                                                          tmp_path) -> None:
    upstream = protected_upstream.server
    port = int(upstream.url.rsplit(":", 1)[1])
    with FaultProxy(port) as proxy:
        repo_id, name = mirror(pulp_server, f"http://{proxy.url_host}", protected_upstream.name,
                               basic_auth_username="admin", basic_auth_password="admin")
        summary = finished(sync(pulp_server, repo_id))
        sent = proxy.requests_text()
    assert sorted(summary["tags"]) == ["1.0", "2.0"] and summary["blobs_downloaded"] > 0
    assert tags(pulp_server, repo_id) == protected_upstream.digests
    assert re.search(r"(?im)^authorization: bearer ", sent), "no request carried a Bearer token"
    # The realm names the host the client called (here the proxy), so the token request passed it too.
    assert "GET /v2/token" in sent, sent[:2000]
    token_request = sent[sent.index("GET /v2/token"):].split("\r\n\r\n", 1)[0]
    assert re.search(r"(?im)^authorization: basic ", token_request), token_request
    assert "scope=repository%3Asecret%2Fapp%3Apull" in token_request or \
        "scope=repository:secret/app:pull" in token_request, token_request
    for tag in ("1.0", "2.0"):
        theirs = our_raw(upstream, protected_upstream.name, tag, creds="admin:admin")
        assert our_raw(pulp_server, name, tag) == theirs
    ours = our_copy_to_dir(pulp_server, name, "1.0", tmp_path / "ours")
    theirs = our_copy_to_dir(upstream, protected_upstream.name, "1.0", tmp_path / "theirs", creds="admin:admin")
    assert dir_files(ours) == dir_files(theirs)
    again = finished(sync(pulp_server, repo_id, {"feed": upstream.url}))
    assert again["blobs_downloaded"] == 0 and again["tags"] == []


@pytest.mark.slow
@pytest.mark.parametrize("password", [None, "wrong"], ids=["anonymous", "wrong-password"])
def test_a_protected_server_refuses_a_sync_without_good_credentials(pulp_server, protected_upstream,
                                                                    password) -> None:
    creds = {"basic_auth_username": "admin", "basic_auth_password": password} if password else {}
    repo_id, _ = mirror(pulp_server, protected_upstream.server.url, protected_upstream.name, **creds)
    task = sync(pulp_server, repo_id)
    assert task["state"] == "error", task
    assert task["error"]["code"] == "DKR1043", task["error"]
    assert "401" in task["error"]["description"], task["error"]
    assert protected_upstream.name in task["error"]["description"], task["error"]
    assert counts(pulp_server, repo_id) == {}


# -- faults -------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_connection_cut_in_the_middle_of_a_big_blob_is_resumed(pulp_server, distribution, tmp_path) -> None:
    upstream = unique_upstream("big")
    image, manifest = generated_image(tmp_path / "big", 8 * MiB)
    big = max(manifest["layers"], key=lambda layer: layer["size"])
    assert big["size"] > 7 * MiB
    distribution.push(f"dir:{image}", upstream, "big")
    with FaultProxy(distribution.port) as proxy:
        proxy.cut_once_after(5 * MiB)
        repo_id, name = mirror(pulp_server, f"https://{proxy.url_host}", upstream,
                               ssl_ca_cert=distribution.cert_pem, basic_auth_username=distribution.user,
                               basic_auth_password=distribution.password)
        task = sync(pulp_server, repo_id)
        passed = proxy.reply_bytes
    assert proxy.cuts == 1, "the proxy never cut the big blob"
    summary = finished(task)
    assert big["digest"] in task["result"]["details"]["blobs_downloaded"], summary
    assert_pulls_identical(pulp_server, name, distribution, upstream, "big", tmp_path)
    # Resumed with Range, not downloaded again from byte 0 (which would pass 5 + 8 MiB).
    assert passed < big["size"] + 2 * MiB, f"{passed} bytes passed the proxy for an {big['size']}-byte blob"


@pytest.mark.slow
def test_a_blob_corrupted_on_the_upstream_fails_the_sync_naming_it(pulp_server, distribution, tmp_path) -> None:
    upstream = unique_upstream("corrupt")
    bad_dir, bad = generated_image(tmp_path / "bad", 64 * 1024)
    good_dir, _ = generated_image(tmp_path / "good", 32 * 1024)
    distribution.push(f"dir:{bad_dir}", upstream, "bad")
    distribution.push(f"dir:{good_dir}", upstream, "good")
    bad_digest = distribution.digest(upstream, "bad")
    layer = max(bad["layers"], key=lambda item: item["size"])
    data = distribution.blob_data(layer["digest"])
    size = data.stat().st_size
    assert size == layer["size"]
    data.write_bytes(bytes(size))  # same size, other bytes
    repo_id, _ = tls_mirror(pulp_server, distribution, upstream_name=upstream)
    task = sync(pulp_server, repo_id)
    assert task["state"] == "error", task
    assert layer["digest"] in task["error"]["description"], task["error"]
    assert task["error"]["code"] == "DKR1044", task["error"]
    assert [e["code"] for e in task["error"]["sub_errors"]] == ["DKR1017"], task["error"]
    assert "bad" not in tags(pulp_server, repo_id)
    assert bad_digest not in {m["digest"] for m in units(pulp_server, repo_id, "docker_manifest")}
    blobs = {b["digest"] for b in units(pulp_server, repo_id, "docker_blob")}
    assert layer["digest"] not in blobs and bad["config"]["digest"] not in blobs
    assert not (pulp_server.data_dir / "content" / "sha256" / layer["digest"][7:9] / layer["digest"][7:]).exists()
    assert not any((pulp_server.data_dir / "content" / "tmp").glob("sync-*"))
    assert tags(pulp_server, repo_id).get("good") == distribution.digest(upstream, "good")  # the others stay


@pytest.mark.slow
def test_wrong_credentials_fail_clearly(pulp_server, distribution) -> None:
    repo_id, _ = tls_mirror(pulp_server, distribution, basic_auth_password="not-the-password")
    task = sync(pulp_server, repo_id)
    assert task["state"] == "error", task
    assert task["error"]["code"] == "DKR1043", task["error"]
    assert "401" in task["error"]["description"], task["error"]
    assert distribution.host in task["error"]["description"], task["error"]
    assert counts(pulp_server, repo_id) == {}


@pytest.mark.slow
def test_a_failed_sync_reports_the_step_that_failed(pulp_server, distribution) -> None:
    """As Pulp 2: the tag list is read in ``sync_step_metadata``, which ends FAILED when it cannot be."""
    repo_id, _ = tls_mirror(pulp_server, distribution, basic_auth_password="not-the-password")
    task = sync(pulp_server, repo_id)
    assert task["state"] == "error", task
    steps = {s["step_type"]: s["state"] for s in task["progress_report"]["docker_importer"]}
    assert steps == {"sync_step_metadata": "FAILED", "sync_step_download": "NOT_STARTED",
                     "sync_step_save": "NOT_STARTED"}, steps


@pytest.mark.slow
def test_an_untrusted_certificate_fails_clearly(pulp_server, distribution) -> None:
    repo_id, _ = mirror(pulp_server, distribution.url, "lib/app", basic_auth_username=distribution.user,
                        basic_auth_password=distribution.password)
    task = sync(pulp_server, repo_id)
    assert task["state"] == "error", task
    assert task["error"]["code"] == "DKR1043", task["error"]
    assert "certificate" in task["error"]["description"].lower(), task["error"]
    assert counts(pulp_server, repo_id) == {}


def test_an_upstream_that_is_down_fails_clearly(pulp_server) -> None:
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    repo_id, _ = mirror(pulp_server, f"https://127.0.0.1:{port}", "lib/app")
    task = sync(pulp_server, repo_id, timeout=180)
    assert task["state"] == "error", task
    assert task["error"]["code"] == "DKR1043", task["error"]
    description = task["error"]["description"]
    assert f"127.0.0.1:{port}" in description and "lib/app" in description, description
    assert re.search(r"connect|refused", description, re.IGNORECASE), description
    assert counts(pulp_server, repo_id) == {}


# -- config ---------------------------------------------------------------------------------------------
def test_enable_v1_is_refused_at_create(pulp_server) -> None:
    body = {"id": f"v1-{uuid.uuid4().hex[:8]}", "importer_type_id": "docker_importer",
            "importer_config": {"feed": "https://127.0.0.1:1", "upstream_name": "lib/app", "enable_v1": True}}
    reply = pulp_server.api("POST", "repositories/", json=body)
    assert reply.status_code == 400, reply.text
    assert "enable_v1" in reply.text
    assert pulp_server.api("GET", f"repositories/{body['id']}/").status_code == 404
    body["importer_config"]["enable_v1"] = False
    assert pulp_server.api("POST", "repositories/", json=body).status_code == 201


def test_secrets_are_shown_as_stars(pulp_server, tmp_path) -> None:
    need("openssl")
    cert, key = make_pem_pair(tmp_path)
    secrets = {"basic_auth_password": "pw-1", "proxy_password": "pw-2", "ssl_client_key": key.read_text()}
    repo_id, _ = mirror(pulp_server, "https://127.0.0.1:1", "lib/app", basic_auth_username="u",
                        ssl_client_cert=cert.read_text(), ssl_ca_cert=cert.read_text(),
                        proxy_host="http://127.0.0.1", proxy_port=3128, proxy_username="pu", **secrets)
    reply = pulp_server.api("GET", f"repositories/{repo_id}/?details=true")
    assert reply.status_code == 200, reply.text
    config = reply.json()["importers"][0]["config"]
    for key_name in secrets:
        assert config[key_name] == "*****", (key_name, config[key_name])
    assert config["basic_auth_username"] == "u" and config["proxy_username"] == "pu"
    assert config["ssl_client_cert"] == cert.read_text()
    for value in secrets.values():
        assert value not in reply.text
    listed = pulp_server.api("GET", "repositories/?details=true")
    assert listed.status_code == 200 and all(v not in listed.text for v in secrets.values())
    mine = next(r for r in listed.json() if r["id"] == repo_id)
    assert all(mine["importers"][0]["config"][k] == "*****" for k in secrets)
    # An update that does not touch them keeps them (and its reply hides them too).
    updated = pulp_server.api("PUT", f"repositories/{repo_id}/", json={"importer_config": {"max_downloads": 2}})
    assert updated.status_code in (200, 202), updated.text
    assert all(v not in updated.text for v in secrets.values())
    config = pulp_server.api("GET", f"repositories/{repo_id}/?details=true").json()["importers"][0]["config"]
    assert config["max_downloads"] == 2 and all(config[k] == "*****" for k in secrets)
