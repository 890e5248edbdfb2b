"""A member's bytes written by the chunk writes straight into its staged file (``upload_claims``), in-process.

The chunks are written as ``put_chunk`` writes them (``UploadStreams.writer``), with a stream reading
one member of the upload. Once the stream has caught up, a chunk's bytes go to the staged file and the
upload keeps a hole, mapped; whatever else happens (a write from another process, a restore, a failed
write, an upload that ends early) the member comes out right or the stream gives up, and the upload
holds every byte it was sent once restored.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from pulp_platform import upload_holes, upload_streams
from pulp_platform.upload_streams import UploadStreams
from pulp_platform.uploads import Uploads

HEADER = 512
MEMBER = os.urandom(3 * 1024 * 1024 + 12345)
DATA = b"h" * HEADER + MEMBER + b"t" * 1024
CLAIMED_AT = HEADER + 1000  # where the first chunk ends, inside the member
CHUNK = 100_000  # no multiple of a block: a direct write's map line is told from a handed-over one


class OneMember:
    """A consumer that stages the one member and returns what it staged."""

    def claims(self, head: bytes) -> bool:
        return True

    def consume(self, tail, store) -> dict:
        staged = tail.stage_range(HEADER, len(MEMBER), store)
        return {"file": staged.path.name, "digest": staged.digest, "size": staged.size}


@pytest.fixture
def upload(tmp_path: Path):
    uploads = Uploads(tmp_path / "uploads")
    streams = UploadStreams(uploads, tmp_path / "content", [OneMember()])
    (tmp_path / "content" / "tmp").mkdir(parents=True)
    upload_id = uploads.create()
    yield streams, upload_id, uploads.path(upload_id), upload_streams.stream_dir(tmp_path / "content", upload_id)
    upload_streams.seal(tmp_path / "content", upload_id)  # a stream still reading stops


def write(streams: UploadStreams, upload_id: str, offset: int, data: bytes) -> None:
    writer = streams.writer(upload_id, offset)
    try:
        writer.write(memoryview(data))
    finally:
        writer.close()


def first_chunk_then_the_claim(streams: UploadStreams, upload_id: str) -> None:
    """The header and the member's first bytes; the stream reads them and claims the rest, at CLAIMED_AT."""
    write(streams, upload_id, 0, DATA[:CLAIMED_AT])
    wait_for(lambda: claimed(upload_id, at=CLAIMED_AT), "the stream did not claim the member")


def write_from(streams: UploadStreams, upload_id: str, start: int, end: int) -> None:
    for offset in range(start, end, CHUNK):
        write(streams, upload_id, offset, DATA[offset:min(offset + CHUNK, end)])


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


def claimed(upload_id: str, at: int | None = None) -> bool:
    """Whether the upload's stream has claimed what follows (at ``at``, if given)."""
    live = upload_streams._LIVE.get(upload_id)
    claim = live.claims.claim if live is not None else None
    return claim is not None and (at is None or claim.next == at)


def finished(where: Path) -> dict:
    wait_for(lambda: (where / "result.json").exists() or (where / "failed").exists(), "the stream did not end")
    assert not (where / "failed").exists(), (where / "failed").read_text()
    return json.loads((where / "result.json").read_text())


def map_lines(where: Path) -> list[tuple[int, int]]:
    lines = (where / upload_holes.MAP).read_text().splitlines()
    return [(int(line.split()[0]), int(line.split()[1])) for line in lines if line != upload_holes.RESTORED]


def assert_member_staged(where: Path, result: dict) -> None:
    assert result["digest"] == f"sha256:{hashlib.sha256(MEMBER).hexdigest()}"
    assert result["size"] == len(MEMBER)
    assert (where / "files" / result["file"]).read_bytes() == MEMBER


def test_bytes_after_the_stream_caught_up_go_straight_to_the_staged_file(upload) -> None:
    streams, upload_id, path, where = upload
    first_chunk_then_the_claim(streams, upload_id)
    write_from(streams, upload_id, CLAIMED_AT, len(DATA))
    upload_streams.seal(where.parent.parent, upload_id)
    assert_member_staged(where, finished(where))
    # The upload has its size, but the member's bytes after the first chunk were never written to it:
    # they are mapped, a line per chunk, and read as a hole.
    assert path.stat().st_size == len(DATA)
    assert path.stat().st_blocks * 512 <= 3 * 4096
    assert (CLAIMED_AT, CHUNK) in map_lines(where)
    with open(path, "rb") as hole:
        hole.seek(CLAIMED_AT + CHUNK)
        assert hole.read(4096) == bytes(4096)
    assert upload_holes.restore(path, where)
    assert path.read_bytes() == DATA


