"""A lone blob into a repository: what a registry push does for each blob before its manifest.

Part of the one ingest path: the digest is the one the content store computed while the bytes were
written, checked against the digest the client claims; then the file is committed by rename, the
unit saved, and the repository made to hold it (file, unit, association: the order a crash forgives).
"""

from __future__ import annotations

from pulp_docker.common.error_codes import DKR1017, DockerError
from pulp_docker.plugins.models import Blob
from pulp_platform.plugin_api import Conduit
from pulp_platform.storage import StagedFile


def store_blob(conduit: Conduit, staged: StagedFile, claimed_digest: str) -> Blob:
    """Commit ``staged`` as blob ``claimed_digest`` in the conduit's repository; DKR1017 if it hashes otherwise.

    A refused file is removed. Returns the stored unit (new or already known).
    """
    if staged.digest != claimed_digest:
        staged.path.unlink(missing_ok=True)
        raise DockerError(DKR1017, checksum=claimed_digest, member="the uploaded blob", actual=staged.digest)
    conduit.store.commit(staged)
    unit, _created = conduit.save_unit(Blob(digest=staged.digest, size=staged.size,
                                            storage_path=conduit.store.relative_path(staged.digest)))
    conduit.associate(unit)
    return unit  # type: ignore[return-value]


def hold_blob(conduit: Conduit, unit: Blob) -> Blob:
    """Make the conduit's repository hold a blob the store already has (a cross-repository mount)."""
    conduit.associate(unit)
    return unit
