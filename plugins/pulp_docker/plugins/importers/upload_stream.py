"""An image tarball read while its chunks arrive: the walk of ``image_upload``, done during the upload.

The platform runs ``TarballConsumer.consume`` in a thread of the API process as the chunks come in
(``pulp_platform.upload_streams``). It is the same ``tarball.walk`` with the same limits, over the upload
as it grows, spooling every member (compressed or not) into the stream's staging dir, hashed as it is
written (an uncompressed tar's members handed over from the upload file: ``UploadTail.stage_range``).
What it found is saved as JSON; the import rebuilds the ``Archive`` from it (``streamed_archive``), and
its files are committed by rename: the import hashes and copies nothing.

Any failure here (bad input included) only means the import walks the upload itself, as before, and
reports the error from there: one place decides what is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO

from pulp_docker.common.tar_limits import TarLimits
from pulp_docker.common.tarball import Archive, ArrivingRange, Member, looks_like_tarball, walk
from pulp_docker.plugins.ingest.spooled import Spooled, spool_into
from pulp_platform import config
from pulp_platform.storage import ContentStore, StagedFile
from pulp_platform.upload_streams import StreamedUpload, UploadTail


class TarballConsumer:
    """``Importer.upload_consumer`` of the docker importer: an upload that starts as a tarball does.

    Uploads are not typed until their import, so another importer's upload may be read too; it must
    look like a tar (or a compressed stream) to be.
    """

    def claims(self, head: bytes) -> bool:
        return looks_like_tarball(head)

    def consume(self, tail: UploadTail, store: ContentStore) -> dict[str, Any]:
        archive = walk(tail, _spool(tail, store), upload_size=tail.size_so_far,  # type: ignore[arg-type]
                       limits=tar_limits(), staging_dir=store.tmp)
        files = {}
        for path, handle in archive.files.items():
            staged = handle.staged_file  # type: ignore[attr-defined]
            files[path] = {"file": staged.path.name, "digest": staged.digest, "size": staged.size}
        return {"files": files, "links": archive.links}


def _spool(tail: UploadTail, store: ContentStore) -> Callable[[Member, BinaryIO], Spooled]:
    """Members of an uncompressed tar are staged by the tail itself, which hands their bytes over from
    the upload (each is then in the page cache and on disk once); a compressed tar's go through the store."""
    through_store = spool_into(store)

    def spool(member: Member, stream: BinaryIO) -> Spooled:
        if isinstance(stream, ArrivingRange) and stream.source is tail:
            return Spooled(tail.stage_range(stream.offset, stream.size, store))
        return through_store(member, stream)

    return spool


def streamed_archive(streamed: StreamedUpload) -> Archive:
    """The ``Archive`` a stream found, its members the files it staged (moved with it into the task's dir)."""
    result = streamed.result
    files = {path: Spooled(StagedFile(streamed.file(entry["file"]), entry["digest"], int(entry["size"])))
             for path, entry in result["files"].items()}
    return Archive(files, dict(result["links"]))


def tar_limits(settings: config.Settings | None = None) -> TarLimits:
    """The server's limits on an uploaded tarball (``upload_*`` settings).

    The conduit carries no settings, so they are read as a worker's are: from the config file and the
    ``PULP_*`` variables its ``run`` passes on.
    """
    settings = settings or config.load()
    return TarLimits(expansion_ratio=settings.upload_expansion_ratio, expansion_floor=settings.upload_expansion_floor,
                     max_members=settings.upload_max_members,
                     max_extended_header=settings.upload_max_extended_header,
                     max_extended_total=settings.upload_max_extended_total)


UPLOAD_CONSUMER = TarballConsumer()
