"""What the registry serves: published snapshots of repositories, and the names pointing at them.

Two collections hold the published state::

    docker_published_units   one row per tag, manifest, manifest list and blob of one publication
                             {publication_id, repo_id, kind, key, ...}; key is the tag name or digest
    docker_registry_names    one document per registry name (``_id``, e.g. ``ns/app``) pointing at the
                             current publication, with the repository it came from and ``protected``

A publish writes a new publication's rows first, then switches the name to it with one single-document
write (atomic without transactions), then deletes the rows of the repository's older publications. A
reader resolves the name once and reads rows of that publication only, so it sees the old snapshot or
the new one, never a mix; a reader that resolved the name just before the switch and misses a row asks
again (``Published.refresh``), so deleting the old rows never hides content the new snapshot has.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import mongoengine as me
from pymongo.errors import DuplicateKeyError

from pulp_docker.common import constants
from pulp_docker.common.references import REPOSITORY_NAME_MAX, is_repository_name
from pulp_docker.plugins.models import Blob, Manifest, ManifestList, Tag
from pulp_platform import errors
from pulp_platform.models.content import ContentUnit, now
from pulp_platform.plugin_api import Conduit

log = logging.getLogger(__name__)

# Kinds of published rows.
TAG, MANIFEST, LIST, BLOB = "tag", "manifest", "list", "blob"
_BATCH = 1000



class PublishedUnit(me.Document):
    """One tag, manifest, list or blob of one publication (written in bulk through pymongo)."""

    publication_id = me.StringField(required=True)
    repo_id = me.StringField(required=True)
    kind = me.StringField(required=True, choices=(TAG, MANIFEST, LIST, BLOB))
    # The tag name for tags, the digest for everything else.
    key = me.StringField(required=True)
    digest = me.StringField(required=True)
    media_type = me.StringField()
    size = me.IntField()
    storage_path = me.StringField()
    schema_version = me.IntField()
    # Tags: "image" or "list". Lists: their instances [{digest, media_type, os, arch, variant}].
    manifest_type = me.StringField()
    instances = me.ListField(me.DictField())
    # Manifests and lists: the referrers API's fields (OCI 1.1).
    subject = me.StringField()
    artifact_type = me.StringField()
    annotations = me.DictField()

    meta: ClassVar[dict[str, Any]] = {
        "collection": "docker_published_units",
        "indexes": [{"fields": ["publication_id", "kind", "key"]}, {"fields": ["repo_id", "publication_id"]},
                    {"fields": ["digest"]}, {"fields": ["publication_id", "subject"]}],
    }


class RegistryName(me.Document):
    """A registry name and the publication it serves; rewritten whole by each publish (one atomic write)."""

    name = me.StringField(primary_key=True)
    repo_id = me.StringField(required=True)
    publication_id = me.StringField(required=True)
    protected = me.BooleanField(default=False)
    published = me.DateTimeField(default=now)

    meta: ClassVar[dict[str, Any]] = {"collection": "docker_registry_names", "indexes": [{"fields": ["repo_id"]}]}


PUBLICATION_MODELS: list[type[me.Document]] = [PublishedUnit, RegistryName]


# -- configuration ----------------------------------------------------------------------------------
def registry_name(repo_id: str, config: dict[str, Any]) -> str:
    """The name a repository is served under: ``repo-registry-id``, else the repository id."""
    return config.get(constants.CONFIG_KEY_REPO_REGISTRY_ID) or repo_id


def is_protected(config: dict[str, Any]) -> bool:
    """``protected`` as a bool; Pulp 2 clients may send the strings "true"/"false"."""
    value = config.get(constants.CONFIG_KEY_PROTECTED, False)
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def valid_name(name: str) -> bool:
    return is_repository_name(name)


def check_name(repo_id: str, config: dict[str, Any]) -> str:
    """The registry name the config gives; InvalidValue when it is outside the distribution grammar."""
    raw = config.get(constants.CONFIG_KEY_REPO_REGISTRY_ID)
    if raw is not None and not isinstance(raw, str):
        raise errors.InvalidValue(constants.CONFIG_KEY_REPO_REGISTRY_ID, reason="must be a string")
    name = registry_name(repo_id, config)
    if not valid_name(name):
        source = "repo-registry-id" if raw else f"the repository id {repo_id!r}, used when repo-registry-id is unset,"
        raise errors.InvalidValue(
            constants.CONFIG_KEY_REPO_REGISTRY_ID,
            reason=f"{source} {name!r} is not a valid registry name: lowercase letters and digits, separated by "
                   f"'.', '_', '__' or '-', in components joined by '/', at most {REPOSITORY_NAME_MAX} characters")
    return name


def deletes_allowed(config: dict[str, Any]) -> bool:
    """``allow-delete`` as a bool (default true): whether registry clients may delete from the repository."""
    value = config.get(constants.CONFIG_KEY_ALLOW_DELETE, True)
    if isinstance(value, str):
        return value.strip().lower() != "false"
    return bool(value)


def check_protected(config: dict[str, Any]) -> None:
    """InvalidValue unless ``protected`` is absent, a bool, or the string "true"/"false"."""
    for key in (constants.CONFIG_KEY_PROTECTED, constants.CONFIG_KEY_ALLOW_DELETE):
        value = config.get(key, False)
        if not isinstance(value, bool) and str(value).strip().lower() not in ("true", "false"):
            raise errors.InvalidValue(key, reason="must be true or false")


def validate_config(repo_id: str, config: dict[str, Any], distributor_type_id: str) -> None:
    """Raise InvalidValue for a bad registry id or ``protected``, or a name another repository uses."""
    name = check_name(repo_id, config)
    check_protected(config)
    other = _name_owner(name, repo_id, distributor_type_id)
    if other:
        raise errors.InvalidValue(constants.CONFIG_KEY_REPO_REGISTRY_ID,
                                  reason=f"registry name {name!r} is already used by repository {other!r}")


def _name_owner(name: str, repo_id: str, distributor_type_id: str) -> str | None:
    """Another repository configured (or published) under ``name``, if any."""
    from pulp_platform.models.repository import RepoDistributor

    for row in RepoDistributor.objects(distributor_type_id=distributor_type_id, repo_id__ne=repo_id):
        if registry_name(row.repo_id, row.config or {}) == name:
            return row.repo_id
    pointer = RegistryName._get_collection().find_one({"_id": name}, {"repo_id": 1})
    if pointer and pointer["repo_id"] != repo_id:
        return pointer["repo_id"]
    return None


# -- publishing -------------------------------------------------------------------------------------
def _manifest_row(m: Manifest) -> dict[str, Any]:
    return {"kind": MANIFEST, "key": m.digest, "digest": m.digest, "media_type": m.media_type, "size": m.size,
            "storage_path": m.storage_path, "schema_version": m.schema_version,
            "subject": m.subject, "artifact_type": m.artifact_type, "annotations": m.annotations or None}


def _list_row(ml: ManifestList) -> dict[str, Any]:
    instances = [{"digest": i.digest, "media_type": i.media_type, "os": i.os, "arch": i.arch,
                  "variant": i.variant} for i in ml.manifests]
    return {"kind": LIST, "key": ml.digest, "digest": ml.digest, "media_type": ml.media_type, "size": ml.size,
            "storage_path": ml.storage_path, "schema_version": ml.schema_version, "instances": instances,
            "subject": ml.subject, "artifact_type": ml.artifact_type, "annotations": ml.annotations or None}


def _blob_row(b: Blob) -> dict[str, Any]:
    return {"kind": BLOB, "key": b.digest, "digest": b.digest, "size": b.size, "storage_path": b.storage_path}


def _tag_row(t: Tag, target_media_type: str) -> dict[str, Any]:
    return {"kind": TAG, "key": t.name, "digest": t.manifest_digest, "media_type": target_media_type,
            "schema_version": t.schema_version, "manifest_type": t.manifest_type}


def _snapshot(conduit: Conduit, publication_id: str) -> Iterator[dict[str, Any]]:
    """The rows of a new publication of the conduit's repository."""
    base = {"publication_id": publication_id, "repo_id": conduit.repo_id}
    held = conduit.unit_ids_by_type()  # one query for every type; a type the repository lacks costs none

    def units(model: type[ContentUnit]) -> Any:
        ids = held.get(model.type_id)
        return model.objects(id__in=ids) if ids else model.objects.none()

    targets: dict[str, str] = {}
    for m in units(Manifest):
        targets[m.digest] = m.media_type
        yield {**base, **_manifest_row(m)}
    for ml in units(ManifestList):
        targets[ml.digest] = ml.media_type
        yield {**base, **_list_row(ml)}
    for b in units(Blob).only("digest", "size", "storage_path"):
        yield {**base, **_blob_row(b)}
    for t in units(Tag):
        media_type = targets.get(t.manifest_digest)
        if media_type is None:
            log.warning("tag %s of repository %s names %s, which the repository does not hold; not published",
                        t.name, conduit.repo_id, t.manifest_digest)
            continue
        yield {**base, **_tag_row(t, media_type)}


