"""Upload bytes handed over to a stream's staged files (``upload_holes``), in-process on a real filesystem.

What is handed over leaves a hole in the upload file (its blocks are given back) and a line in the
map; ``restore`` puts every byte back, after which the stream punches nothing more. Every reader of
the upload but the stream goes through ``restore`` first, so none of them ever reads a hole.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from pulp_platform import upload_holes, upload_streams
from pulp_platform.storage import ContentStore
from pulp_platform.upload_streams import StreamGone, UploadTail
from pulp_platform.uploads import Uploads

MiB = 1024 * 1024


def allocated(path: Path) -> int:
    return os.stat(path).st_blocks * 512


@pytest.fixture
def stream(tmp_path: Path, monkeypatch):
    """An upload of 3 MiB and a bit at an unaligned offset, a stream dir made as the server makes it."""
    monkeypatch.setattr(upload_streams, "HANDOVER_BYTES", 256 * 1024)
    uploads = Uploads(tmp_path / "uploads")
    upload_id = uploads.create()
    upload = uploads.path(upload_id)
    data = os.urandom(3 * MiB + 12345)
    upload.write_bytes(b"h" * 1000 + data + b"t" * 1000)
    content = tmp_path / "content"
    where = upload_streams.stream_dir(content, upload_id)
    where.parent.mkdir(parents=True)
    assert upload_streams._make_stream_dir(where)
    (where / "sealed").touch()
    tail = UploadTail(upload, where, threading.Event())
    yield tail, uploads, upload, where, data, ContentStore(content, staging_dir=where / "files")
    tail.close()


def test_staged_bytes_leave_holes_that_restore_fills(stream) -> None:
    tail, _uploads, upload, where, data, store = stream
    whole = upload.read_bytes()
    before = allocated(upload)
    staged = tail.stage_range(1000, len(data), store)
    assert staged.path.read_bytes() == data
    assert staged.digest == f"sha256:{hashlib.sha256(data).hexdigest()}" and staged.size == len(data)
    # Every whole block of the member is gone from the upload; the edge blocks, shared with the
    # header and the trailer, stay.
    assert before - allocated(upload) >= len(data) - 2 * 4096
    assert upload.read_bytes()[8192:16384] == bytes(8192)
    assert upload.stat().st_size == len(whole)
    lines = (where / upload_holes.MAP).read_text().splitlines()
    assert len(lines) > 1  # handed over piece by piece, not at the end

    assert upload_holes.restore(upload, where) is True
    assert upload.read_bytes() == whole
    assert staged.path.read_bytes() == data  # the stream's result stays good
    assert upload_holes.restore(upload, where) is False  # once


def test_after_a_restore_the_stream_punches_nothing_more(stream) -> None:
    tail, _uploads, upload, where, data, store = stream
    whole = upload.read_bytes()
    assert upload_holes.restore(upload, where) is False  # nothing handed over yet
    before = allocated(upload)
    staged = tail.stage_range(1000, len(data), store)
    assert staged.path.read_bytes() == data
    assert upload.read_bytes() == whole and allocated(upload) == before
    assert not tail.holes.on


def test_a_restore_that_fails_keeps_the_map_and_can_be_done_again(stream) -> None:
    tail, _uploads, upload, where, data, store = stream
    whole = upload.read_bytes()
    staged = tail.stage_range(1000, len(data), store)
    aside = staged.path.with_name("aside")
    staged.path.rename(aside)
    with pytest.raises(OSError):
        upload_holes.restore(upload, where)
    assert upload_holes.RESTORED not in (where / upload_holes.MAP).read_text().splitlines()
    aside.rename(staged.path)
    assert upload_holes.restore(upload, where) is True
    assert upload.read_bytes() == whole


def test_a_member_cut_short_leaves_its_staged_file_for_the_restore(stream) -> None:
    tail, _uploads, upload, where, data, store = stream
    whole = upload.read_bytes()
    with pytest.raises(StreamGone):
        tail.stage_range(1000, len(whole), store)  # claims more than the sealed upload holds
    assert allocated(upload) < len(whole) - MiB
    upload_holes.restore(upload, where)
    assert upload.read_bytes() == whole


def test_a_map_is_followed_only_by_what_made_it(tmp_path: Path) -> None:
    """A dir without a map (not a stream's) restores nothing and has nothing punched."""
    upload = tmp_path / "upload"
    upload.write_bytes(b"x" * 65536)
    where = tmp_path / "dir"
    where.mkdir()
    holes = upload_holes.Holes(upload, where)
    assert not holes.on
    holes.moved(0, 65536, "name", 0)
    holes.close()
    assert upload.read_bytes() == b"x" * 65536
    assert upload_holes.restore(upload, where) is False


def test_recovery_restores_an_unfinished_stream_and_keeps_a_finished_one(stream) -> None:
    tail, uploads, upload, where, data, store = stream
    whole = upload.read_bytes()
    tail.stage_range(1000, len(data), store)
    (where / "result.json").write_text("{}")
    assert upload_streams.recover(where, uploads) is False  # finished: its import takes it
    assert where.is_dir() and upload.read_bytes() != whole
    (where / "result.json").unlink()
    assert upload_streams.recover(where, uploads) is True
    assert not where.exists() and upload.read_bytes() == whole
