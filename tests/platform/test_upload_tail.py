"""``UploadTail`` in-process: it reads an upload at the pace it is written, and gives up when it must."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from pulp_platform import upload_streams
from pulp_platform.upload_streams import StreamGone, UploadTail


@pytest.fixture
def tail(tmp_path: Path):
    upload = tmp_path / "upload"
    upload.write_bytes(b"")
    where = tmp_path / "stream"
    where.mkdir()
    wake = threading.Event()
    reader = UploadTail(upload, where, wake)
    yield reader, upload, where, wake
    reader.close()


def test_a_read_waits_for_bytes_and_returns_what_is_there(tail) -> None:
    reader, upload, _where, wake = tail

    def write_later() -> None:
        time.sleep(0.1)
        with open(upload, "ab") as f:
            f.write(b"abc")
            f.flush()
            wake.set()
            time.sleep(0.1)
            f.write(b"def")
        wake.set()

    writer = threading.Thread(target=write_later)
    writer.start()
    assert reader.read(6) == b"abc"  # as a pipe does: what is there, without waiting for all six
    assert reader.read(6) == b"def"
    writer.join()


def test_a_read_by_position_waits_for_all_it_asks(tail) -> None:
    reader, upload, where, wake = tail

    def write_later() -> None:
        with open(upload, "ab") as f:
            for piece in (b"abc", b"def", b"ghi"):
                time.sleep(0.05)
                f.write(piece)
                f.flush()
                wake.set()

    writer = threading.Thread(target=write_later)
    writer.start()
    assert reader.read_at(2, 6) == b"cdefgh"  # whole, as from a file, though it came in three writes
    writer.join()
    (where / "sealed").touch()
    assert reader.read_at(7, 100) == b"hi"  # fewer only where the sealed upload ends
    assert reader.read_at(9, 1) == b""


def test_the_seal_makes_the_size_the_end(tail) -> None:
    reader, upload, where, _wake = tail
    upload.write_bytes(b"0123456789")
    assert reader.read(4) == b"0123"
    (where / "sealed").touch()
    assert reader.read(100) == b"456789"
    assert reader.read(100) == b""


def test_an_invalidated_or_deleted_stream_stops_the_reader(tail) -> None:
    reader, _upload, where, _wake = tail
    (where / "invalid").touch()
    with pytest.raises(StreamGone):
        reader.read(1)
    (where / "invalid").unlink()
    where.rmdir()
    with pytest.raises(StreamGone):
        reader.read(1)


def test_a_stalled_upload_is_given_up(tail, monkeypatch) -> None:
    reader, upload, _where, _wake = tail
    monkeypatch.setattr(upload_streams, "STALL_SECONDS", 0.2)
    upload.write_bytes(b"x")
    assert reader.read(2) == b"x"
    with pytest.raises(StreamGone, match="no new bytes"):
        reader.read(2)


def test_take_waits_for_a_stream_that_reads_and_not_for_one_that_stalled(tmp_path: Path, monkeypatch) -> None:
    content = tmp_path / "content"
    upload = tmp_path / "upload"
    upload.write_bytes(b"")
    where = upload_streams.stream_dir(content, "u1")
    (where / "files").mkdir(parents=True)
    (where / "files" / "staged").write_bytes(b"member")
    (where / "alive").touch()

    def finish_later() -> None:
        time.sleep(0.2)
        (where / "result.json").write_text('{"files": {}}')

    threading.Thread(target=finish_later).start()
    taken = upload_streams.take(content, "u1", upload, tmp_path / "task")
    assert taken is not None and taken.result == {"files": {}}
    assert taken.where == tmp_path / "task" / where.name
    assert taken.file("staged").read_bytes() == b"member"
    assert taken.file("staged").stat().st_ino == (where / "files" / "staged").stat().st_ino  # linked
    # The stream stays with the upload: another import takes it again.
    again = upload_streams.take(content, "u1", upload, tmp_path / "task2")
    assert again is not None and again.file("staged").read_bytes() == b"member"

    monkeypatch.setattr(upload_streams, "TAKE_STALL", 0.2)
    stalled = upload_streams.stream_dir(content, "u2")
    stalled.mkdir(parents=True)
    (stalled / "alive").touch()
    assert upload_streams.take(content, "u2", upload, tmp_path / "task") is None
    assert (stalled / "sealed").exists()


def test_a_nearly_full_disk_stops_the_reader(tail, monkeypatch) -> None:
    """The stream's copy is optional: it stops before eating the reserve the database needs."""
    reader, upload, _where, _wake = tail
    monkeypatch.setattr(upload_streams, "ROOM_CHECK_BYTES", 4)
    upload.write_bytes(b"0123456789")
    assert reader.read(2) == b"01"
    monkeypatch.setattr(upload_streams, "STREAM_MIN_FREE", 1 << 62)
    with pytest.raises(StreamGone, match="nearly full"):
        reader.read(4)
