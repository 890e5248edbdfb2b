"""``pulp-admin docker repo create|update`` feed options and ``docker repo sync run|status``, against the real server.

The upstream is the same server: an image uploaded into one repository (published under its name) is
synced into another over the registry API.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from admin_runner import Admin
from tarballs import DATA


def _importer(server: Any, repo_id: str) -> dict:
    return server.api("GET", f"repositories/{repo_id}/?details=true").json()["importers"][0]


def _upstream(server: Any) -> str:
    name = f"up-{uuid.uuid4().hex[:8]}"
    server.create_repo(name)
    upload_id = server.upload_file(DATA / "skopeo-v2s2.tar")
    task = server.import_upload(name, upload_id, "docker_manifest", unit_metadata={"tag": "1.0"})
    assert task["state"] == "finished", task
    return name


def test_create_and_update_take_every_feed_option(admin: Admin, docker_server, tmp_path) -> None:
    repo_id = f"r-{uuid.uuid4().hex[:8]}"
    ca, cert, key = (tmp_path / n for n in ("ca.pem", "cert.pem", "key.pem"))
    for path in (ca, cert, key):
        path.write_text(f"-----BEGIN {path.stem.upper()}-----\n")
    admin.ok("docker", "repo", "create", "--repo-id", repo_id, "--feed", "https://registry.example.com",
             "--upstream-name", "library/app", "--tags", "1.0,latest", "--enable-v1", "false", "--enable-v2", "true",
             "--feed-ca-cert", str(ca), "--verify-feed-ssl", "true", "--feed-cert", str(cert), "--feed-key", str(key),
             "--basicauth-user", "me", "--basicauth-pass", "secret", "--proxy-host", "http://proxy.example.com",
             "--proxy-port", "3128", "--proxy-user", "p", "--proxy-pass", "pp", "--max-downloads", "3",
             "--remove-missing", "true")
    config = _importer(docker_server, repo_id)["config"]
    assert config == {
        "feed": "https://registry.example.com", "upstream_name": "library/app", "tags": ["1.0", "latest"],
        "enable_v1": False, "enable_v2": True, "ssl_ca_cert": "-----BEGIN CA-----\n", "ssl_validation": True,
        "ssl_client_cert": "-----BEGIN CERT-----\n", "ssl_client_key": "*****", "basic_auth_username": "me",
        "basic_auth_password": "*****", "proxy_host": "http://proxy.example.com", "proxy_port": 3128,
        "proxy_username": "p", "proxy_password": "*****", "max_downloads": 3, "remove_missing": True}
    admin.ok("docker", "repo", "update", "--repo-id", repo_id, "--tags", "", "--upstream-name", "library/other")
    config = _importer(docker_server, repo_id)["config"]
    assert "tags" not in config and config["upstream_name"] == "library/other"
    admin.fails("docker", "repo", "create", "--repo-id", f"{repo_id}-v1", "--feed", "https://x.example.com",
                "--enable-v1", "true", code=65, says="enable_v1")


def test_sync_run_mirrors_the_upstream_and_reports_each_step(admin: Admin, docker_server) -> None:
    upstream = _upstream(docker_server)
    repo_id = f"r-{uuid.uuid4().hex[:8]}"
    admin.ok("docker", "repo", "create", "--repo-id", repo_id, "--feed", docker_server.url,
             "--upstream-name", upstream)
    out = admin.ok("docker", "repo", "sync", "run", "--repo-id", repo_id)
    assert "Downloading manifests: finished (1/1)" in out
    assert "Saving manifests and blobs: finished (1/1)" in out
    assert "Sync finished: 1 tags updated (1.0)" in out
    tags = admin.json("docker", "repo", "search", "tag", "--repo-id", repo_id)
    assert [t["metadata"]["name"] for t in tags] == ["1.0"]
    assert "Task " in admin.ok("docker", "repo", "sync", "status", "--repo-id", repo_id)
    queued = admin.ok("docker", "repo", "sync", "run", "--repo-id", repo_id, "--bg")
    assert queued.splitlines()[0] == "The request has been queued on the server."
    task_id = re.search(r"^Task (\S+) is running in the background", queued, re.M).group(1)
    assert docker_server.wait_task(task_id)["state"] == "finished"


def test_a_failing_sync_exits_non_zero_with_one_line(admin: Admin, docker_server) -> None:
    repo_id = f"r-{uuid.uuid4().hex[:8]}"
    admin.ok("docker", "repo", "create", "--repo-id", repo_id, "--feed", "http://127.0.0.1:9",
             "--upstream-name", "nothing/here")
    result = admin.run("docker", "repo", "sync", "run", "--repo-id", repo_id)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "DKR1043" in errors[0], result.stderr
