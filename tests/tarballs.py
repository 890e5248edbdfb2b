"""Build tarball variants for tests: real fixtures rewritten, and hand-made members for bad input."""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Callable
from pathlib import Path

DATA = Path(__file__).parent / "data"


def retar(name: str, rename: Callable[[str], str] = lambda n: n, *, compress: bool = False,
          skip: set[str] = frozenset(), replace: dict[str, bytes] | None = None,
          add: list[tuple[tarfile.TarInfo, bytes | None]] = ()) -> bytes:
    """A fixture tar rewritten: members renamed, skipped or given other bytes, extra members added."""
    out = io.BytesIO()
    replace = replace or {}
    with tarfile.open(DATA / name) as src, tarfile.open(fileobj=out, mode="w") as dst:
        for info in src.getmembers():
            if info.name in skip:
                continue
            data = src.extractfile(info).read() if info.isreg() else None
            if info.name in replace:
                data = replace[info.name]
                info.size = len(data)
            info.name = rename(info.name)
            dst.addfile(info, io.BytesIO(data) if data is not None else None)
        for info, data in add:
            if data is not None:
                info.size = len(data)
            dst.addfile(info, io.BytesIO(data) if data is not None else None)
    return gzip.compress(out.getvalue()) if compress else out.getvalue()


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = 0o644
    return info


def tar_with(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def truncated(name: str) -> bytes:
    """A fixture cut off in the middle of its largest member's data."""
    whole = (DATA / name).read_bytes()
    with tarfile.open(DATA / name) as tar:
        biggest = max(tar.getmembers(), key=lambda m: m.size)
    return whole[: biggest.offset_data + biggest.size // 2]


def members_of(name: str) -> dict[str, bytes]:
    """The regular files of a fixture by name (``./`` stripped): small fixtures only."""
    with tarfile.open(DATA / name) as tar:
        return {m.name.removeprefix("./"): tar.extractfile(m).read() for m in tar.getmembers() if m.isreg()}


def without_end_of_archive(data: bytes) -> bytes:
    """A tar cut right after its last member's data: no end-of-archive blocks (an interrupted copy)."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        last = tar.getmembers()[-1]
    end = last.offset_data + (last.size + 511) // 512 * 512
    return data[:end]


def cut_in_last_member(data: bytes) -> bytes:
    """A tar cut halfway through its last member (which readers may well ignore)."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        last = tar.getmembers()[-1]
    return data[: last.offset_data + last.size // 2]


def docker_v1_image() -> bytes:
    """The layout of a pre-1.10 ``docker save``: ``repositories`` and ``<id>/layer.tar``, no manifest.json."""
    config = "2cf70c20a5181276548efd61c0aa8b316fecaaa55ae691e407c4d3182b52aad6.json"
    return retar("docker-archive.tar", skip={"manifest.json", config})
