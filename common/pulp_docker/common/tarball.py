"""Read an uploaded tarball once, front to back, keeping a handle on every regular file in it.

This is the one safe tar-member helper: every reader of every tarball kind goes through ``walk``.
It knows nothing of image layouts: it indexes members by path and leaves their meaning to the
kind's reader, so a docker-archive's ``<id>/layer.tar`` and an OCI manifest in ``blobs/`` are kept
like any other file.

- An **uncompressed** tar is read in place: headers through tarfile, and each member becomes an
  ``InPlace`` handle on its byte range in the upload, which the content store later copies inside
  the kernel. Nothing is written during the walk.
- A **compressed** tar (gzip, bzip2, xz, zstd; decided by magic bytes, never by name) cannot be
  seeked, so each member is handed to the caller's ``spool`` while it streams past; the server's
  spool writes it to the content store's tmp dir, hashing as it writes, and that file is what the
  store commits later (each byte written once).
- An uncompressed tar **still arriving** (an ``Arriving`` source: an upload read as its chunks come
  in) is read like one in place, by position, and each member is spooled as its bytes arrive: its
  bytes go from the file to the spool in large reads, never through tarfile's stream buffers.

Refused, with DKR1031 naming the member: absolute paths, ``..``, control characters in a name,
devices, fifos and sparse files, a regular member that appears twice. With DKR1030: a member claiming
more bytes than the whole upload, a tar that ends inside a member or a header, or without its
end-of-archive block. With DKR1045: a tar that costs more than its ``TarLimits`` allow (bytes inflated
or spooled, members, extended headers; see ``tar_limits``). Links are not followed; they are listed so
that each kind's reader decides.
"""

from __future__ import annotations

import _compression
import bz2
import gzip
import io
import lzma
import os
import posixpath
import re
import sys
import tarfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from pulp_docker.common.error_codes import DKR1030, DKR1031, DKR1045, DockerError
from pulp_docker.common.tar_limits import XZ_MEMLIMIT, ZSTD_MAX_WINDOW, Budget, InflatedStream, TarLimits

# Metadata files are small JSON; a bigger one is not what it claims to be.
MAX_METADATA_SIZE = 4 * 1024 * 1024
STREAM_BUFFER = 1024 * 1024
# Names are paths: no C0 or C1 control character (a newline in a blob's name, a NUL, an escape).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _xz(fileobj: BinaryIO) -> BinaryIO:
    # lzma.LZMAFile takes no memory limit; this is how it reads, with one (a crafted xz header can ask for
    # a 1.5 GiB dictionary). _compression is the stdlib's own reader behind LZMAFile, BZ2File and gzip.
    reader = _compression.DecompressReader(fileobj, lzma.LZMADecompressor, trailing_error=lzma.LZMAError,
                                           memlimit=XZ_MEMLIMIT)
    return io.BufferedReader(reader)  # type: ignore[return-value]


def _zstd(fileobj: BinaryIO) -> BinaryIO:
    # Imported here: most servers and clients never meet a zstd tarball, and the module costs the idle
    # server about 1 MB of its memory budget.
    import zstandard

    return zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW).stream_reader(  # type: ignore[return-value]
        fileobj, read_across_frames=True, closefd=False)


_DECOMPRESSORS: dict[bytes, Callable[[BinaryIO], BinaryIO]] = {
    b"\x1f\x8b": lambda f: gzip.GzipFile(fileobj=f, mode="rb"),  # type: ignore[dict-item]
    b"BZh": lambda f: bz2.BZ2File(f),  # type: ignore[dict-item]
    b"\xfd7zXZ\x00": _xz,
    b"\x28\xb5\x2f\xfd": _zstd,
}


def _decompression_errors() -> tuple[type[Exception], ...]:
    """xz's error and, once a zstd tarball was read (its module loaded), zstd's."""
    zstandard = sys.modules.get("zstandard")
    return (lzma.LZMAError, zstandard.ZstdError) if zstandard is not None else (lzma.LZMAError,)


class Reader(Protocol):
    """A member's bytes, read front to back; ``size`` is what the tar header says."""

    size: int

    def read(self, n: int = -1) -> bytes: ...


class Handle(Protocol):
    """A kept member: its size, and a fresh reader of its bytes on each ``open()``."""

    size: int

    def open(self) -> Reader: ...


@dataclass(frozen=True)
class Member:
    """A regular file of the tarball: its normalised path and size."""

    path: str
    size: int

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)


