"""Upload sessions: create, chunked PUTs at offsets, size, list, delete, and every refusal."""

from __future__ import annotations

import hashlib
import os

from platform_helpers import assert_error, unique


def test_upload_lifecycle(pulp_server):
    created = pulp_server.api("POST", "content/uploads/")
    assert created.status_code == 201, created.text
    upload_id = created.json()["upload_id"]
    href = f"/pulp/api/v2/content/uploads/{upload_id}/"
    assert created.json()["_href"] == href
    assert created.headers["Location"] == href

    first = pulp_server.api("PUT", f"content/uploads/{upload_id}/0/", data=b"hello ")
    assert first.status_code == 200 and first.json() is None
    assert pulp_server.api("PUT", f"content/uploads/{upload_id}/6/", data=b"world").status_code == 200
    # A resent chunk overwrites in place.
    assert pulp_server.api("PUT", f"content/uploads/{upload_id}/0/", data=b"HELLO ").status_code == 200
    info = pulp_server.api("GET", f"content/uploads/{upload_id}/").json()
    assert info["upload_id"] == upload_id and info["size"] == 11
    assert (pulp_server.data_dir / "uploads" / upload_id).read_bytes() == b"HELLO world"
    assert upload_id in pulp_server.api("GET", "content/uploads/").json()["upload_ids"]

    deleted = pulp_server.api("DELETE", f"content/uploads/{upload_id}/")
    assert deleted.status_code == 200 and deleted.json() is None
    assert upload_id not in pulp_server.api("GET", "content/uploads/").json()["upload_ids"]
    assert_error(pulp_server.api("GET", f"content/uploads/{upload_id}/"), 404, "PLP0009")
    assert not (pulp_server.data_dir / "uploads" / upload_id).exists()


def test_bad_offsets_are_400_and_write_nothing(pulp_server):
    upload_id = pulp_server.api("POST", "content/uploads/").json()["upload_id"]
    pulp_server.api("PUT", f"content/uploads/{upload_id}/0/", data=b"abc")
    for offset in ("4", "-1", "abc", "1.5"):
        body = assert_error(pulp_server.api("PUT", f"content/uploads/{upload_id}/{offset}/", data=b"zz"),
                            400, "PLP0015")
        assert "offset" in body["error_message"]
    assert pulp_server.api("GET", f"content/uploads/{upload_id}/").json()["size"] == 3
    # Appending exactly at the end is fine.
    assert pulp_server.api("PUT", f"content/uploads/{upload_id}/3/", data=b"d").status_code == 200
    assert pulp_server.api("GET", f"content/uploads/{upload_id}/").json()["size"] == 4


def test_unknown_or_malformed_upload_ids_are_404(pulp_server):
    for upload_id in ("6d1b0cd6-2b7e-4a3e-9a55-2a1c0d1f0000", "..", "not-an-id"):
        assert_error(pulp_server.api("PUT", f"content/uploads/{upload_id}/0/", data=b"x"), 404, "PLP0009")
        assert_error(pulp_server.api("GET", f"content/uploads/{upload_id}/"), 404, "PLP0009")
        assert_error(pulp_server.api("DELETE", f"content/uploads/{upload_id}/"), 404, "PLP0009")


def test_large_upload_streams_in_chunks_and_imports_intact(pulp_server, make_repo, tmp_path):
    path = tmp_path / "big.bin"
    data = os.urandom(3 * 1024 * 1024 + 123)
    path.write_bytes(data)
    upload_id = pulp_server.upload_file(path, chunk_size=1024 * 1024)
    assert pulp_server.api("GET", f"content/uploads/{upload_id}/").json()["size"] == len(data)
    repo_id = make_repo()
    task = pulp_server.import_upload(repo_id, upload_id, "test_file", unit_key={"name": unique("big")})
    assert task["state"] == "finished", task
    digest = task["result"]["details"]["unit"]["metadata"]["digest"]
    assert digest == "sha256:" + hashlib.sha256(data).hexdigest()
    hexdigest = digest.split(":")[1]
    stored = pulp_server.data_dir / "content" / "sha256" / hexdigest[:2] / hexdigest
    assert stored.read_bytes() == data
