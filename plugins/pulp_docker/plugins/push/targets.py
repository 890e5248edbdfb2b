"""Which repository a registry name pushes into, creating one for a name nobody has, as Pulp 3 does.

A name resolves, in order, to: the repository whose publication serves it; a repository whose web
distributor is configured with it as ``repo-registry-id``; a repository whose id is the name and whose
distributor leaves the registry id unset. Otherwise a push creates a repository: its id is the name
with ``/`` turned into ``-`` (``team/app`` → ``team-app``; a numbered suffix when that id is taken), its
registry name the name, auto-publishing, as ``pulp-admin docker repo create`` makes them.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from pulp_docker.common import constants
from pulp_docker.plugins.publication import RegistryName
from pulp_platform.errors import DuplicateResource, InvalidValue
from pulp_platform.models.repository import RepoDistributor
from pulp_platform.operations.repositories import create_repository
from pulp_platform.plugin_api import Plugins

_NOT_IN_ID = re.compile(r"[^A-Za-z0-9_.\-]")


@dataclass(frozen=True)
class Target:
    """A repository and its web distributor's config (registry name, protection, deletes)."""

    repo_id: str
    config: dict[str, Any]


def find(name: str) -> Target | None:
    """The repository ``name`` pushes into, or None when no repository has it."""
    pointer = RegistryName._get_collection().find_one({"_id": name}, {"repo_id": 1})
    web = RepoDistributor.objects(distributor_type_id=constants.DISTRIBUTOR_WEB_TYPE_ID)
    if pointer is not None:
        row = web.filter(repo_id=pointer["repo_id"]).first()
        if row is not None:
            return Target(row.repo_id, dict(row.config or {}))
    for row in web.filter(**{f"config__{constants.CONFIG_KEY_REPO_REGISTRY_ID}": name}):
        return Target(row.repo_id, dict(row.config or {}))
    row = web.filter(repo_id=name).first()
    if row is not None and not (row.config or {}).get(constants.CONFIG_KEY_REPO_REGISTRY_ID):
        return Target(row.repo_id, dict(row.config or {}))
    return None


def find_or_create(plugins: Plugins, name: str) -> Target:
    """The repository ``name`` pushes into, created (see the module docstring) when there is none."""
    found = find(name)
    if found is not None:
        return found
    base = _NOT_IN_ID.sub("-", name.replace("/", "-"))
    config = {constants.CONFIG_KEY_REPO_REGISTRY_ID: name, constants.CONFIG_KEY_PROTECTED: False}
    for attempt in range(100):
        repo_id = base if attempt == 0 else f"{base}-{attempt + 1}"
        body = {"id": repo_id, "display_name": name, "notes": dict(constants.REPO_NOTE_TYPE),
                "description": f"Created by a push of {name}",
                "importer_type_id": constants.IMPORTER_TYPE_ID,
                "distributors": [{"distributor_id": constants.CLI_WEB_DISTRIBUTOR_ID,
                                  "distributor_type_id": constants.DISTRIBUTOR_WEB_TYPE_ID,
                                  "distributor_config": config, "auto_publish": True}]}
        try:
            create_repository(plugins, body)
        except (DuplicateResource, InvalidValue):
            # That id is taken, or two pushes of the same new name raced and the other is still writing
            # the repository (its distributor comes last): wait for it, then take it or try the next id.
            again = _wait_for(name, repo_id)
            if again is not None:
                return again
            continue
        return Target(repo_id, config)
    raise DuplicateResource(base)


def _wait_for(name: str, repo_id: str, timeout: float = 5.0) -> Target | None:
    """The repository for ``name`` once a concurrent creation of ``repo_id`` is complete; None if it is another's."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = find(name)
        if found is not None:
            return found
        if RepoDistributor.objects(repo_id=repo_id).first() is not None:
            return None  # complete, and serving another name
        time.sleep(0.02)
    return find(name)
