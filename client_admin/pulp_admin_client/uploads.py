"""The upload flow of Pulp 2's client: create an upload, PUT it in chunks, import it, wait, delete it.

Plugins call ``start`` → ``transfer`` → ``finish`` with their own unit type, key and metadata, and
print the finished task as they see fit. ``resume`` continues a recorded upload from the size the
server reports, so only the remainder travels again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from pulp_admin_client import tasks
from pulp_admin_client.context import ClientContext
from pulp_admin_client.failures import ClientError, ExitCode, ServerError
from pulp_admin_client.output import ImportStatus, TransferProgress, human_size
from pulp_admin_client.upload_source import EmptySource, FileSlice, Source, open_source
from pulp_admin_client.upload_state import UploadRecord, UploadRecords


class _Counted:
    """A request body that advances the progress bar as requests reads it."""

    def __init__(self, body: FileSlice, progress: TransferProgress) -> None:
        self.body = body
        self.progress = progress

    def __len__(self) -> int:
        return len(self.body)

    def read(self, size: int = -1) -> bytes:
        data = self.body.read(size)
        self.progress.advance(len(data))
        return data


class ChunkSender:
    """PUTs bytes to ``content/uploads/<id>/<offset>/``, at most ``chunk_size`` per request.

    Files go out as slices read from disk by requests; streams (a directory's tar) are buffered one
    chunk at a time. ``sent`` counts the bytes the server acknowledged.
    """

    def __init__(self, ctx: ClientContext, upload_id: str, offset: int, chunk_size: int,
                 progress: TransferProgress) -> None:
        self.ctx = ctx
        self.upload_id = upload_id
        self.offset = offset
        self.chunk_size = chunk_size
        self.progress = progress
        self.sent = 0
        self._buffer = bytearray()

    def _put(self, body: Any, length: int) -> None:
        self.ctx.connection.put(f"content/uploads/{self.upload_id}/{self.offset}/", data=body,
                                headers={"Content-Type": "application/octet-stream"})
        self.offset += length
        self.sent += length

    def send_file_range(self, path: Path, start: int, end: int) -> None:
        if start != self.offset:
            raise AssertionError(f"file range starts at {start}, upload is at {self.offset}")
        with open(path, "rb") as handle:
            while self.offset < end:
                length = min(self.chunk_size, end - self.offset)
                self._put(_Counted(FileSlice(handle, self.offset, self.offset + length), self.progress), length)

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) >= self.chunk_size:
            self._send_buffered(self.chunk_size)
        return len(data)

    def flush(self) -> None:
        if self._buffer:
            self._send_buffered(len(self._buffer))

    def _send_buffered(self, length: int) -> None:
        with memoryview(self._buffer) as view:  # one copy of the chunk, not two
            chunk = view[:length].tobytes()
        self._put(chunk, length)
        del self._buffer[:length]
        self.progress.advance(length)


@dataclass
class UploadOutcome:
    """How one upload went: the record, where sending started, bytes sent, the final task report (None when
    the import was left to run in the background)."""

    record: UploadRecord
    resumed_from: int
    bytes_sent: int
    task: dict[str, Any] | None


def records(ctx: ClientContext) -> UploadRecords:
    return UploadRecords(ctx.config.upload_working_dir)


def check_repository(ctx: ClientContext, repo_id: str) -> dict[str, Any]:
    """The repository, or a clear error when it does not exist."""
    try:
        return ctx.connection.get(f"repositories/{repo_id}/")
    except ServerError as exc:
        if exc.http_status == 404:
            raise ClientError(f"repository {repo_id!r} does not exist", ExitCode.DATA) from exc
        raise


def start(ctx: ClientContext, repo_id: str, source: Source, unit_type_id: str, unit_key: dict[str, Any],
          unit_metadata: dict[str, Any], override_config: dict[str, Any] | None = None) -> UploadRecord:
    """Create the upload on the server and record it locally before any byte is sent."""
    reply = ctx.connection.post("content/uploads/")
    record = UploadRecord(
        upload_id=reply["upload_id"], repo_id=repo_id, server=ctx.config.api_url,
        path="" if isinstance(source, EmptySource) else str(source.path), kind=source.kind, size=source.size,
        fingerprint=source.fingerprint, unit_type_id=unit_type_id, unit_key=unit_key,
        unit_metadata=unit_metadata, override_config=override_config or {},
    )
    records(ctx).save(record)
    return record


def server_size(ctx: ClientContext, upload_id: str) -> int:
    """How many bytes of the upload the server holds."""
    try:
        reply = ctx.connection.get(f"content/uploads/{upload_id}/")
    except ServerError as exc:
        if exc.http_status == 404:
            raise ClientError(f"upload {upload_id} no longer exists on the server; cancel it and upload again",
                              ExitCode.DATA) from exc
        raise
    return int(reply["size"])


def transfer(ctx: ClientContext, record: UploadRecord, source: Source, offset: int, *, show_progress: bool,
             resume_hint: str) -> int:
    """Send the source from ``offset``; returns the bytes sent. Interrupted: a ClientError naming the resume."""
    label = Path(record.path).name or record.upload_id
    progress = TransferProgress(label, source.size, offset, enabled=show_progress and source.size > 0)
    sender = ChunkSender(ctx, record.upload_id, offset, ctx.config.upload_chunk_size, progress)
    hint = f"{resume_hint} --upload-id {record.upload_id}"
    try:
        with progress:
            source.send(sender, offset)
    except KeyboardInterrupt:
        raise ClientError(f"interrupted after {human_size(sender.offset)} of {human_size(source.size)} of "
                          f"{label}; resume with `{hint}`", ExitCode.INTERRUPTED) from None
    except ClientError as exc:
        # The upload is intact on both sides after these; other errors are about the data itself.
        if exc.exit_code in (ExitCode.CONNECTION, ExitCode.NOPERM, ExitCode.SERVER):
            raise ClientError(f"{exc.message}; {human_size(sender.offset)} of {human_size(source.size)} of "
                              f"{label} reached the server; resume with `{hint}`", exc.exit_code) from exc
        _discard(ctx, record)  # resuming could not help: leave nothing behind
        raise
    return sender.sent


def _discard(ctx: ClientContext, record: UploadRecord) -> None:
    try:
        delete(ctx, record)
    except ClientError:
        pass  # the record stays, so `uploads cancel` can finish the job


def finish(ctx: ClientContext, record: UploadRecord, resume_hint: str, *, show_progress: bool = False,
           background: bool = False) -> dict[str, Any] | None:
    """Import the upload (unless already asked), wait for the task, delete the upload and its record.

    Returns the finished task; a failed or canceled task raises ClientError after the cleanup. With
    ``background`` it returns None once the import is queued: the upload and its record stay until
    ``resume`` sees the task end (the task reads the upload, so it cannot be deleted before).
    """
    store = records(ctx)
    if record.task_id is None:
        body = {"upload_id": record.upload_id, "unit_type_id": record.unit_type_id,
                "unit_key": record.unit_key, "unit_metadata": record.unit_metadata}
        if record.override_config:
            body["override_config"] = record.override_config
        report = ctx.connection.post(f"repositories/{record.repo_id}/actions/import_upload/", json=body)
        task_ids = tasks.spawned_task_ids(report)
        if len(task_ids) != 1:
            raise ClientError(f"import_upload spawned {len(task_ids)} tasks, expected one", ExitCode.SERVER)
        record.task_id = task_ids[0]
        store.save(record)
    if background:
        tasks.report_background([record.task_id])
        click.echo(f"Upload {record.upload_id} stays on the server until the import ends; "
                   f"`{resume_hint} --upload-id {record.upload_id}` then deletes it")
        return None
    label = Path(record.path).name or record.upload_id
    try:
        with ImportStatus(label, enabled=show_progress):
            task = tasks.wait(ctx, record.task_id)
    except KeyboardInterrupt:
        raise ClientError(f"interrupted while task {record.task_id} imports upload {record.upload_id}; the import "
                          f"goes on: `{resume_hint} --upload-id {record.upload_id}` waits for it and cleans up",
                          ExitCode.INTERRUPTED) from None
    delete(ctx, record)
    if (reason := tasks.failure(task)) is not None:
        raise ClientError(reason, ExitCode.TASK_FAILED)
    return task


def delete(ctx: ClientContext, record: UploadRecord) -> None:
    """Delete the upload on the server (gone already is fine) and its local record."""
    try:
        ctx.connection.delete(f"content/uploads/{record.upload_id}/")
    except ServerError as exc:
        if exc.http_status != 404:
            raise
    records(ctx).remove(record.upload_id)


def upload(ctx: ClientContext, repo_id: str, source: Source, unit_type_id: str, unit_key: dict[str, Any],
           unit_metadata: dict[str, Any], *, show_progress: bool, resume_hint: str,
           background: bool = False) -> UploadOutcome:
    """The whole flow for one source into a repository that was checked to exist."""
    record = start(ctx, repo_id, source, unit_type_id, unit_key, unit_metadata)
    sent = transfer(ctx, record, source, 0, show_progress=show_progress, resume_hint=resume_hint)
    task = finish(ctx, record, resume_hint, show_progress=show_progress, background=background)
    return UploadOutcome(record, 0, sent, task)


def reopen(record: UploadRecord) -> Source:
    """The source of a recorded upload, refusing one that changed since the upload started."""
    if record.kind == "empty":
        return EmptySource()
    source = open_source(record.path)
    if source.kind != record.kind or source.size != record.size or source.fingerprint != record.fingerprint:
        raise ClientError(f"{record.path} changed since upload {record.upload_id} started; cancel the upload and "
                          "upload again", ExitCode.DATA)
    return source


def resume(ctx: ClientContext, record: UploadRecord, *, show_progress: bool, resume_hint: str) -> UploadOutcome:
    """Continue a recorded upload: send what the server lacks, then import as ``finish`` does."""
    if record.server != ctx.config.api_url:
        raise ClientError(f"upload {record.upload_id} lives on {record.server}, not on {ctx.config.api_url}",
                          ExitCode.USAGE)
    if record.task_id is not None:  # everything was sent; only the import's outcome is missing
        return UploadOutcome(record, record.size, 0, finish(ctx, record, resume_hint, show_progress=show_progress))
    source = reopen(record)
    offset = server_size(ctx, record.upload_id)
    if offset > record.size:
        raise ClientError(f"the server holds {offset} bytes of upload {record.upload_id}, more than the "
                          f"{record.size} of {record.path}; cancel it and upload again", ExitCode.DATA)
    sent = transfer(ctx, record, source, offset, show_progress=show_progress, resume_hint=resume_hint)
    return UploadOutcome(record, offset, sent, finish(ctx, record, resume_hint, show_progress=show_progress))
