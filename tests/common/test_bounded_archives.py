"""Tarball bombs fed to the walker in-process: each is refused, and the walk's peak memory stays small.

The bombs are written as streams (a few hundred KB on disk each): a member of zeros that inflates to
512 MiB in each compression, 1,100 members of 2 MiB, 20,000 empty members, a 512 MiB pax header,
128 KiB of digits in a pax header (CVE-2024-6232), a 512 MiB GNU long name, and decompressors asking
for a 1 GiB window. Members are spooled into a real content store's staging dir, as the server does,
and nothing may be left there. Memory is the process's peak RSS (VmHWM, reset through
``/proc/self/clear_refs`` before each walk), never time.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import shutil
import struct
import tarfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pytest
import zstandard

from pulp_docker.common.error_codes import DockerError
from pulp_docker.common.tar_limits import TarLimits
from pulp_docker.common.tarball import walk
from pulp_platform.config import Settings
from pulp_platform.storage import ContentStore

MiB = 1024 * 1024
# The walk holds a few 1 MiB buffers (tarfile's, the decompressor's, the spool's): far below this.
MEMORY_CEILING = 64 * MiB
BLOB_NAME = "ab" * 32
WRITERS: dict[str, Callable[[BinaryIO], BinaryIO]] = {
    "gzip": lambda f: gzip.GzipFile(fileobj=f, mode="wb", compresslevel=6, mtime=0),  # type: ignore[dict-item]
    "bzip2": lambda f: bz2.BZ2File(f, "wb"),  # type: ignore[dict-item]
    "xz": lambda f: lzma.LZMAFile(f, "wb", preset=0),  # type: ignore[dict-item]
    "zstd": lambda f: zstandard.ZstdCompressor(write_content_size=False).stream_writer(f, closefd=False),
}


# -- bombs, written as streams ---------------------------------------------------------------------------

def header(name: str, size: int, kind: bytes = tarfile.REGTYPE) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.mode = size, kind, 0o644
    return info.tobuf(format=tarfile.GNU_FORMAT)  # base-256 sizes past 8 GiB; no pax of tarfile's own


def zeros(out: BinaryIO, size: int) -> None:
    chunk = bytes(MiB)
    for offset in range(0, size, MiB):
        out.write(chunk[: min(MiB, size - offset)])
    out.write(bytes(-size % 512))


def extended(out: BinaryIO, kind: bytes, data: bytes | int) -> None:
    """A pax (``x``) or GNU long-name (``L``) header: ``data``, or that many zero bytes."""
    size = data if isinstance(data, int) else len(data)
    out.write(header("././@PaxHeader" if kind == tarfile.XHDTYPE else "././@LongLink", size, kind))
    if isinstance(data, int):
        zeros(out, data)
    else:
        out.write(data + bytes(-size % 512))


def bomb(path: Path, codec: str | None, write: Callable[[BinaryIO], None]) -> Path:
    """Write a tar through ``codec`` (None: plain) to ``path``, streaming; ends with the end-of-archive blocks."""
    with open(path, "wb") as raw:
        out = WRITERS[codec](raw) if codec else raw
        write(out)
        out.write(bytes(1024))
        if codec:
            out.close()
    return path


def zero_member(size: int) -> Callable[[BinaryIO], None]:
    def write(out: BinaryIO) -> None:
        out.write(header(BLOB_NAME, size))
        zeros(out, size)
    return write


def many_members(count: int, size: int) -> Callable[[BinaryIO], None]:
    def write(out: BinaryIO) -> None:
        for number in range(count):
            out.write(header(f"{number:064x}", size))
            zeros(out, size)
    return write


def then_a_file(kind: bytes, data: bytes | int) -> Callable[[BinaryIO], None]:
    def write(out: BinaryIO) -> None:
        extended(out, kind, data)
        out.write(header("version", 2))
        out.write(b"1\n" + bytes(510))
    return write


def big_window(path: Path, codec: str) -> Path:
    """A 512 MiB member of zeros whose stream header asks for a 1 GiB (xz) or 2 GiB (zstd) window.

    A decompressor allocates its window as the header says and fills it as it inflates: unbounded, an
    xz stream of 78 KB holds 512 MiB of the server's memory.
    """
    bomb(path, codec, zero_member(512 * MiB))
    with open(path, "r+b") as stream:
        data = bytearray(stream.read(64))
        if codec == "xz":
            size = (data[12] + 1) * 4  # the block header, after the 12-byte stream header
            data[16] = 36  # LZMA2 dictionary size 1 GiB
            data[12 + size - 4: 12 + size] = struct.pack("<I", zlib.crc32(bytes(data[12: 12 + size - 4])))
        else:
            data[5] = 21 << 3  # window descriptor: 2^31 bytes
        stream.seek(0)
        stream.write(data)
    return path


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("bombs")


# -- the walk, measured -----------------------------------------------------------------------------------

def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/self/status")


@contextmanager
def peak_rss() -> Iterator[dict[str, int]]:
    """The rise of this process's peak RSS over its RSS at the start of the block (``["rise"]``)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    except OSError as exc:
        pytest.skip(f"cannot reset the peak RSS here ({exc})")
    measured = {"start": _status("VmRSS")}
    yield measured
    measured["rise"] = _status("VmHWM") - measured["start"]


