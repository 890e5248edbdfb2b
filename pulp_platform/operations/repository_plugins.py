"""A repository's importer and distributors as resources of their own, as Pulp 2's API had them.

Pulp 2 ran setting, updating and removing an importer, and updating and removing a distributor, as
tasks on the repository; so do we. The API checks what it can first (a bad config is a 400 at once),
and the task checks again against the state it finds, since the repository may have changed in between.
Adding a distributor is immediate, as in Pulp 2.

Task results are the API's bodies (``webapi.repositories``), so a secret in a config never shows.
"""

from __future__ import annotations

import logging
from typing import Any

from mongoengine import NotUniqueError

from pulp_platform.errors import DuplicateResource, InvalidValue, MissingResource, MissingValue
from pulp_platform.models.content import now
from pulp_platform.models.repository import RepoDistributor, RepoImporter
from pulp_platform.operations import history
from pulp_platform.operations.repositories import get_repository, merged_config, validated_distributor
from pulp_platform.plugin_api import Plugins
from pulp_platform.tasking.runner import TaskContext

log = logging.getLogger(__name__)
MASK = "*****"  # how the API shows a secret config value (webapi.repositories.SECRET)


def object_field(body: dict[str, Any], name: str, *, required: bool = False) -> dict[str, Any]:
    """``body[name]`` as an object (``{}`` when absent, MissingValue if ``required``)."""
    value = body.get(name)
    if value is None:
        if required:
            raise MissingValue(name)
        return {}
    if not isinstance(value, dict):
        raise InvalidValue(name, reason="must be an object")
    return value


# -- importer -----------------------------------------------------------------------------------
def importer(repo_id: str, importer_id: str | None = None) -> RepoImporter:
    """The repository's importer (the one named ``importer_id``, if given); MissingResource otherwise."""
    get_repository(repo_id)
    doc = RepoImporter.objects(repo_id=repo_id).first()
    if doc is None or (importer_id is not None and doc.importer_type_id != importer_id):
        raise MissingResource(repository=repo_id, importer=importer_id) if importer_id else \
            MissingResource(importer=repo_id)
    return doc


