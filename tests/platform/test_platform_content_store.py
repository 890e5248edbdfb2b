"""The content store on its own: staging from streams and from file ranges, commit, refusal of bad digests."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from pulp_platform.storage import ContentStore, DigestError, TooLarge


class Range:
    """Bytes lying inside another file, as an uncompressed tar member does."""

    def __init__(self, path, offset: int, size: int) -> None:
        self.fd = os.open(path, os.O_RDONLY)
        self.offset, self.size = offset, size

    def file_range(self):
        return self.fd, self.offset, self.size


def sha(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def test_stage_stream_and_range_give_the_same_file(tmp_path) -> None:
    store = ContentStore(tmp_path / "content")
    payload = os.urandom(3 * 1024 * 1024 + 17)
    container = tmp_path / "upload.tar"
    container.write_bytes(b"H" * 512 + payload + b"T" * 100)
    from_stream = store.stage(io.BytesIO(payload))
    from_range = store.stage(Range(container, 512, len(payload)))
    for staged in (from_stream, from_range):
        assert staged.digest == sha(payload) and staged.size == len(payload)
        assert staged.path.read_bytes() == payload
    assert store.commit(from_range) is True
    assert store.commit(from_stream) is False  # already in place: the second copy is dropped
    assert store.path(sha(payload)).read_bytes() == payload
    assert list(store.tmp.iterdir()) == []


def test_limits_leave_nothing_staged(tmp_path) -> None:
    store = ContentStore(tmp_path / "content")
    with pytest.raises(TooLarge):
        store.stage(io.BytesIO(b"x" * 100), limit=10)
    container = tmp_path / "f"
    container.write_bytes(b"x" * 100)
    with pytest.raises(TooLarge):
        store.stage(Range(container, 0, 100), limit=10)
    with pytest.raises(EOFError):
        store.stage(Range(container, 50, 100))  # a range past the end of its file
    assert list(store.tmp.iterdir()) == []


@pytest.mark.parametrize("digest", ["sha256:../../etc/passwd", "sha256:" + "A" * 64, "md5:" + "0" * 32, "", None])
def test_bad_digests_never_become_paths(tmp_path, digest) -> None:
    with pytest.raises(DigestError):
        ContentStore(tmp_path).path(digest)