@dataclass
class Archive:
    """What ``walk`` found: a handle per regular file, by path relative to the image root."""

    files: dict[str, Handle] = field(default_factory=dict)
    # Symbolic and hard links: path -> the path they point at, relative to the image root.
    links: dict[str, str] = field(default_factory=dict)

    def resolve(self, path: str) -> str | None:
        """The regular file ``path`` names, following links inside the archive; None if there is none.

        skopeo writes a docker-archive's ``<id>/layer.tar`` as a link to ``<hex>.tar``. A link that
        leads out of the archive, or round in a circle, names nothing.
        """
        for _hop in range(16):
            if path in self.files:
                return path
            target = self.links.get(path)
            if target is None:
                return None
            path = target
        return None

    def read_small(self, path: str) -> bytes:
        """The whole content of a metadata member, refusing one larger than any real one."""
        handle = self.files[path]
        if handle.size > MAX_METADATA_SIZE:
            raise DockerError(DKR1031, member=path, reason=f"metadata file larger than {MAX_METADATA_SIZE} bytes")
        return handle.open().read()


Spool = Callable[[Member, BinaryIO], Handle]


class FileRange:
    """A member's bytes in an uncompressed tar: read with ``pread``, never through tarfile's buffers.

    ``file_range()`` tells a consumer where the bytes sit, so that it can copy them inside the kernel
    (the content store does, with ``copy_file_range``) instead of through Python.
    """

    def __init__(self, fd: int, offset: int, size: int) -> None:
        self.fd, self.offset, self.size = fd, offset, size
        self.position = 0

    def file_range(self) -> tuple[int, int, int]:
        return self.fd, self.offset, self.size

    def _pread(self, n: int, at: int) -> bytes:
        return os.pread(self.fd, n, at)

    def read(self, n: int = -1) -> bytes:
        left = self.size - self.position
        n = left if n is None or n < 0 else min(n, left)
        data = self._pread(n, self.offset + self.position) if n else b""
        if len(data) < n:
            raise DockerError(DKR1030, reason="the upload ended inside a member (truncated)")
        self.position += len(data)
        return data


class Arriving(Protocol):
    """A file still being written, read by position: ``read_at`` waits for bytes not there yet and returns
    fewer than asked only where the file has ended for good."""

    def read_at(self, offset: int, n: int) -> bytes: ...


class ArrivingRange(FileRange):
    """A member's bytes in an uncompressed tar still arriving, read as they come in."""

    file_range = None  # type: ignore[assignment]  # not all there yet: never copied by range

    def __init__(self, source: Arriving, offset: int, size: int) -> None:
        self.source, self.offset, self.size = source, offset, size
        self.position = 0

    def _pread(self, n: int, at: int) -> bytes:
        return self.source.read_at(at, n)


class _Positioned:
    """An ``Arriving`` source as the seekable file tarfile's ``r:`` mode reads (whole reads, as a file's)."""

    def __init__(self, source: Arriving) -> None:
        self.source, self.position = source, 0

    def tell(self) -> int:
        return self.position

    def seek(self, position: int, whence: int = os.SEEK_SET) -> int:
        if whence != os.SEEK_SET:
            raise OSError("an arriving file seeks to absolute positions only")
        self.position = position
        return position

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0:
            raise ValueError("an arriving file is read in pieces")
        data = self.source.read_at(self.position, n)
        self.position += len(data)
        return data


@dataclass(frozen=True)
class InPlace:
    """A member of an uncompressed tar, left where it lies in the upload."""

    fd: int
    offset: int
    size: int

    def open(self) -> FileRange:
        return FileRange(self.fd, self.offset, self.size)


