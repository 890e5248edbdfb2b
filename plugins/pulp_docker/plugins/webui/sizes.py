"""The bytes a repository stores (its blobs, manifests and lists), remembered until it changes.

Summing sizes means reading every unit the repository holds; a big repository has tens of thousands,
so each total is kept in ``webui_repository_sizes`` with a stamp of the repository's last change
(``last_unit_added``, ``last_unit_removed`` and its unit counts, which every task that changes it sets)
and computed again only when the stamp differs. A repository deleted and created again under its id
starts with another stamp (or with none of its units, whose total is 0 either way).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import mongoengine as me

from pulp_docker.common import constants
from pulp_docker.plugins.models import Blob, Manifest, ManifestList
from pulp_platform.models.content import RepositoryContentUnit, now

SIZED_MODELS = {constants.BLOB_TYPE_ID: Blob, constants.MANIFEST_TYPE_ID: Manifest,
                constants.MANIFEST_LIST_TYPE_ID: ManifestList}
# The embedded database matches ``$in`` by comparing with every listed value: short lists stay linear.
IN_BATCH = 50


class RepositorySize(me.Document):
    repo_id = me.StringField(primary_key=True)
    stamp = me.StringField(required=True)
    size = me.IntField(required=True)
    computed = me.DateTimeField(default=now)

    meta: ClassVar[dict[str, Any]] = {"collection": "webui_repository_sizes"}


def stamp(repo: dict[str, Any]) -> str:
    counts = sorted((repo.get("content_unit_counts") or {}).items())
    return f"{repo.get('last_unit_added')}|{repo.get('last_unit_removed')}|{counts}"


def batches(values: list[Any], size: int = IN_BATCH) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def compute(repo_id: str) -> int:
    total = 0
    associations = RepositoryContentUnit._get_collection()
    for type_id, model in SIZED_MODELS.items():
        ids = [row["unit_id"] for row in associations.find({"repo_id": repo_id, "unit_type_id": type_id},
                                                            {"unit_id": 1, "_id": 0})]
        collection = model._get_collection()
        for batch in batches(ids):
            total += sum(doc.get("size") or 0 for doc in collection.find({"_id": {"$in": batch}}, {"size": 1}))
    return total


def stored_sizes(repos: list[dict[str, Any]]) -> dict[str, int]:
    """The stored size of each repository (raw ``repos`` documents), from the cache where it is current."""
    wanted = {repo["repo_id"]: stamp(repo) for repo in repos}
    cached = {doc["_id"]: doc for batch in batches(list(wanted))
              for doc in RepositorySize._get_collection().find({"_id": {"$in": batch}})}
    sizes: dict[str, int] = {}
    for repo_id, current in wanted.items():
        doc = cached.get(repo_id)
        if doc is not None and doc.get("stamp") == current:
            sizes[repo_id] = doc["size"]
            continue
        sizes[repo_id] = compute(repo_id)
        RepositorySize._get_collection().replace_one(
            {"_id": repo_id}, {"stamp": current, "size": sizes[repo_id], "computed": now()}, upsert=True)
    return sizes

