"""A full disk is an error, not an outage: a server whose data dir is on a small tmpfs, filled up.

Uploads and registry blob uploads answer 507 with an error body (Pulp's, or the registry's) instead of
a reset connection; an import that cannot be queued or run fails with a clear error; once space is
freed, the same server imports and serves again without a restart (task dispatch recovers), and
``status/`` says how much space there is. Needs root for the tmpfs mount (CI runs as root).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import imagegen
import pytest
import requests
from platform_helpers import assert_error

TMPFS_SIZE = "160m"
MiB = 1024 * 1024
IMAGE_SIZE = 40 * MiB
LEFT = 8 * MiB  # under diskspace.RESERVE_BYTES


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    where = tmp_path / "fs"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def server_on_small_disk(small_disk: Path, start_pulp_server) -> Any:
    server = start_pulp_server(base=small_disk / "srv")
    yield server
    server.stop()  # before the tmpfs goes


def fill(disk: Path, leave: int) -> Path:
    """Write zeros into one file until only ``leave`` bytes of the filesystem are free; returns it."""
    filler = disk / "filler"
    block = b"\0" * MiB
    with open(filler, "wb", buffering=0) as out:
        while shutil.disk_usage(disk).free > leave + MiB:
            out.write(block)
        rest = shutil.disk_usage(disk).free - leave
        if rest > 0:
            out.write(b"\0" * rest)
    return filler


def upload(server: Any, data: bytes | Path, *, chunked: bool = False) -> tuple[str, requests.Response]:
    upload_id = server.api("POST", "content/uploads/", json={}).json()["upload_id"]
    body = data.read_bytes() if isinstance(data, Path) else data
    payload = (body[i:i + 65536] for i in range(0, len(body), 65536)) if chunked else body
    reply = server.api("PUT", f"content/uploads/{upload_id}/0/", data=payload)
    return upload_id, reply


def import_upload(server: Any, repo_id: str, upload_id: str) -> requests.Response:
    return server.api("POST", f"repositories/{repo_id}/actions/import_upload/",
                      json={"upload_id": upload_id, "unit_type_id": "docker_manifest", "unit_key": {},
                            "unit_metadata": {"tag": "1.0"}})


@pytest.mark.slow
def test_a_full_disk_is_an_error_and_the_server_recovers_when_space_is_freed(server_on_small_disk, small_disk,
                                                                            tmp_path):
    server = server_on_small_disk
    repo_id = f"full-{uuid.uuid4().hex[:8]}"
    server.create_repo(repo_id)
    before = server.api("GET", "status/").json()["storage"]["content"]
    assert 0 < before["free_bytes"] <= before["total_bytes"], before
    # An image bigger than what will be left, uploaded while there is room and imported once there is not.
    manifest_digest = imagegen.make_image(tmp_path / "big", IMAGE_SIZE, seed=7)
    tarball = imagegen.tar_dir(tmp_path / "big", tmp_path / "big.tar")
    ready, reply = upload(server, tarball)
    assert reply.status_code == 200, reply.text
    # Its first block rewritten with other bytes, then back: the stream that read it as it arrived is
    # invalid, so the import must stage every byte itself (a streamed one would only rename).
    head = tarball.read_bytes()[:512]
    for block in (b"\1" * 512, head):
        assert server.api("PUT", f"content/uploads/{ready}/0/", data=block).status_code == 200

    # Less than the reserve left: client uploads are refused; the database and the broker keep room.
    filler = fill(small_disk, LEFT)
    assert server.api("GET", "status/").json()["storage"]["content"]["free_bytes"] <= LEFT

    # A chunk that declares its length is refused before a byte is written ...
    _, declared = upload(server, os.urandom(2 * MiB))
    assert_error(declared, 507, "PLP0051")
    # ... and one that does not (chunked transfer) is stopped while it streams.
    _, streamed = upload(server, os.urandom(3 * LEFT // 2), chunked=True)
    assert_error(streamed, 507, "PLP0051")

    # The registry: a monolithic blob upload gets the registry's error body, not a reset.
    blob = os.urandom(2 * MiB)
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    pushed = requests.post(f"{server.url}/v2/full/app/blobs/uploads/?digest={digest}", data=blob,
                           auth=server.auth, timeout=60)
    assert pushed.status_code == 507, pushed.text
    assert pushed.json()["errors"][0]["code"] == "UNKNOWN", pushed.text

    # The import is queued, and fails with the disk's error, leaving its staged files behind it.
    attempt = import_upload(server, repo_id, ready)
    assert attempt.status_code == 202, attempt.text
    task = server.wait_task(attempt.json())
    assert task["state"] == "error", task
    assert "space" in task["error"]["description"].lower(), task["error"]
    assert server.api("GET", f"repositories/{repo_id}/").json()["content_unit_counts"] == {}

    filler.unlink()
    # The same server, no restart: the import runs and the image is served.
    again = import_upload(server, repo_id, ready)
    assert again.status_code == 202, again.text
    task = server.wait_task(again.json())
    assert task["state"] == "finished", (task.get("error"), server.log_tail())
    served = requests.get(f"{server.url}/v2/{repo_id}/manifests/1.0", timeout=30,
                          headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    assert served.status_code == 200, served.text
    assert served.headers["Docker-Content-Digest"] == manifest_digest


@pytest.mark.slow
def test_task_dispatch_recovers_after_the_brokers_disk_was_full(pulp_server, small_disk, start_pulp_server, tmp_path):
    """The database elsewhere (another database on the shared server's), the data dir with the embedded
    broker's SQLite file on the small disk, filled to the last byte: an import cannot be queued (507),
    and once space is freed the next one is queued and runs on the same connection pool."""
    database = f"pulp_diskfull_{uuid.uuid4().hex[:8]}"
    server = start_pulp_server(base=small_disk / "srv", mongo_uri=pulp_server.mongo_uri.replace(
        "/pulp_database", f"/{database}"))
    try:
        repo_id = f"full-{uuid.uuid4().hex[:8]}"
        server.create_repo(repo_id)
        manifest_digest = imagegen.make_image(tmp_path / "img", MiB, seed=8)
        ready, reply = upload(server, imagegen.tar_dir(tmp_path / "img", tmp_path / "img.tar"))
        assert reply.status_code == 200, reply.text
        filler = fill(small_disk, 0)
        for _ in range(2):  # a second try must not meet a broken pool either
            refused = import_upload(server, repo_id, ready)
            assert_error(refused, 507, "PLP0051")
        filler.unlink()
        again = import_upload(server, repo_id, ready)
        assert again.status_code == 202, again.text
        task = server.wait_task(again.json())
        assert task["state"] == "finished", (task.get("error"), server.log_tail())
        assert task["result"]["summary"]["manifest_digest"] == manifest_digest, task["result"]
    finally:
        server.stop()