def new_importer_config(plugins: Plugins, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(importer_type_id, importer_config)`` of ``POST importers/``, validated; null keys dropped."""
    type_id = body.get("importer_type_id")
    if not type_id:
        raise MissingValue("importer_type_id")
    if not isinstance(type_id, str) or type_id not in plugins.importers:
        raise InvalidValue("importer_type_id", reason=f"no importer of type {type_id!r} is installed")
    config = {k: v for k, v in object_field(body, "importer_config").items() if v is not None}
    plugins.importers[type_id]().validate_config(config)
    return type_id, config


def updated_importer_config(plugins: Plugins, doc: RepoImporter, change: dict[str, Any]) -> dict[str, Any]:
    """The importer's config with ``change`` applied (null removes a key), validated by its plugin.

    A secret key given as the API's mask keeps its value: a client sending back what it read must not
    make ``*****`` the password.
    """
    cls = plugins.importers.get(doc.importer_type_id)
    if cls is None:
        raise InvalidValue("importer_type_id", reason=f"importer type {doc.importer_type_id!r} is not installed")
    secret = set(getattr(cls, "secret_config_keys", ()) or ())
    change = {k: v for k, v in change.items() if not (k in secret and v == MASK)}
    config = merged_config(doc.config or {}, change)
    cls().validate_config(config)
    return config


def _importer_body(doc: RepoImporter) -> dict[str, Any]:
    from pulp_platform.webapi.repositories import importer_body  # the API's rendering: secrets masked

    return importer_body(doc)


def _distributor_body(dist: RepoDistributor) -> dict[str, Any]:
    from pulp_platform.webapi.repositories import distributor_body

    return distributor_body(dist)


def set_importer(ctx: TaskContext, repo_id: str, importer_type_id: str,
                 importer_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Task: make ``importer_type_id`` the repository's importer, replacing any other (as Pulp 2 did)."""
    get_repository(repo_id)
    type_id, config = new_importer_config(ctx.plugins(), {"importer_type_id": importer_type_id,
                                                          "importer_config": importer_config})
    doc = RepoImporter(repo_id=repo_id, importer_type_id=type_id, config=config, last_override_config={})
    doc.validate()
    fields = doc.to_mongo().to_dict()
    fields.pop("_id", None)
    # One replace keeps the repository with exactly one importer at every moment.
    RepoImporter._get_collection().replace_one({"repo_id": repo_id}, fields, upsert=True)
    return _importer_body(importer(repo_id))


def update_importer(ctx: TaskContext, repo_id: str, importer_id: str,
                    importer_config: dict[str, Any]) -> dict[str, Any]:
    """Task: apply a config change to the importer (null removes a key)."""
    doc = importer(repo_id, importer_id)
    config = updated_importer_config(ctx.plugins(), doc, importer_config or {})
    doc.update(set__config=config, set__last_updated=now())
    return _importer_body(importer(repo_id))


def remove_importer(ctx: TaskContext, repo_id: str, importer_id: str) -> None:
    """Task: remove the repository's importer (its sync history stays with the repository)."""
    importer(repo_id, importer_id).delete()


# -- distributors -------------------------------------------------------------------------------
def distributor(repo_id: str, distributor_id: str) -> RepoDistributor:
    """One of the repository's distributors; MissingResource otherwise."""
    get_repository(repo_id)
    dist = RepoDistributor.objects(repo_id=repo_id, distributor_id=distributor_id).first()
    if dist is None:
        raise MissingResource(repository=repo_id, distributor=distributor_id)
    return dist


def add_distributor(plugins: Plugins, repo_id: str, body: dict[str, Any]) -> RepoDistributor:
    """Validate and save a new distributor.

    Pulp 2 replaced a distributor of the same id; here that is a 409, since replacing it outside a
    task could race a publish through it: delete it first.
    """
    get_repository(repo_id)
    dist = validated_distributor(plugins, repo_id, body)
    try:
        dist.save(force_insert=True)
    except NotUniqueError:
        raise DuplicateResource(dist.distributor_id) from None
    return distributor(repo_id, dist.distributor_id)  # as stored (dates at the database's precision)


def updated_distributor(plugins: Plugins, dist: RepoDistributor, change: dict[str, Any],
                        delta: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """``(config, auto_publish)`` after ``change`` (null removes a key) and ``delta``, validated."""
    unknown = sorted(set(delta) - {"auto_publish"})
    if unknown:
        raise InvalidValue(*unknown, reason="delta takes only auto_publish")
    auto_publish = delta.get("auto_publish", dist.auto_publish)
    if not isinstance(auto_publish, bool):
        raise InvalidValue("auto_publish", reason="must be true or false")
    config = merged_config(dist.config or {}, change)
    cls = plugins.distributors.get(dist.distributor_type_id)
    if cls is None:
        raise InvalidValue("distributor_type_id",
                           reason=f"distributor type {dist.distributor_type_id!r} is not installed")
    cls().validate_config(dist.repo_id, config)
    return config, auto_publish


def update_distributor(ctx: TaskContext, repo_id: str, distributor_id: str, distributor_config: dict[str, Any],
                       delta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Task: apply a config change and ``delta`` (``auto_publish``) to a distributor."""
    dist = distributor(repo_id, distributor_id)
    config, auto_publish = updated_distributor(ctx.plugins(), dist, distributor_config or {}, delta or {})
    dist.update(set__config=config, set__auto_publish=auto_publish, set__last_updated=now())
    return _distributor_body(distributor(repo_id, distributor_id))


def remove_distributor(ctx: TaskContext, repo_id: str, distributor_id: str) -> None:
    """Task: let the plugin undo its publication (``distributor_removed``), then drop the distributor
    and its publish history. A plugin that fails leaves the distributor in place, to be removed again."""
    dist = distributor(repo_id, distributor_id)
    cls = ctx.plugins().distributors.get(dist.distributor_type_id)
    if cls is not None:
        cls().distributor_removed(repo_id, dist.config or {})
    else:
        log.warning("distributor %s of %s: type %s is not installed; removing it without clean-up",
                    distributor_id, repo_id, dist.distributor_type_id)
    dist.delete()
    history.forget(repo_id, distributor_id)