class _StrictTarInfo(tarfile.TarInfo):
    """Checks every header block against the walk's budget before tarfile acts on it, and remembers why
    tarfile stopped: only an end-of-archive block is a whole tar.

    tarfile ends its iteration quietly on an empty read, a partial header or garbage after the first
    member; each of those is a truncated or corrupt upload, which must not import.
    """

    budget: Budget  # set on the subclass ``walk`` makes for each tar

    @classmethod
    def fromtarfile(cls, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        # Hand-written on purpose: this is CPython's own ``TarInfo.fromtarfile`` (read one 512-byte block,
        # decode its fixed fields with ``frombuf``, then ``_proc_member``) with the budget's check in
        # between. tarfile has no hook there, and what comes next is the danger: ``_proc_pax`` and
        # ``_proc_gnulong`` read the header's whole data into memory (a gzipped 512 MiB pax header is a
        # half-megabyte upload) and, before Python 3.11.10, parse pax records with a backtracking regex
        # (CVE-2024-6232: 128 KiB of digits hold the GIL for about 15 s). So the size field of an
        # x/g/X/L/K header is checked here, from the block alone, before tarfile reads a byte of its data.
        try:
            buf = tarfile_.fileobj.read(tarfile.BLOCKSIZE)
            obj = cls.frombuf(buf, tarfile_.encoding, tarfile_.errors)
            obj.offset = tarfile_.fileobj.tell() - tarfile.BLOCKSIZE
            cls.budget.header(obj.type, obj.size, obj.name)
            return obj._proc_member(tarfile_)
        except tarfile.EOFHeaderError:
            tarfile_.pulp_end = "end-of-archive"  # type: ignore[attr-defined]
            raise
        except (tarfile.EmptyHeaderError, tarfile.TruncatedHeaderError, tarfile.InvalidHeaderError) as exc:
            tarfile_.pulp_end = str(exc) or type(exc).__name__  # type: ignore[attr-defined]
            raise

    # GNU sparse files described in pax records: tarfile would read a sparse map of any length (format
    # 1.0) from the stream. No image tarball holds one; refused before tarfile reads it.
    def _proc_gnusparse_00(self, next_, *args) -> None:  # type: ignore[no-untyped-def,override]
        raise DockerError(DKR1031, member=next_.name, reason="a sparse file (GNU sparse format)")

    _proc_gnusparse_01 = _proc_gnusparse_10 = _proc_gnusparse_00


def _tarinfo_class(budget: Budget) -> type[_StrictTarInfo]:
    """tarfile builds members from a class; this one carries the walk's budget."""
    return type("BoundedTarInfo", (_StrictTarInfo,), {"budget": budget})


def normalise(name: str) -> str:
    """A member name as a clean relative posix path; raises DKR1031 for absolute or escaping names."""
    if _CONTROL.search(name):
        raise DockerError(DKR1031, member=repr(name), reason="a control character in its name")
    if name.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", name):
        raise DockerError(DKR1031, member=name, reason="absolute path")
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise DockerError(DKR1031, member=name, reason="path leads outside the image ('..')")
    return "/".join(parts)


def compression(fileobj: BinaryIO) -> bytes | None:
    """The magic bytes of the compression ``fileobj`` starts with, or None for a plain tar."""
    start = fileobj.tell()
    head = fileobj.read(6)
    fileobj.seek(start)
    return next((magic for magic in _DECOMPRESSORS if head.startswith(magic)), None)


def looks_like_tarball(head: bytes) -> bool:
    """Whether an upload starting with ``head`` is one ``walk`` reads: compressed, or a tar header block
    whose checksum holds (what ``tarfile`` checks; a head shorter than one block is not recognised)."""
    if any(head.startswith(magic) for magic in _DECOMPRESSORS):
        return True
    try:
        tarfile.TarInfo.frombuf(head[:tarfile.BLOCKSIZE], tarfile.ENCODING, "surrogateescape")
    except tarfile.HeaderError:
        return False
    return True


def _is_real_file(fileobj: BinaryIO) -> bool:
    try:
        fileobj.fileno()
    except (OSError, AttributeError):
        return False
    return True


def _is_arriving(fileobj: BinaryIO) -> bool:
    return callable(getattr(fileobj, "read_at", None))


@contextmanager
def _tar(fileobj: BinaryIO, magic: bytes | None, by_position: bool, budget: Budget) -> Iterator[tarfile.TarFile]:
    tarinfo = _tarinfo_class(budget)
    if by_position:
        with tarfile.open(fileobj=fileobj, mode="r:", tarinfo=tarinfo) as tar:
            yield tar
        return
    with _DECOMPRESSORS[magic](fileobj) if magic else nullcontext(fileobj) as plain:
        counted = InflatedStream(plain, budget, STREAM_BUFFER)
        with tarfile.open(fileobj=counted, mode="r|", bufsize=STREAM_BUFFER, tarinfo=tarinfo) as tar:
            yield tar


def walk(fileobj: BinaryIO, spool: Spool, *, upload_size: int | Callable[[], int],
         on_member: Callable[[Member], None] | None = None, limits: TarLimits | None = None,
         staging_dir: str | os.PathLike | None = None) -> Archive:
    """Index every regular file of the tar in ``fileobj`` (seekable, and kept open by the caller).

    Members of an uncompressed tar in a real file become ``InPlace`` handles over ``fileobj``; those of
    a compressed one (or of an in-memory one) go through ``spool`` as they stream past, those of an
    uncompressed ``Arriving`` one as they arrive (read by position). ``on_member``
    is called before each member (progress, cancellation). Paths are relative to the image root: a
    ``./`` prefix or one top folder holding everything is removed. ``upload_size`` may be a callable
    giving the bytes so far, for an upload read while it arrives. ``limits`` (default ``TarLimits()``)
    bound the work; ``staging_dir`` is where ``spool`` writes, whose free space bounds the members.
    Raises DockerError DKR1030 when the input is not a whole tar, DKR1031 for an unsafe member, DKR1045
    past a limit; by then ``spool`` may have been handed members, which the caller discards.
    """
    found: dict[str, Handle] = {}
    links: dict[str, str] = {}
    magic = compression(fileobj)
    in_place = magic is None and _is_real_file(fileobj)
    arriving = magic is None and not in_place and _is_arriving(fileobj)
    budget = Budget(limits or TarLimits(), upload_size, staging_dir=None if in_place else staging_dir)
    try:
        with _tar(_Positioned(fileobj) if arriving else fileobj, magic, in_place or arriving,  # type: ignore[arg-type]
                  budget) as tar:
            for info in tar:
                path = normalise(info.name)
                budget.member(info.name, info.size, info.isreg())
                if info.isdir() or not path:
                    continue
                if info.issym() or info.islnk():
                    if _CONTROL.search(info.linkname):
                        raise DockerError(DKR1031, member=info.name, reason="a control character in its link target")
                    links[path] = _link_target(path, info)
                    continue
                if not info.isreg() or info.issparse():
                    raise DockerError(DKR1031, member=info.name, reason="not a regular file (device, fifo or other)")
                # tarfile's own data filter refuses what we may have missed (it knows more tar variants).
                tarfile.data_filter(info, "/image")
                if path in found:
                    raise DockerError(DKR1031, member=info.name, reason="appears more than once in the tar")
                if in_place and info.offset_data + info.size > budget.upload_size:
                    # Checked before anything reads it: a lying header must not send a copy past the upload.
                    raise DockerError(DKR1030, reason=f"member {info.name} claims {info.size} bytes, but the "
                                                      f"{budget.upload_size}-byte upload ends before them (truncated)")
                member = Member(path, info.size)
                if on_member is not None:
                    on_member(member)
                if in_place:
                    found[path] = InPlace(fileobj.fileno(), info.offset_data, info.size)
                elif arriving:
                    found[path] = spool(member, ArrivingRange(fileobj, info.offset_data, info.size))  # type: ignore[arg-type]
                else:
                    found[path] = spool(member, tar.extractfile(info))  # type: ignore[arg-type]
            end = getattr(tar, "pulp_end", None)
    except DockerError:
        raise
    except tarfile.FilterError as exc:
        raise DockerError(DKR1031, member=getattr(exc, "tarinfo", None) and exc.tarinfo.name or "?",
                          reason=str(exc)) from None
    except _decompression_errors() as exc:
        if "memory" in str(exc).lower():  # xz: "Memory usage limit exceeded"; zstd: "requires too much memory"
            raise DockerError(DKR1045, reason=f"decompressing it needs more memory than allowed ({exc})") from None
        raise DockerError(DKR1030, reason=str(exc) or type(exc).__name__) from None
    except (tarfile.TarError, EOFError, OSError, ValueError, zlib.error) as exc:
        raise DockerError(DKR1030, reason=str(exc) or type(exc).__name__) from None
    if not found and not links:
        raise DockerError(DKR1030, reason="the archive holds no files")
    if end != "end-of-archive":
        raise DockerError(DKR1030, reason=f"the tar stops without its end-of-archive block ({end}): truncated")
    prefix = _common_top_folder([*found, *links])
    if prefix:
        cut = len(prefix) + 1
        found = {path[cut:]: value for path, value in found.items()}
        links = {path[cut:]: target[cut:] if target.startswith(prefix + "/") else "" for path, target in links.items()}
    return Archive(found, links)


def _link_target(path: str, info: tarfile.TarInfo) -> str:
    """Where a link points, as a path from the tar's root ('' when it leads outside)."""
    target = info.linkname if info.islnk() else posixpath.join(posixpath.dirname(path), info.linkname)
    if info.linkname.startswith("/"):
        return ""
    target = posixpath.normpath(target)
    return "" if target.startswith("..") or target == "." else target


def _common_top_folder(paths: list[str]) -> str:
    """The one folder every path sits under (``tar -cf x.tar dir``), or '' when files sit at the root."""
    tops = {p.split("/", 1)[0] for p in paths}
    if len(tops) == 1 and all("/" in p for p in paths):
        return tops.pop()
    return ""


class InMemory:
    """A spooled member kept in memory: for tests and tools that read small tarballs without a store."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)

    def open(self) -> io.BytesIO:
        reader = io.BytesIO(self.data)
        reader.size = self.size  # type: ignore[attr-defined]
        return reader


def spool_in_memory(member: Member, stream: BinaryIO) -> InMemory:
    """A ``Spool`` that keeps members in memory (never used by the server)."""
    return InMemory(stream.read())