def _insert(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    collection = PublishedUnit._get_collection()
    counts = {TAG: 0, MANIFEST: 0, LIST: 0, BLOB: 0}
    batch: list[dict[str, Any]] = []
    for row in rows:
        counts[row["kind"]] += 1
        batch.append(row)
        if len(batch) >= _BATCH:
            collection.insert_many(batch, ordered=False)
            batch = []
    if batch:
        collection.insert_many(batch, ordered=False)
    return counts


def publish(conduit: Conduit, config: dict[str, Any]) -> dict[str, Any]:
    """Snapshot the conduit's repository and switch its registry name to the snapshot; returns a summary."""
    repo_id = conduit.repo_id
    # Checked again here: a publish's override_config does not go through validate_config.
    name = check_name(repo_id, config)
    check_protected(config)
    protected = is_protected(config)
    publication_id = uuid.uuid4().hex
    rows = PublishedUnit._get_collection()
    try:
        counts = _insert(_snapshot(conduit, publication_id))
        # The switch: one single-document upsert. Filtering on repo_id makes a name owned by another
        # repository collide on _id instead of being taken over.
        RegistryName._get_collection().update_one(
            {"_id": name, "repo_id": repo_id},
            {"$set": {"publication_id": publication_id, "protected": protected, "published": now()}},
            upsert=True)
    except DuplicateKeyError:
        rows.delete_many({"publication_id": publication_id})
        owner = RegistryName._get_collection().find_one({"_id": name}, {"repo_id": 1}) or {}
        raise errors.InvalidValue(constants.CONFIG_KEY_REPO_REGISTRY_ID,
                                  reason=f"registry name {name!r} is already published by repository "
                                         f"{owner.get('repo_id')!r}") from None
    except BaseException:
        rows.delete_many({"publication_id": publication_id})
        raise
    # A renamed repository stops being served under its old name; older publications (and rows left
    # by a publish that died before its switch) go. Publishes of one repository never run at once.
    RegistryName._get_collection().delete_many({"repo_id": repo_id, "_id": {"$ne": name}})
    rows.delete_many({"repo_id": repo_id, "publication_id": {"$ne": publication_id}})
    log.info("published repository %s as %s (%s)", repo_id, name, counts)
    return {"registry_name": name, "publication_id": publication_id, "protected": protected,
            "tags": counts[TAG], "manifests": counts[MANIFEST], "manifest_lists": counts[LIST],
            "blobs": counts[BLOB]}


def publish_units(conduit: Conduit, config: dict[str, Any], units: Iterable[ContentUnit]) -> None:
    """Add ``units`` (just associated: a push) to what the repository's name serves, in place.

    The cost is that of the units added, not of the repository: the current publication gains their
    rows (a tag's row is replaced). Each row is one atomic write, and a pull sees a blob or manifest
    only once its own row is there; a push adds blobs, then manifests, then the tag, so a tag never
    names a manifest the publication lacks. A name never published gets an empty publication first
    (never a snapshot here: this runs outside the repository's lock).

    A full publish of the repository may be running (it holds the lock): it may switch the name to a
    snapshot taken before these units were associated. So the rows are written again into whatever
    publication the name serves once no such publish holds the repository.
    """
    name = check_name(conduit.repo_id, config)
    rows = _rows_for(units)
    publication_id = _ensure_publication(conduit.repo_id, name, is_protected(config))
    deadline = time.monotonic() + 600
    while True:
        _upsert_rows(conduit.repo_id, publication_id, rows)
        publishing = _full_publish_running(conduit.repo_id)
        again = RegistryName._get_collection().find_one({"_id": name}, {"publication_id": 1})
        if again is None:
            return  # unpublished meanwhile: nothing serves the name
        if again["publication_id"] == publication_id and not publishing:
            return
        publication_id = again["publication_id"]
        if publishing:
            if time.monotonic() > deadline:
                log.warning("publishing %s to %s: a publish of the repository is still running; rows written to "
                            "the current publication only", conduit.repo_id, name)
                return
            time.sleep(0.05)


def _rows_for(units: Iterable[ContentUnit]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    media_types: dict[str, str] = {}
    for unit in units:
        if isinstance(unit, Manifest):
            rows.append(_manifest_row(unit))
            media_types[unit.digest] = unit.media_type
        elif isinstance(unit, ManifestList):
            rows.append(_list_row(unit))
            media_types[unit.digest] = unit.media_type
        elif isinstance(unit, Blob):
            rows.append(_blob_row(unit))
        elif isinstance(unit, Tag):
            rows.append(_tag_row(unit, media_types.get(unit.manifest_digest) or _media_type_of(unit)))
    return rows


def _ensure_publication(repo_id: str, name: str, protected: bool) -> str:
    """The publication ``name`` serves, an empty one created if it has none (concurrent callers agree)."""
    names = RegistryName._get_collection()
    pointer = names.find_one({"_id": name, "repo_id": repo_id}, {"publication_id": 1})
    if pointer is not None:
        return pointer["publication_id"]
    try:
        names.update_one({"_id": name, "repo_id": repo_id},
                         {"$setOnInsert": {"publication_id": uuid.uuid4().hex, "protected": protected,
                                           "published": now()}}, upsert=True)
    except DuplicateKeyError:
        pass  # another repository's name, or a racing insert of ours: read who won
    pointer = names.find_one({"_id": name}, {"publication_id": 1, "repo_id": 1})
    if pointer is None or pointer["repo_id"] != repo_id:
        raise errors.InvalidValue(constants.CONFIG_KEY_REPO_REGISTRY_ID,
                                  reason=f"registry name {name!r} is published by another repository")
    return pointer["publication_id"]


def _full_publish_running(repo_id: str) -> bool:
    """True while a task other than a push step holds the repository (it may publish a snapshot)."""
    from pulp_platform.models.task import ReservedResource, TaskStatus
    from pulp_platform.tasking.reservations import repository_resource

    holder = ReservedResource._get_collection().find_one({"_id": repository_resource(repo_id)}, {"task_id": 1})
    if holder is None:
        return False
    task = TaskStatus._get_collection().find_one({"_id": holder["task_id"]}, {"operation": 1})
    return task is not None and not str(task.get("operation", "")).startswith(PUSH_OPERATIONS)


PUSH_OPERATIONS = "pulp_docker.plugins.push."


def _media_type_of(tag: Tag) -> str:
    model = ManifestList if tag.manifest_type == constants.MANIFEST_TYPE_LIST else Manifest
    target = model.objects(digest=tag.manifest_digest).only("media_type").first()
    return target.media_type if target else ""


def _upsert_rows(repo_id: str, publication_id: str, rows: list[dict[str, Any]]) -> None:
    collection = PublishedUnit._get_collection()
    for row in rows:
        key = {"publication_id": publication_id, "kind": row["kind"], "key": row["key"]}
        if row["kind"] == TAG:
            key.update(schema_version=row["schema_version"], manifest_type=row["manifest_type"])
        collection.replace_one(key, {**row, "publication_id": publication_id, "repo_id": repo_id}, upsert=True)


def unpublish_units(repo_id: str, *, digests: Iterable[str] = (), tags: Iterable[str] = ()) -> None:
    """Stop serving these manifests, lists or blobs (by digest) and tags (by name) under the repository's name."""
    pointer = RegistryName._get_collection().find_one({"repo_id": repo_id}, {"publication_id": 1})
    if pointer is None:
        return
    query: list[dict[str, Any]] = []
    if digests := list(digests):
        query.append({"kind": {"$in": [MANIFEST, LIST, BLOB]}, "key": {"$in": digests}})
    if tags := list(tags):
        query.append({"kind": TAG, "key": {"$in": tags}})
    if query:
        PublishedUnit._get_collection().delete_many({"publication_id": pointer["publication_id"], "$or": query})


def unpublish(repo_id: str) -> None:
    """Stop serving every name of the repository, then drop its publications."""
    RegistryName._get_collection().delete_many({"repo_id": repo_id})
    PublishedUnit._get_collection().delete_many({"repo_id": repo_id})


_SERVED_KINDS: dict[str, tuple[type[ContentUnit], str]] = {
    constants.BLOB_TYPE_ID: (Blob, BLOB),
    constants.MANIFEST_TYPE_ID: (Manifest, MANIFEST),
    constants.MANIFEST_LIST_TYPE_ID: (ManifestList, LIST),
}


def served_units(type_id: str, unit_ids: list[str]) -> set[str]:
    """Of these units of one type, those some publication serves (a pull may read their files).

    Tags are never served from their unit (a tag row carries all it needs), so none is in use.
    """
    model_kind = _SERVED_KINDS.get(type_id)
    if model_kind is None or not unit_ids:
        return set()
    model, kind = model_kind
    ids = {doc["digest"]: doc["_id"]
           for doc in model._get_collection().find({"_id": {"$in": unit_ids}}, {"digest": 1})}
    served = PublishedUnit._get_collection().distinct("digest", {"digest": {"$in": list(ids)}, "kind": kind})
    return {ids[digest] for digest in served}


# -- reading ----------------------------------------------------------------------------------------
@dataclass
class Published:
    """A registry name resolved to its current publication; reads see only that publication's rows."""

    name: str
    repo_id: str
    publication_id: str
    protected: bool

    @classmethod
    def lookup(cls, name: str) -> Published | None:
        doc = RegistryName._get_collection().find_one({"_id": name})
        if doc is None:
            return None
        return cls(doc["_id"], doc["repo_id"], doc["publication_id"], bool(doc.get("protected")))

    def refresh(self) -> bool:
        """Follow the name to a newer publication if a publish switched it; True if it moved."""
        again = Published.lookup(self.name)
        if again is None or again.publication_id == self.publication_id:
            return False
        self.repo_id, self.publication_id, self.protected = again.repo_id, again.publication_id, again.protected
        return True

    def _find(self, query: dict[str, Any], many: bool = False) -> Any:
        collection = PublishedUnit._get_collection()
        for _ in range(2):
            q = {"publication_id": self.publication_id, **query}
            found = list(collection.find(q)) if many else collection.find_one(q)
            if found or not self.refresh():
                return found
        return found

    def tag(self, name: str) -> list[dict[str, Any]]:
        """Every row of one tag name (one per schema version and manifest type)."""
        return self._find({"kind": TAG, "key": name}, many=True)

    def manifest(self, digest: str) -> dict[str, Any] | None:
        """The manifest or manifest list row with this digest."""
        return self._find({"kind": {"$in": [MANIFEST, LIST]}, "key": digest})

    def blob(self, digest: str) -> dict[str, Any] | None:
        return self._find({"kind": BLOB, "key": digest})

    def referrers(self, digest: str) -> list[dict[str, Any]]:
        """The manifests and lists whose ``subject`` is ``digest`` (OCI 1.1 referrers)."""
        return self._find({"kind": {"$in": [MANIFEST, LIST]}, "subject": digest}, many=True)

    def tag_names(self, last: str | None, limit: int | None) -> list[str]:
        """Distinct tag names in lexical order, after ``last``, at most ``limit``."""
        query: dict[str, Any] = {"publication_id": self.publication_id, "kind": TAG}
        if last:
            query["key"] = {"$gt": last}
        names = sorted(set(PublishedUnit._get_collection().distinct("key", query)))
        return names if limit is None else names[:limit]


def registry_names(last: str | None, limit: int | None, include_protected: bool) -> list[str]:
    """Published names in lexical order, after ``last``, at most ``limit``."""
    query: dict[str, Any] = {}
    if last:
        query["_id"] = {"$gt": last}
    if not include_protected:
        query["protected"] = {"$ne": True}
    cursor = RegistryName._get_collection().find(query, {"_id": 1}).sort("_id", 1)
    if limit is not None:
        cursor = cursor.limit(limit)
    return [doc["_id"] for doc in cursor]
