"""The docker importer: the plugin class the platform calls for uploads, syncs, copies and removals."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pulp_docker.common import constants
from pulp_docker.common.error_codes import DKR1038, DockerError
from pulp_docker.plugins.importers import copy, removal
from pulp_docker.plugins.importers.image_upload import import_image
from pulp_docker.plugins.importers.upload_stream import UPLOAD_CONSUMER
from pulp_docker.plugins.ingest.tags import tag_from_upload, tag_summary
from pulp_docker.plugins.sync import config as sync_config
from pulp_platform.models.content import ContentUnit
from pulp_platform.plugin_api import Conduit, Importer


class DockerImporter(Importer):
    type_id: ClassVar[str] = constants.IMPORTER_TYPE_ID
    display_name: ClassVar[str] = "Docker Importer"
    unit_types: ClassVar[list[str]] = [constants.BLOB_TYPE_ID, constants.MANIFEST_TYPE_ID,
                                       constants.MANIFEST_LIST_TYPE_ID, constants.TAG_TYPE_ID,
                                       constants.IMAGE_TYPE_ID]
    secret_config_keys: ClassVar[tuple[str, ...]] = sync_config.SECRET_KEYS
    upload_consumer = UPLOAD_CONSUMER  # tarballs are walked while their chunks arrive

    def validate_config(self, config: dict[str, Any]) -> None:
        """Pulp 2's sync keys (``feed``, ``upstream_name``, ``tags``, TLS, auth, proxy, ...): see ``sync.config``."""
        sync_config.validate(config or {})

    def sync_repo(self, conduit: Conduit, config: dict[str, Any]) -> dict[str, Any]:
        """Sync from ``feed``/``upstream_name``: see ``pulp_docker.plugins.sync.repository``."""
        from pulp_docker.plugins.sync.repository import sync_repository  # loads httpx: only when syncing

        return sync_repository(conduit, config)

    def upload_unit(self, conduit: Conduit, unit_type_id: str, unit_key: dict[str, Any],
                    metadata: dict[str, Any], file_path: Path | None, config: dict[str, Any]) -> dict[str, Any]:
        """Import an image tarball (``docker_manifest``, ``docker_manifest_list``, ``docker_image``) or a tag.

        For an image, ``metadata["tag"]`` optionally names a tag to point at the imported manifest.
        The tarball's kind and the manifest's type are decided by its content, not by the client.
        """
        metadata = metadata or {}
        if unit_type_id == constants.TAG_TYPE_ID:
            tag = tag_from_upload(conduit, unit_key, metadata)
            unit = {"type_id": tag.type_id, "unit_key": tag.unit_key, "metadata": tag.metadata()}
            return {"success_flag": True, "summary": {"tag": tag.name},
                    "details": {"unit": unit, "tag": tag_summary(tag)}}
        # Pulp 2's client sent docker_image for `docker save` tarballs: the content decides here too.
        if unit_type_id in (constants.MANIFEST_TYPE_ID, constants.MANIFEST_LIST_TYPE_ID, constants.IMAGE_TYPE_ID):
            if file_path is None:
                raise DockerError(DKR1038, type_id=f"{unit_type_id} without an uploaded file")
            return import_image(conduit, Path(file_path), metadata.get(constants.UPLOAD_TAG_KEY))
        raise DockerError(DKR1038, type_id=unit_type_id)

    def import_units(self, conduit: Conduit, source: Conduit, units: list[ContentUnit],
                     config: dict[str, Any]) -> list[ContentUnit]:
        """Copy ``units`` with what they need (a manifest its blobs, a list its manifests, a tag its
        manifest or list, applied as the target's tag), all or nothing: see ``importers.copy``."""
        return copy.copy_units(conduit, source, units)

    def remove_units(self, conduit: Conduit, units: list[ContentUnit], config: dict[str, Any]) -> list[ContentUnit]:
        """Remove ``units`` with their tags and what only they used, as Pulp 2 did: see ``importers.removal``."""
        return removal.remove_units(conduit, units)
