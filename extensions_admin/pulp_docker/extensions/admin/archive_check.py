"""Before an upload sends a byte: is the file an image the server takes, or plainly not?

The server decides what an upload holds from its content (``pulp_docker.common.kinds``); this runs the
same walk and the same kind detection on the file here, so that a file that is not a tar, or a tar of
no known kind, fails at once with the server's own error line and nothing uploaded. It reads headers,
not layers: a plain tar's members are skipped by seeking, and a compressed one is read only until its
first ``PROBE_BYTES`` of member data have gone by, after which the server is left to decide (the
metadata of a ``docker save`` can sit at the end). A manifest list sent as JSON is the server's to check.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import BinaryIO

from pulp_admin_client.failures import ClientError, ExitCode
from pulp_docker.common import kinds, tarball
from pulp_docker.common.error_codes import DockerError

# Member bytes a compressed tar is inflated for, at most: well under the server's least expansion budget.
PROBE_BYTES = 32 * 1024 * 1024
# The members kind detection reads; everything else is skipped unread.
METADATA_NAMES = {"manifest.json", "index.json", "oci-layout", "repositories", "version"}
# A limit of the server's (DKR1045) depends on its settings: the server decides those.
SERVER_LIMIT_CODE = "DKR1045"


class _SeenEnough(Exception):
    """The probe's budget is spent without a verdict: the server decides."""


class _Unread:
    """A member kind detection never reads: its size only."""

    def __init__(self, size: int) -> None:
        self.size = size

    def open(self) -> BinaryIO:
        raise AssertionError("kind detection read a member the probe skipped")


def _spool(member: tarball.Member, stream: BinaryIO) -> tarball.Handle:
    if posixpath.basename(member.path) in METADATA_NAMES and member.size <= tarball.MAX_METADATA_SIZE:
        return tarball.InMemory(stream.read())
    return _Unread(member.size)


def _is_json(handle: BinaryIO) -> bool:
    start = handle.read(64).lstrip()
    handle.seek(0)
    return start.startswith(b"{")


def check(path: Path, *, manifest_list: bool = False) -> None:
    """Raise ClientError (exit 65, one line) when ``path`` is no image tarball of a kind the server knows.

    With ``manifest_list`` (Pulp 2's ``--manifest-list``) the file must be a JSON manifest list instead.
    """
    size = path.stat().st_size
    with open(path, "rb") as handle:
        magic = tarball.compression(handle)
        if magic is None and _is_json(handle):
            return  # a manifest list (or index) as JSON: the server checks its manifests against the repository
        if manifest_list:
            raise ClientError(f"{path} was not sent: --manifest-list wants a manifest list as a JSON file, and this "
                              "is not JSON", ExitCode.DATA)
        inflated = 0

        def budget(member: tarball.Member) -> None:
            nonlocal inflated
            inflated += member.size
            if magic is not None and inflated > PROBE_BYTES:
                raise _SeenEnough

        try:
            archive = tarball.walk(handle, _spool, upload_size=size, on_member=budget)
            kinds.detect(archive)
        except _SeenEnough:
            return
        except DockerError as exc:
            if exc.code == SERVER_LIMIT_CODE:
                return
            raise ClientError(f"{path} was not sent: {exc.code}: {exc.description}", ExitCode.DATA) from None
