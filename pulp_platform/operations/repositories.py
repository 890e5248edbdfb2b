"""Creating, updating and deleting repositories with their importer and distributors."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from mongoengine import NotUniqueError

from pulp_platform.errors import DuplicateResource, InvalidValue, MissingResource, MissingValue
from pulp_platform.models.content import RepositoryContentUnit, now
from pulp_platform.models.repository import RepoDistributor, RepoImporter, Repository
from pulp_platform.operations import history
from pulp_platform.plugin_api import Plugins
from pulp_platform.tasking.runner import TaskContext
from pulp_platform.validation import merged_update as merged_config

log = logging.getLogger(__name__)
_REPO_ID = re.compile(r"^[A-Za-z0-9_.\-]+$")


def get_repository(repo_id: str) -> Repository:
    repo = Repository.objects(repo_id=repo_id).first()
    if repo is None:
        raise MissingResource(repository=repo_id)
    return repo


def _dict_field(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidValue(name, reason="must be an object")
    return value


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidValue(name, reason="must be a string")
    return value


def validated_distributor(plugins: Plugins, repo_id: str, entry: Any) -> RepoDistributor:
    """A distributor described by ``{distributor_type_id, distributor_id?, distributor_config?, auto_publish?}``,
    validated by its plugin (config keys given as null are dropped, as Pulp 2 did); not saved."""
    if not isinstance(entry, dict):
        raise InvalidValue("distributors", reason="each distributor must be an object")
    type_id = entry.get("distributor_type_id")
    if not type_id:
        raise MissingValue("distributor_type_id")
    if type_id not in plugins.distributors:
        raise InvalidValue("distributor_type_id", reason=f"no distributor of type {type_id!r} is installed")
    dist_id = entry.get("distributor_id") or str(uuid.uuid4())
    if not isinstance(dist_id, str) or not _REPO_ID.match(dist_id):
        raise InvalidValue("distributor_id", reason="letters, digits, '_', '-' and '.' only")
    auto_publish = entry.get("auto_publish")
    if auto_publish is not None and not isinstance(auto_publish, bool):
        raise InvalidValue("auto_publish", reason="must be true or false")
    config = {k: v for k, v in _dict_field(entry, "distributor_config").items() if v is not None}
    plugins.distributors[type_id]().validate_config(repo_id, config)
    return RepoDistributor(repo_id=repo_id, distributor_id=dist_id, distributor_type_id=type_id,
                           config=config, auto_publish=bool(auto_publish))


def _validated_distributors(plugins: Plugins, repo_id: str, raw: Any) -> list[RepoDistributor]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidValue("distributors", reason="must be a list")
    found: list[RepoDistributor] = []
    for entry in raw:
        dist = validated_distributor(plugins, repo_id, entry)
        if any(d.distributor_id == dist.distributor_id for d in found):
            raise InvalidValue("distributor_id", reason=f"{dist.distributor_id!r} given twice")
        found.append(dist)
    return found


def create_repository(plugins: Plugins, body: dict[str, Any]) -> Repository:
    """Validate everything, then write the repository, its importer and distributors (or nothing)."""
    repo_id = body.get("id")
    if not repo_id:
        raise MissingValue("id")
    if not isinstance(repo_id, str) or not _REPO_ID.match(repo_id):
        raise InvalidValue("id", reason="letters, digits, '_', '-' and '.' only")
    repo = Repository(repo_id=repo_id, display_name=_optional_str(body, "display_name") or repo_id,
                      description=_optional_str(body, "description"), notes=_dict_field(body, "notes"),
                      content_unit_counts={})
    importer = None
    importer_type_id = body.get("importer_type_id")
    if importer_type_id is not None:
        if importer_type_id not in plugins.importers:
            raise InvalidValue("importer_type_id", reason=f"no importer of type {importer_type_id!r} is installed")
        config = _dict_field(body, "importer_config")
        plugins.importers[importer_type_id]().validate_config(config)
        importer = RepoImporter(repo_id=repo_id, importer_type_id=importer_type_id, config=config)
    elif body.get("importer_config"):
        raise MissingValue("importer_type_id")
    distributors = _validated_distributors(plugins, repo_id, body.get("distributors"))
    try:
        repo.save(force_insert=True)
    except NotUniqueError:
        raise DuplicateResource(repo_id) from None
    try:
        if importer is not None:
            importer.save(force_insert=True)
        for dist in distributors:
            dist.save(force_insert=True)
    except BaseException:
        # The repository document went first (it is the uniqueness check); take it all back.
        _delete_documents(repo_id)
        raise
    return repo


def update_repository(plugins: Plugins, repo_id: str, body: dict[str, Any], *,
                      apply_distributors: bool = True) -> Repository:
    """Apply ``{delta, importer_config, distributor_configs}``, validating every part before writing any.

    With ``apply_distributors=False`` the distributor changes are only validated: the caller runs them
    as tasks under the repository's lock, as Pulp 2 did (a publish may be using the config).
    """
    repo = get_repository(repo_id)
    delta = _dict_field(body, "delta")
    unknown = sorted(set(delta) - {"display_name", "description", "notes"})
    if unknown:
        raise InvalidValue(*unknown, reason="only display_name, description and notes can be changed")
    for name in ("display_name", "description"):
        _optional_str(delta, name)
    notes = merged_config(repo.notes or {}, _dict_field(delta, "notes")) if "notes" in delta else None

    importer_change = _dict_field(body, "importer_config")
    importer = RepoImporter.objects(repo_id=repo_id).first()
    new_importer_config = None
    if importer_change:
        if importer is None:
            raise MissingResource(importer=repo_id)
        new_importer_config = merged_config(importer.config or {}, importer_change)
        plugins.importers[importer.importer_type_id]().validate_config(new_importer_config)

    new_dist_configs: list[tuple[RepoDistributor, dict[str, Any]]] = []
    for dist_id, change in _dict_field(body, "distributor_configs").items():
        dist = RepoDistributor.objects(repo_id=repo_id, distributor_id=dist_id).first()
        if dist is None:
            raise MissingResource(distributor=dist_id)
        if not isinstance(change, dict):
            raise InvalidValue("distributor_configs", reason=f"config of {dist_id!r} must be an object")
        config = merged_config(dist.config or {}, change)
        cls = plugins.distributors.get(dist.distributor_type_id)
        if cls is not None:
            cls().validate_config(repo_id, config)
        new_dist_configs.append((dist, config))

    changes = {k: delta[k] for k in ("display_name", "description") if k in delta}
    if notes is not None:
        changes["notes"] = notes
    if changes:
        Repository.objects(repo_id=repo_id).update_one(**{f"set__{k}": v for k, v in changes.items()})
    if new_importer_config is not None:
        importer.update(set__config=new_importer_config, set__last_updated=now())
    for dist, config in new_dist_configs if apply_distributors else []:
        dist.update(set__config=config, set__last_updated=now())
    return get_repository(repo_id)


def _delete_documents(repo_id: str) -> None:
    history.forget(repo_id)
    RepoDistributor.objects(repo_id=repo_id).delete()
    RepoImporter.objects(repo_id=repo_id).delete()
    Repository.objects(repo_id=repo_id).delete()


def delete_repository(ctx: TaskContext, repo_id: str) -> None:
    """Task: drop the repository's associations, let distributors clean up, then drop its documents.

    The repository document goes last, so an interrupted delete leaves a (partly emptied) repository
    that can be deleted again, never associations that a new repository of the same id would inherit.
    """
    plugins = ctx.plugins()
    RepositoryContentUnit.objects(repo_id=repo_id).delete()
    problems: list[Exception] = []
    for dist in RepoDistributor.objects(repo_id=repo_id):
        cls = plugins.distributors.get(dist.distributor_type_id)
        if cls is None:
            continue
        try:
            cls().distributor_removed(repo_id, dist.config or {})
        except Exception as exc:  # noqa: BLE001 - remove the rest, then report
            log.exception("distributor %s of %s failed to clean up", dist.distributor_id, repo_id)
            problems.append(exc)
    _delete_documents(repo_id)
    if problems:
        raise problems[0]