@dataclass
class Refusal:
    error: DockerError
    rise: int


def refused(path: Path, store: ContentStore, limits: TarLimits | None = None) -> Refusal:
    """Walk ``path`` as the server does (spooled to ``store``'s staging dir); it must be refused."""
    with peak_rss() as memory, store.staging() as staging, open(path, "rb") as upload:
        with pytest.raises(DockerError) as info:
            walk(upload, lambda member, stream: staging.stage(stream, limit=member.size),
                 upload_size=path.stat().st_size, limits=limits, staging_dir=store.tmp)
    assert not any(store.tmp.iterdir()), "a refused walk left staged files"
    return Refusal(info.value, memory["rise"])


@pytest.fixture
def store(tmp_path) -> ContentStore:
    return ContentStore(tmp_path / "content")


def assert_bounded(refusal: Refusal, code: str, *words: str) -> None:
    assert refusal.error.code == code, refusal.error.description
    for word in words:
        assert word in refusal.error.description
    assert refusal.rise < MEMORY_CEILING, f"peak RSS rose by {refusal.rise / MiB:.0f} MiB"


# -- the bombs --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("codec", sorted(WRITERS))
def test_a_huge_member_of_zeros_is_refused_before_it_is_inflated(bombs, store, codec: str) -> None:
    path = bomb(bombs / f"zeros.tar.{codec}", codec, zero_member(512 * MiB))
    assert path.stat().st_size < 3 * MiB
    assert_bounded(refused(path, store), "DKR1045", "add up to 536870912 bytes", "upload_expansion_ratio")


def test_many_members_are_refused_once_they_add_up_past_the_cap(bombs, store) -> None:
    path = bomb(bombs / "many.tar.gz", "gzip", many_members(1100, 2 * MiB))
    assert path.stat().st_size < 12 * MiB
    refusal = refused(path, store)
    assert_bounded(refusal, "DKR1045", f"more than {64 * MiB} bytes")


def test_too_many_members_are_refused(bombs, store) -> None:
    path = bomb(bombs / "count.tar.gz", "gzip", many_members(20_000, 0))
    assert_bounded(refused(path, store), "DKR1045", "more than 10000 members", "upload_max_members")


def test_headers_count_as_inflated_bytes(bombs, store) -> None:
    # 9,000 empty members: under the member limit, no member bytes, but 4.5 MiB of headers.
    path = bomb(bombs / "headers.tar.gz", "gzip", many_members(9_000, 0))
    limits = TarLimits(expansion_floor=MiB)
    assert_bounded(refused(path, store, limits), "DKR1045", "inflates to more than")


def test_a_huge_pax_header_is_refused_before_tarfile_reads_it(bombs, store) -> None:
    path = bomb(bombs / "pax.tar.gz", "gzip", then_a_file(tarfile.XHDTYPE, 512 * MiB))
    assert path.stat().st_size < 3 * MiB
    assert_bounded(refused(path, store), "DKR1045", "a pax header of 536870912 bytes", "upload_max_extended_header")


