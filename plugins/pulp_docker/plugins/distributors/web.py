"""``docker_distributor_web``: publishes a repository to the registry API (``/v2/``) under its registry name.

Config keys (Pulp 2's): ``repo-registry-id`` (the name clients pull, default the repository id; may be
``NS/NAME``) and ``protected`` (pulls need credentials). Publishing snapshots the repository's tags,
manifests, lists and blobs and switches the name to the snapshot atomically (see ``publication``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pulp_docker.common import constants
from pulp_docker.plugins import publication
from pulp_platform.plugin_api import Conduit, Distributor


class DockerWebDistributor(Distributor):
    type_id: ClassVar[str] = constants.DISTRIBUTOR_WEB_TYPE_ID
    display_name: ClassVar[str] = "Docker Web Distributor"
    unit_types: ClassVar[list[str]] = [constants.MANIFEST_TYPE_ID, constants.MANIFEST_LIST_TYPE_ID,
                                       constants.BLOB_TYPE_ID, constants.TAG_TYPE_ID]

    def validate_config(self, repo_id: str, config: dict[str, Any]) -> None:
        """Refuse a registry name outside the distribution grammar or used by another repository."""
        publication.validate_config(repo_id, config, self.type_id)

    def publish_repo(self, conduit: Conduit, config: dict[str, Any]) -> dict[str, Any]:
        """Make the repository's current content what its registry name serves; returns a summary."""
        return publication.publish(conduit, config)

    def distributor_removed(self, repo_id: str, config: dict[str, Any]) -> None:
        """Stop serving the repository's registry name."""
        publication.unpublish(repo_id)

    @classmethod
    def units_in_use(cls, type_id: str, unit_ids: list[str]) -> set[str]:
        """Blobs, manifests and lists a publication still serves: a repository that dropped them keeps
        serving them until it publishes again, so orphan removal must keep them and their files."""
        return publication.served_units(type_id, unit_ids)
