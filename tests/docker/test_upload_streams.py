"""Tarballs read while their chunks arrive (``pulp_platform.upload_streams``), against a real server.

The import then only commits what the stream staged; the task report says so
(``read_while_uploading``). Every way the stream cannot be trusted must fall back to reading the
upload file, with the same result, and bad input must be refused exactly as before.
"""

from __future__ import annotations

import gzip
import json
import tarfile
import time
import uuid
from pathlib import Path

import pytest
from leftovers import staging_leftovers
from tarballs import DATA, truncated

FACTS = json.loads((DATA / "FACTS.json").read_text())
FIXTURE = DATA / "skopeo-v2s2.tar"


def new_repo(server) -> str:
    repo_id = f"s-{uuid.uuid4().hex[:10]}"
    server.create_repo(repo_id)
    return repo_id


def create_upload(server) -> str:
    response = server.api("POST", "content/uploads/")
    assert response.status_code == 201, response.text
    return response.json()["upload_id"]


def put(server, upload_id: str, offset: int, data: bytes) -> None:
    response = server.api("PUT", f"content/uploads/{upload_id}/{offset}/", data=data)
    assert response.status_code == 200, response.text


def import_it(server, repo_id: str, upload_id: str, tag: str = "latest") -> dict:
    try:
        return server.import_upload(repo_id, upload_id, "docker_manifest", {}, {"tag": tag})
    finally:
        server.api("DELETE", f"content/uploads/{upload_id}/")


def chunks(data: bytes, size: int) -> list[tuple[int, bytes]]:
    return [(offset, data[offset:offset + size]) for offset in range(0, len(data), size)]


def stream_dirs(server) -> list[Path]:
    return sorted((server.data_dir / "content" / "tmp").glob("stream-*"))


def finished_stream(server, upload_id: str) -> Path:
    """The upload's stream dir, once its stream has read the upload to its end (at most 10 s)."""
    where = next(d for d in stream_dirs(server) if upload_id in d.name)
    deadline = time.monotonic() + 10
    while not (where / "result.json").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (where / "result.json").exists(), "the stream did not finish"
    return where


def imported(task: dict, streamed: bool) -> dict:
    assert task["state"] == "finished", task.get("error") or task
    details = task["result"]["details"]
    assert details["read_while_uploading"] is streamed, details
    return details


@pytest.mark.parametrize("compress", [False, True], ids=["tar", "tar.gz"])
def test_a_tarball_is_read_while_it_arrives(pulp_server, compress: bool) -> None:
    data = FIXTURE.read_bytes()
    if compress:
        data = gzip.compress(data, compresslevel=1)
    repo_id, upload_id = new_repo(pulp_server), create_upload(pulp_server)
    for offset, chunk in chunks(data, 64 * 1024):
        put(pulp_server, upload_id, offset, chunk)
    details = imported(import_it(pulp_server, repo_id, upload_id), streamed=True)
    assert details["images"][0]["digest"] == FACTS["skopeo-v2s2.tar"]["manifest_digest_of_file_bytes"]
    assert not [d for d in stream_dirs(pulp_server) if upload_id in d.name]


def test_a_resent_chunk_keeps_the_stream(pulp_server) -> None:
    """A client resuming after a lost answer sends a chunk again: same bytes, nothing rewritten."""
    data = FIXTURE.read_bytes()
    repo_id, upload_id = new_repo(pulp_server), create_upload(pulp_server)
    pieces = chunks(data, 32 * 1024)
    for index, (offset, chunk) in enumerate(pieces):
        put(pulp_server, upload_id, offset, chunk)
        if index in (1, 3):
            put(pulp_server, upload_id, offset, chunk)             # the whole chunk again
            put(pulp_server, upload_id, offset + 100, chunk[100:])  # or its tail, from inside it
    imported(import_it(pulp_server, repo_id, upload_id), streamed=True)


def test_a_rewritten_range_falls_back_to_the_upload_file(pulp_server) -> None:
    """Different bytes over what the stream has read: its result (of the first tarball) must not be
    used; the import reads the file, which holds the second."""
    first, second = (DATA / "skopeo-v2s2.tar").read_bytes(), (DATA / "skopeo-oci.tar").read_bytes()
    repo_id, upload_id = new_repo(pulp_server), create_upload(pulp_server)
    for offset, chunk in chunks(first, 64 * 1024):
        put(pulp_server, upload_id, offset, chunk)
    finished_stream(pulp_server, upload_id)  # the stream read the first tarball to its end
    for offset, chunk in chunks(second, 64 * 1024):
        put(pulp_server, upload_id, offset, chunk)
    details = imported(import_it(pulp_server, repo_id, upload_id), streamed=False)
    assert details["images"][0]["digest"] == FACTS["skopeo-oci.tar"]["manifest_digest_of_file_bytes"]