@pytest.mark.parametrize("codec", [None, "gzip"])
def test_pax_digits_are_refused_before_tarfile_parses_them(bombs, store, codec: str | None) -> None:
    # 128 KiB of digits: tarfile's pax regex backtracks over them quadratically (CVE-2024-6232).
    path = bomb(bombs / f"digits.tar.{codec}", codec, then_a_file(tarfile.XHDTYPE, b"1" * 128 * 1024))
    assert_bounded(refused(path, store), "DKR1045", "a pax header of 131072 bytes")


def test_a_huge_gnu_long_name_is_refused(bombs, store) -> None:
    path = bomb(bombs / "longname.tar.gz", "gzip", then_a_file(tarfile.GNUTYPE_LONGNAME, 512 * MiB))
    assert_bounded(refused(path, store), "DKR1045", "GNU long-name header of 536870912 bytes")


def test_many_small_pax_headers_are_refused_in_all(bombs, store) -> None:
    record = b"8000 comment=" + b"x" * (8000 - 14) + b"\n"

    def write(out: BinaryIO) -> None:
        for number in range(200):
            extended(out, tarfile.XHDTYPE, record)
            out.write(header(f"{number:064x}", 0))

    path = bomb(bombs / "paxes.tar.gz", "gzip", write)
    assert_bounded(refused(path, store), "DKR1045", "add up to more than 1048576", "upload_max_extended_total")


@pytest.mark.parametrize("codec", ["xz", "zstd"])
def test_a_decompressor_asking_for_a_huge_window_is_refused(bombs, store, codec: str) -> None:
    assert_bounded(refused(big_window(bombs / f"window.tar.{codec}", codec), store), "DKR1045", "memory")


def test_members_larger_than_the_free_disk_are_refused(bombs, store) -> None:
    free = shutil.disk_usage(store.tmp).free

    def write(out: BinaryIO) -> None:
        out.write(header(BLOB_NAME, free + 1))  # refused at its header: its data is never written

    path = bomb(bombs / "disk.tar.gz", "gzip", write)
    refusal = refused(path, store, TarLimits(expansion_floor=2**62))
    assert_bounded(refusal, "DKR1045", "free in the staging directory")


def test_a_sparse_member_is_refused(bombs, store) -> None:
    def write(out: BinaryIO) -> None:
        out.write(header(BLOB_NAME, 0, tarfile.GNUTYPE_SPARSE))

    assert_bounded(refused(bomb(bombs / "sparse.tar.gz", "gzip", write), store), "DKR1031", "sparse")


def test_a_gnu_sparse_map_in_pax_records_is_refused(bombs, store) -> None:
    records = b"22 GNU.sparse.major=1\n22 GNU.sparse.minor=0\n"
    path = bomb(bombs / "sparse-pax.tar.gz", "gzip", then_a_file(tarfile.XHDTYPE, records))
    assert_bounded(refused(path, store), "DKR1031", "sparse")


# -- what stays allowed ---------------------------------------------------------------------------------------

def test_an_archive_within_the_limits_walks(bombs, store) -> None:
    def write(out: BinaryIO) -> None:
        extended(out, tarfile.XHDTYPE, b"30 mtime=1700000000.123456789\n")
        out.write(header(BLOB_NAME, 32 * MiB))
        zeros(out, 32 * MiB)

    path = bomb(bombs / "fine.tar.gz", "gzip", write)
    with peak_rss() as memory, store.staging() as staging, open(path, "rb") as upload:
        archive = walk(upload, lambda member, stream: staging.stage(stream, limit=member.size),
                       upload_size=path.stat().st_size, staging_dir=store.tmp)
        assert archive.files[BLOB_NAME].size == 32 * MiB  # 32 MiB from a 33 KB upload: under the floor
    assert memory["rise"] < MEMORY_CEILING


def test_the_server_defaults_are_the_walkers() -> None:
    settings = Settings()
    assert TarLimits() == TarLimits(settings.upload_expansion_ratio, settings.upload_expansion_floor,
                                    settings.upload_max_members, settings.upload_max_extended_header,
                                    settings.upload_max_extended_total)
