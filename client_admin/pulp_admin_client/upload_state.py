"""Local records of uploads in progress, one JSON file per upload under ``~/.pulp/uploads/``.

A record is written once the server has created the upload and before the first byte is sent, and
removed once the upload is imported and deleted on the server. What remains after a crash, a dropped
connection or Ctrl-C is what ``uploads list`` shows and ``uploads resume`` continues; the bytes the
server already holds are asked of the server, never taken from the record.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pulp_admin_client.failures import ClientError, ExitCode


@dataclass
class UploadRecord:
    upload_id: str
    repo_id: str
    server: str  # the API root the upload lives on
    path: str  # absolute path of the file or directory being sent ("" for an empty upload)
    kind: str  # "file", "directory" or "empty"
    size: int
    fingerprint: str  # changes when the file or directory changes
    unit_type_id: str
    unit_key: dict[str, Any] = field(default_factory=dict)
    unit_metadata: dict[str, Any] = field(default_factory=dict)
    override_config: dict[str, Any] = field(default_factory=dict)
    task_id: str | None = None  # set once import_upload was accepted
    created: float = field(default_factory=time.time)


class UploadRecords:
    """The records in one directory (``[filesystem] upload_working_dir``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, upload_id: str) -> Path:
        if not upload_id or "/" in upload_id or upload_id.startswith("."):
            raise ClientError(f"not an upload id: {upload_id!r}", ExitCode.USAGE)
        return self.directory / f"{upload_id}.json"

    def save(self, record: UploadRecord) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = self._path(record.upload_id)
        temp = target.with_name(f".{target.name}.{os.getpid()}")
        with open(temp, "w", encoding="utf-8") as handle:
            json.dump(asdict(record), handle, indent=1)
        os.replace(temp, target)

    def get(self, upload_id: str) -> UploadRecord:
        try:
            with open(self._path(upload_id), encoding="utf-8") as handle:
                return UploadRecord(**json.load(handle))
        except FileNotFoundError:
            raise ClientError(f"no upload {upload_id} in progress here (see `uploads list`)", ExitCode.DATA) from None
        except (ValueError, TypeError) as exc:
            raise ClientError(f"unreadable upload record {self._path(upload_id)}: {exc}", ExitCode.CONFIG) from exc

    def all(self) -> list[UploadRecord]:
        """Every readable record, oldest first."""
        if not self.directory.is_dir():
            return []
        records = []
        for entry in self.directory.glob("*.json"):
            try:
                records.append(self.get(entry.stem))
            except ClientError:
                continue  # a foreign or damaged file is not an upload of ours
        return sorted(records, key=lambda r: r.created)

    def remove(self, upload_id: str) -> None:
        self._path(upload_id).unlink(missing_ok=True)
