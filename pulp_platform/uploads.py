"""Upload sessions: one file per upload under ``settings.upload_path``, written at offsets.

An upload is just ``<upload_dir>/<upload_id>``; no database record, so any API process sharing the
directory can take a chunk and any worker can read the result. Ids are UUIDs, checked before being
joined into a path. A chunk is written where the client says (offset <= current size), so a client
may resend a chunk or resume from ``size``.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import BinaryIO

from pulp_platform.errors import InvalidValue, MissingResource

_UPLOAD_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Uploads:
    """The upload sessions kept in one directory."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def create(self) -> str:
        upload_id = str(uuid.uuid4())
        (self.root / upload_id).touch(exist_ok=False)
        return upload_id

    def path(self, upload_id: str) -> Path:
        """The file of an existing upload; MissingResource for an unknown or malformed id."""
        if not isinstance(upload_id, str) or not _UPLOAD_ID.match(upload_id):
            raise MissingResource(upload_request=upload_id)
        path = self.root / upload_id
        if not path.is_file():
            raise MissingResource(upload_request=upload_id)
        return path

    def size(self, upload_id: str) -> int:
        return self.path(upload_id).stat().st_size

    def ids(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if _UPLOAD_ID.match(p.name) and p.is_file())

    def delete(self, upload_id: str) -> None:
        self.path(upload_id).unlink(missing_ok=True)

    def open_at(self, upload_id: str, offset: str | int) -> BinaryIO:
        """The upload's file opened for writing at ``offset`` (0 <= offset <= current size)."""
        path = self.path(upload_id)
        try:
            position = int(offset)
        except (TypeError, ValueError):
            raise InvalidValue("offset", reason=f"not an integer: {offset!r}") from None
        size = path.stat().st_size
        if position < 0 or position > size:
            raise InvalidValue("offset", reason=f"{position} is outside 0..{size} (the upload's current size)")
        handle = open(path, "r+b")
        handle.seek(position)
        return handle
