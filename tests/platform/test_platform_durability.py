"""Acknowledged means durable: every write is journaled, so what a client was told survives a kill -9."""

from __future__ import annotations

import signal
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pymongo
import pytest
from platform_helpers import unique, units

from pulp_platform import db, upload_streams
from pulp_platform.config import Settings

SKOPEO_TAR = Path(__file__).resolve().parents[1] / "data" / "skopeo-v2s2.tar"


def test_every_connection_asks_for_journaled_writes() -> None:
    assert db.write_concern("mongodb://127.0.0.1:27017/pulp") == {"w": 1, "journal": True}
    assert db.write_concern("mongodb://a:27017,b:27017/pulp?replicaSet=rs0") == {"w": "majority"}
    assert db.write_concern("mongodb://a:27017/pulp?w=2") == {"w": 2, "journal": True}
    with pytest.raises(ValueError, match="w=0"):
        db.write_concern("mongodb://127.0.0.1:27017/pulp?w=0")


@pytest.mark.slow
def test_acknowledged_writes_survive_a_kill_9_of_the_database(tmp_path: Path) -> None:
    """Each insert is acknowledged, then the database process is killed at once: none may be missing."""
    settings = replace(Settings(), data_dir=tmp_path)
    first = db.EmbeddedDatabase(settings)
    uri = first.start()
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(uri, **db.write_concern(uri))
    try:
        collection = client.get_default_database()["acknowledged"]
        for i in range(500):
            collection.insert_one({"_id": i, "pad": "x" * 500})
        assert first.process is not None
        first.process.send_signal(signal.SIGKILL)
        first.process.wait()
    finally:
        client.close()
    again = db.EmbeddedDatabase(settings)
    uri = again.start()
    client = pymongo.MongoClient(uri)
    try:
        assert client.get_default_database()["acknowledged"].count_documents({}) == 500
    finally:
        client.close()
        again.stop()


@pytest.mark.slow
def test_a_finished_import_survives_a_kill_9_right_after_it_was_seen(start_pulp_server, crash_tools: Any) -> None:
    server = start_pulp_server()
    repo_id = unique()
    server.create_repo(repo_id)
    task = server.import_upload(repo_id, server.upload_file(SKOPEO_TAR), "docker_image",
                                unit_metadata={"tag": "latest"})
    assert task["state"] == "finished", task
    crash_tools.kill(server)  # the database too, 0 s after the client saw "finished"

    server = crash_tools.restart(server)
    try:
        after = server.api("GET", f"tasks/{task['task_id']}/")
        assert after.status_code == 200 and after.json()["state"] == "finished"
        tags = [u["metadata"] for u in units(server, repo_id, {"type_ids": ["docker_tag"]})]
        assert [(t["name"], t["manifest_digest"]) for t in tags] == [("latest", task["result"]["summary"]
                                                                      ["manifest_digest"])]
    finally:
        server.stop()


def test_acknowledged_chunks_a_stream_staged_survive_a_kill_9(start_pulp_server, crash_tools: Any) -> None:
    """Chunks whose bytes went straight into a stream's staged files (``upload_claims``), never into the
    upload file, are whole in the upload after a kill -9 and a restart: the rest is sent and imported."""
    data = SKOPEO_TAR.read_bytes()
    server = start_pulp_server()
    upload_id = server.api("POST", "content/uploads/").json()["upload_id"]
    # The first chunk ends inside the big layer (bytes 2048..35545); once the stream has staged what
    # there is of it, it claims the rest, and the later chunks' bytes go to its staged file.
    first, half = 3000, len(data) // 2
    assert server.api("PUT", f"content/uploads/{upload_id}/0/", data=data[:first]).status_code == 200
    staged = upload_streams.stream_dir(server.settings.content_path, upload_id) / "files"
    deadline = time.monotonic() + 10
    while not any(f.stat().st_size == first - 2048 for f in staged.glob("*")):
        assert time.monotonic() < deadline, "the stream did not catch up with the first chunk"
        time.sleep(0.005)
    for offset in range(first, half, 4096):
        chunk = data[offset:min(offset + 4096, half)]
        assert server.api("PUT", f"content/uploads/{upload_id}/{offset}/", data=chunk).status_code == 200
    upload = server.data_dir / "uploads" / upload_id
    assert upload.stat().st_blocks * 512 < half // 2  # most of it is in the stream's staged files
    crash_tools.kill(server)

    server = crash_tools.restart(server)
    try:
        assert server.api("GET", f"content/uploads/{upload_id}/").json()["size"] == half
        assert upload.read_bytes() == data[:half]  # every acknowledged byte back in the upload file
        assert server.api("PUT", f"content/uploads/{upload_id}/{half}/", data=data[half:]).status_code == 200
        repo_id = unique()
        server.create_repo(repo_id)
        task = server.import_upload(repo_id, upload_id, "docker_image", unit_metadata={"tag": "latest"})
        assert task["state"] == "finished", task
    finally:
        server.stop()
