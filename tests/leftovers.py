"""What a test may find left in a server's data dir, and what belongs to someone else."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def staging_leftovers(server: Any) -> list[Path]:
    """What the content store's staging dir holds beyond the streams of uploads that still exist.

    An upload read as it arrived keeps its stream (``tmp/stream-<upload id>``) until it is imported or
    deleted; other tests on the shared server leave uploads behind, and those are theirs, not leftovers.
    """
    tmp = server.data_dir / "content" / "tmp"
    uploads = server.data_dir / "uploads"
    return sorted(p for p in tmp.iterdir()
                  if not (p.name.startswith("stream-") and (uploads / p.name.removeprefix("stream-")).exists()))