def test_bytes_written_by_another_process_are_read_from_the_file(pulp_server) -> None:
    """Another API process sharing the upload dir appends chunks this one never sees: the stream finds
    them in the upload file (and the import seals it)."""
    data = FIXTURE.read_bytes()
    repo_id, upload_id = new_repo(pulp_server), create_upload(pulp_server)
    put(pulp_server, upload_id, 0, data[:16 * 1024])
    with open(pulp_server.data_dir / "uploads" / upload_id, "r+b") as other_process:
        other_process.seek(16 * 1024)
        other_process.write(data[16 * 1024:])
    imported(import_it(pulp_server, repo_id, upload_id), streamed=True)


def test_an_upload_cut_short_is_refused_as_before_and_leaves_nothing(pulp_server) -> None:
    repo_id, upload_id = new_repo(pulp_server), create_upload(pulp_server)
    for offset, chunk in chunks(truncated("skopeo-v2s2.tar"), 64 * 1024):
        put(pulp_server, upload_id, offset, chunk)
    task = import_it(pulp_server, repo_id, upload_id)
    assert task["state"] == "error" and task["error"]["code"] == "DKR1030", task
    assert pulp_server.api("GET", f"repositories/{repo_id}/").json()["content_unit_counts"] == {}
    assert not staging_leftovers(pulp_server)


def test_one_upload_imported_twice_takes_the_stream_twice(pulp_server) -> None:
    """The stream's files stay with the upload (its holes are mapped to them): the second import of it
    takes them again; the third, after a chunk is resent, reads the upload, which has its bytes back."""
    data = FIXTURE.read_bytes()
    repos, upload_id = [new_repo(pulp_server) for _ in range(3)], create_upload(pulp_server)
    for offset, chunk in chunks(data, 64 * 1024):
        put(pulp_server, upload_id, offset, chunk)
    for repo_id, tag in zip(repos[:2], "ab", strict=True):
        details = imported(pulp_server.import_upload(repo_id, upload_id, "docker_manifest", {}, {"tag": tag}),
                           streamed=True)
        assert details["images"][0]["digest"] == FACTS["skopeo-v2s2.tar"]["manifest_digest_of_file_bytes"]
    put(pulp_server, upload_id, 0, data[:1024])  # the same bytes: the upload is restored, the stream kept
    assert (pulp_server.data_dir / "uploads" / upload_id).read_bytes() == data
    details = imported(import_it(pulp_server, repos[2], upload_id, tag="c"), streamed=True)
    assert details["images"][0]["digest"] == FACTS["skopeo-v2s2.tar"]["manifest_digest_of_file_bytes"]


def test_the_upload_gives_up_what_the_stream_staged(pulp_server) -> None:
    """A member's bytes are on disk once: in its staged file, with a hole in the upload where they were."""
    data = FIXTURE.read_bytes()
    repo_id, upload_id = new_repo(pulp_server), create_upload(pulp_server)
    for offset, chunk in chunks(data, 64 * 1024):
        put(pulp_server, upload_id, offset, chunk)
    where = finished_stream(pulp_server, upload_id)
    upload = pulp_server.data_dir / "uploads" / upload_id
    layer = max(member.size for member in tarfile.open(FIXTURE).getmembers())
    assert upload.stat().st_size == len(data)
    assert upload.stat().st_blocks * 512 <= len(data) - layer + 2 * 4096  # its whole blocks are gone
    assert (where / "moved").read_text().strip()
    imported(import_it(pulp_server, repo_id, upload_id), streamed=True)


@pytest.mark.parametrize("head", [b'{"schemaVersion": 2}', b"a text file for another importer\n" * 40],
                         ids=["manifest", "text"])
def test_an_upload_that_is_no_tarball_starts_no_stream(pulp_server, head: bytes) -> None:
    """Uploads have no type until their import: only one that starts as a tar (or compressed) is read."""
    upload_id = create_upload(pulp_server)
    put(pulp_server, upload_id, 0, head)
    time.sleep(0.1)
    assert not [d for d in stream_dirs(pulp_server) if upload_id in d.name]
    pulp_server.api("DELETE", f"content/uploads/{upload_id}/")


def test_deleting_an_upload_stops_its_stream_and_removes_what_it_staged(pulp_server) -> None:
    data = FIXTURE.read_bytes()
    upload_id = create_upload(pulp_server)
    put(pulp_server, upload_id, 0, data[: len(data) // 2])
    assert [d for d in stream_dirs(pulp_server) if upload_id in d.name]
    assert pulp_server.api("DELETE", f"content/uploads/{upload_id}/").status_code == 200
    deadline = time.monotonic() + 10
    while [d for d in stream_dirs(pulp_server) if upload_id in d.name] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [d for d in stream_dirs(pulp_server) if upload_id in d.name]
