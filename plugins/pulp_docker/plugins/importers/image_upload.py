"""An uploaded file as an image source: a tarball of any kind, or a manifest on its own (JSON).

A thin caller of the ingest path. Most tarballs were walked while they arrived (``upload_stream``): their
members are staged and hashed already. Otherwise the tarball is walked once, front to back: an uncompressed one is
indexed in place (its members are copied into the store later, inside the kernel); a compressed one
is decompressed once, each member spooled to the store's staging dir as it streams past, hashed as
it is written, so the ingest commits those files without writing them again. The walk is bounded by
the server's ``upload_*`` settings (``tar_limits``) and by the free space of the staging dir.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pulp_docker.common import kinds
from pulp_docker.common.manifest_file import ManifestFileSource, looks_like_json
from pulp_docker.common.tarball import MAX_METADATA_SIZE, Member, walk
from pulp_docker.plugins.importers.upload_stream import streamed_archive, tar_limits
from pulp_docker.plugins.ingest import ingest, throttled_progress
from pulp_docker.plugins.ingest.spooled import spool_into
from pulp_docker.plugins.ingest.tags import check_name
from pulp_platform.plugin_api import Conduit


def import_image(conduit: Conduit, path: Path, tag: str | None = None) -> dict[str, Any]:
    """Import the image tarball (or manifest JSON) at ``path`` into the conduit's repository."""
    if tag is not None:
        check_name(tag)
    size = os.path.getsize(path)
    with conduit.store.staging() as staging, open(path, "rb") as upload:
        if size <= MAX_METADATA_SIZE and looks_like_json(upload.read(64)):
            upload.seek(0)
            source: Any = ManifestFileSource(upload.read())
        else:
            upload.seek(0)
            if conduit.streamed_upload is not None:  # walked while it arrived: its members are staged
                archive = streamed_archive(conduit.streamed_upload)
            else:
                archive = walk(upload, spool_into(staging), upload_size=size, on_member=_member_progress(conduit, size),
                               limits=tar_limits(), staging_dir=conduit.store.tmp)
            source = kinds.open_source(archive)
        report = ingest(source, conduit, staging, tag=tag)
    report["details"]["read_while_uploading"] = conduit.streamed_upload is not None
    conduit.set_progress({"docker_importer": {"state": "finished", "member_bytes_read": size, "bytes_total": size}})
    return report


def _member_progress(conduit: Conduit, size: int) -> Callable[[Member], None]:
    """Cancel checks and progress while the tar is walked."""
    advance = throttled_progress(conduit, lambda done: {"docker_importer": {
        "state": "running", "member_bytes_read": done, "bytes_total": size}})
    return lambda member: advance(member.size)
