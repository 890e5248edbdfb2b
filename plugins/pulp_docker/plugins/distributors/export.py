"""``docker_distributor_export``: accepted in configs as Pulp 2's pulp-admin creates it; it exports nothing yet.

Pulp 2 wrote the published files to a tarball for an offline crane. This distributor only validates
its config (the same ``repo-registry-id`` and ``protected`` keys as the web distributor, no name
clash check since it serves nothing) and refuses to publish with a clear error, so a user never
mistakes a no-op for an export.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pulp_docker.common import constants
from pulp_docker.plugins import publication
from pulp_platform import errors
from pulp_platform.plugin_api import Conduit, Distributor


class DockerExportDistributor(Distributor):
    type_id: ClassVar[str] = constants.DISTRIBUTOR_EXPORT_TYPE_ID
    display_name: ClassVar[str] = "Docker Export Distributor"
    unit_types: ClassVar[list[str]] = [constants.MANIFEST_TYPE_ID, constants.MANIFEST_LIST_TYPE_ID,
                                       constants.BLOB_TYPE_ID, constants.TAG_TYPE_ID]

    def validate_config(self, repo_id: str, config: dict[str, Any]) -> None:
        if config.get(constants.CONFIG_KEY_REPO_REGISTRY_ID) is not None:
            publication.check_name(repo_id, config)
        publication.check_protected(config)

    def publish_repo(self, conduit: Conduit, config: dict[str, Any]) -> dict[str, Any]:
        raise errors.PulpCodedException(
            errors.PLP0000, message="docker_distributor_export cannot export yet; publish with "
                                    "docker_distributor_web to serve the repository from /v2/")
