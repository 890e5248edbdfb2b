"""Import an uploaded image tarball: detect → parse → verify → store → tag, in one task.

The upload is read once, front to back. Each blob-named member is hashed while it is copied to a
staged file beside the content store; nothing is saved until every manifest and blob checks out,
and then blobs are renamed into place (never copied again), units saved and associated.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, BinaryIO

from pulp_docker.common import kinds, manifest
from pulp_docker.common.image_source import ImageSource
from pulp_docker.common.tarball import Archive, Member, read_metadata, walk
from pulp_docker.plugins.importers.storing import Stored, store
from pulp_docker.plugins.importers.tagging import apply_tag, check_name, tag_summary
from pulp_docker.plugins.importers.verification import verify
from pulp_platform.plugin_api import Conduit
from pulp_platform.storage import StagedFile, Staging

REPORT_INTERVAL = 0.5  # seconds


def import_image(conduit: Conduit, path: Path, tag: str | None = None) -> dict[str, Any]:
    """Import the image tarball at ``path`` into the conduit's repository; returns the upload report."""
    if tag is not None:
        check_name(tag)
    size = os.path.getsize(path)
    with conduit.store.staging() as staging:
        archive = read_tarball(conduit, path, size, staging)     # detect needs the archive's content
        source = kinds.open_source(archive)                      # detect
        top = manifest.parse(source.manifest, source.manifest_member)  # parse
        plan = verify(source, top, conduit)                      # verify: raises before anything is saved
        stored = store(plan, conduit, staging)                   # store
    try:
        applied = apply_tag(conduit, tag, stored.top) if tag else None  # tag
    except BaseException:
        stored.undo.rollback()  # an image asked for with a tag is not left behind without it
        raise
    conduit.set_progress({"docker_importer": {"state": "finished", "member_bytes_read": size, "bytes_total": size}})
    return _report(source, stored, applied and tag_summary(applied))


def read_tarball(conduit: Conduit, path: Path, size: int, staging: Staging) -> Archive[bytes | StagedFile]:
    """Walk the ``size``-byte tar once: keep metadata members in memory, stage blob members (hashed as stored)."""
    done, last_report = 0, 0.0

    def sink(member: Member, stream: BinaryIO) -> bytes | StagedFile:
        nonlocal done, last_report
        # Each check is a database round trip: at most a few a second, however many small members.
        if time.monotonic() - last_report > REPORT_INTERVAL:
            last_report = time.monotonic()
            conduit.check_canceled()
            conduit.set_progress({"docker_importer": {"state": "running", "member_bytes_read": done,
                                                      "bytes_total": size}})
        if member.is_metadata:
            kept: bytes | StagedFile = read_metadata(member, stream)
        else:
            # The tar header's size bounds the copy, so a lying header cannot fill the disk.
            kept = staging.stage(stream, limit=member.size)
        done += member.size
        return kept

    with open(path, "rb") as raw:
        return walk(raw, sink, upload_size=size)


def _report(source: ImageSource, stored: Stored, tag: dict[str, Any] | None) -> dict[str, Any]:
    top = stored.top
    details = {
        "unit": {"type_id": top.type_id, "unit_key": top.unit_key, "metadata": top.metadata()},
        "kind": source.kind,
        "transport_version": source.version,
        "blobs_imported": stored.blobs_imported,
        "blobs_present": stored.blobs_present,
        "manifests": [m.digest for m in stored.instances],
        "tag": tag,
    }
    summary = {
        "manifest_digest": top.digest,
        "blobs_imported": len(stored.blobs_imported),
        "blobs_present": len(stored.blobs_present),
        "tag": tag["name"] if tag else None,
    }
    return {"success_flag": True, "summary": summary, "details": details}