def test_bytes_written_by_another_process_end_the_claim_and_are_read_from_the_file(upload) -> None:
    streams, upload_id, path, where = upload
    first_chunk_then_the_claim(streams, upload_id)
    middle = CLAIMED_AT + 5 * CHUNK
    with open(path, "r+b") as other:  # as a chunk written by another API process: no claim seen
        other.seek(CLAIMED_AT)
        other.write(DATA[CLAIMED_AT:middle])
    # The stream reads them from the file, then claims again where they end.
    wait_for(lambda: claimed(upload_id, at=middle), "the stream did not read them and claim again")
    write_from(streams, upload_id, middle, len(DATA))
    upload_streams.seal(where.parent.parent, upload_id)
    assert_member_staged(where, finished(where))
    assert (middle, CHUNK) in map_lines(where)
    assert not [line for line in map_lines(where) if CLAIMED_AT <= line[0] < middle and line[1] % 4096]
    upload_holes.restore(path, where)
    assert path.read_bytes() == DATA


def test_after_a_restore_the_chunks_go_to_the_upload_again(upload) -> None:
    streams, upload_id, path, where = upload
    first_chunk_then_the_claim(streams, upload_id)
    middle = CLAIMED_AT + 5 * CHUNK
    write_from(streams, upload_id, CLAIMED_AT, middle)
    assert upload_holes.restore(path, where)  # as a chunk that overlaps, or an import reading the file
    assert path.read_bytes() == DATA[:middle]
    write_from(streams, upload_id, middle, len(DATA))
    upload_streams.seal(where.parent.parent, upload_id)
    assert_member_staged(where, finished(where))
    assert path.read_bytes() == DATA  # nothing mapped after the restore: every byte went to the upload


def test_a_write_the_staged_file_refuses_fails_the_chunk_and_the_stream(upload) -> None:
    streams, upload_id, path, where = upload
    first_chunk_then_the_claim(streams, upload_id)
    middle = CLAIMED_AT + 2 * CHUNK
    write_from(streams, upload_id, CLAIMED_AT, middle)
    claim = upload_streams._LIVE[upload_id].claims.claim
    claim.fd = os.open(os.devnull, os.O_RDONLY)  # the staged file's disk fails
    try:
        with pytest.raises(OSError):
            write(streams, upload_id, middle, DATA[middle:middle + CHUNK])
    finally:
        os.close(claim.fd)
    assert path.stat().st_size == middle  # the chunk's request fails: the client sends it again
    wait_for(lambda: (where / "failed").exists(), "the stream did not give up")
    assert "staged file failed" in (where / "failed").read_text()
    wait_for(lambda: upload_id not in upload_streams._LIVE, "the stream did not end")
    assert path.read_bytes() == DATA[:middle]  # restored: the import reads the upload itself
    assert not (where / "files").exists()


def test_an_upload_that_ends_inside_the_claimed_member_fails_the_stream(upload) -> None:
    streams, upload_id, path, where = upload
    first_chunk_then_the_claim(streams, upload_id)
    short = CLAIMED_AT + 3 * CHUNK
    write_from(streams, upload_id, CLAIMED_AT, short)
    upload_streams.seal(where.parent.parent, upload_id)
    wait_for(lambda: (where / "failed").exists(), "the stream did not give up")
    assert "inside a member" in (where / "failed").read_text()
    wait_for(lambda: upload_id not in upload_streams._LIVE, "the stream did not end")
    assert path.read_bytes() == DATA[:short]


def test_an_upload_beyond_max_streams_gets_no_stream_and_keeps_every_byte(upload, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``MAX_STREAMS`` streams reading, another upload is left whole for its import to read."""
    monkeypatch.setattr(upload_streams, "MAX_STREAMS", 1)
    streams, first_id, _path, where = upload
    first_chunk_then_the_claim(streams, first_id)  # the one stream allowed
    second_id = streams.uploads.create()
    second = streams.uploads.path(second_id)
    write_from(streams, second_id, 0, len(DATA))
    assert not upload_streams.stream_dir(tmp_path / "content", second_id).exists()
    assert second.read_bytes() == DATA  # written, not claimed: nothing is a hole
    assert upload_streams.take(tmp_path / "content", second_id, second, tmp_path / "import") is None
    # The first stream was not disturbed by it.
    write_from(streams, first_id, CLAIMED_AT, len(DATA))
    upload_streams.seal(where.parent.parent, first_id)
    assert_member_staged(where, finished(where))
