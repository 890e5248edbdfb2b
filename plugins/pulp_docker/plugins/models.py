"""The docker unit models, with Pulp 2's type ids, unit keys and field names.

Models only persist; ``from_parsed`` builds one from a parsed manifest (``pulp_docker.common.manifest``).
Blobs and manifests keep their exact bytes as a content-store file named by digest (``_storage_path``).
Whether a publication still serves a unit is the web distributor's to say (``units_in_use``), not theirs.
"""

from __future__ import annotations

from typing import Any, ClassVar

import mongoengine as me

from pulp_docker.common import constants
from pulp_docker.common.manifest import ParsedManifest, ParsedManifestList
from pulp_platform.models.content import ContentUnit


class Blob(ContentUnit):
    type_id: ClassVar[str] = constants.BLOB_TYPE_ID
    unit_key_fields: ClassVar[tuple[str, ...]] = ("digest",)

    digest = me.StringField(required=True)
    size = me.IntField()

    meta: ClassVar[dict[str, Any]] = {
        "collection": f"units_{constants.BLOB_TYPE_ID}",
        "indexes": [{"fields": ["digest"], "unique": True}],
    }


class FSLayer(me.EmbeddedDocument):
    blob_sum = me.StringField(required=True)
    size = me.IntField()
    layer_type = me.StringField()


class Manifest(ContentUnit):
    """A single image manifest: Docker schema 1 or 2, or OCI."""

    type_id: ClassVar[str] = constants.MANIFEST_TYPE_ID
    unit_key_fields: ClassVar[tuple[str, ...]] = ("digest",)

    digest = me.StringField(required=True)
    schema_version = me.IntField(required=True)
    media_type = me.StringField(required=True)
    fs_layers = me.ListField(me.EmbeddedDocumentField(FSLayer))
    config_layer = me.StringField()
    size = me.IntField()
    # OCI 1.1 referrers: the manifest this one refers to, its artifact type, its annotations.
    subject = me.StringField()
    artifact_type = me.StringField()
    annotations = me.DictField()

    meta: ClassVar[dict[str, Any]] = {
        "collection": f"units_{constants.MANIFEST_TYPE_ID}",
        "indexes": [{"fields": ["digest"], "unique": True}],
    }

    @classmethod
    def from_parsed(cls, parsed: ParsedManifest, storage_path: str) -> Manifest:
        return cls(
            digest=parsed.digest,
            schema_version=parsed.schema_version,
            media_type=parsed.media_type,
            fs_layers=[FSLayer(blob_sum=b.digest, size=b.size, layer_type=b.media_type) for b in parsed.layers],
            config_layer=parsed.config.digest if parsed.config else None,
            size=parsed.size,
            storage_path=storage_path,
            subject=parsed.subject,
            artifact_type=parsed.artifact_type,
            annotations=parsed.annotations,
        )


class EmbeddedManifest(me.EmbeddedDocument):
    digest = me.StringField(required=True)
    os = me.StringField()
    arch = me.StringField()
    variant = me.StringField()
    media_type = me.StringField()
    size = me.IntField()


class ManifestList(ContentUnit):
    """A Docker manifest list or an OCI image index."""

    type_id: ClassVar[str] = constants.MANIFEST_LIST_TYPE_ID
    unit_key_fields: ClassVar[tuple[str, ...]] = ("digest",)

    digest = me.StringField(required=True)
    schema_version = me.IntField(required=True)
    media_type = me.StringField(required=True)
    manifests = me.ListField(me.EmbeddedDocumentField(EmbeddedManifest))
    amd64_digest = me.StringField()
    amd64_schema_version = me.IntField()
    size = me.IntField()
    subject = me.StringField()
    artifact_type = me.StringField()
    annotations = me.DictField()

    meta: ClassVar[dict[str, Any]] = {
        "collection": f"units_{constants.MANIFEST_LIST_TYPE_ID}",
        "indexes": [{"fields": ["digest"], "unique": True}],
    }

    @classmethod
    def from_parsed(cls, parsed: ParsedManifestList, storage_path: str) -> ManifestList:
        amd64 = parsed.amd64
        return cls(
            digest=parsed.digest,
            schema_version=parsed.schema_version,
            media_type=parsed.media_type,
            manifests=[EmbeddedManifest(digest=m.digest, os=m.os, arch=m.architecture, variant=m.variant,
                                        media_type=m.media_type, size=m.size) for m in parsed.manifests],
            amd64_digest=amd64.digest if amd64 else None,
            amd64_schema_version=2 if amd64 else None,
            size=parsed.size,
            storage_path=storage_path,
            subject=parsed.subject,
            artifact_type=parsed.artifact_type,
            annotations=parsed.annotations,
        )


class Tag(ContentUnit):
    """A name in one repository pointing at a manifest or a manifest list; tagging again moves it."""

    type_id: ClassVar[str] = constants.TAG_TYPE_ID
    unit_key_fields: ClassVar[tuple[str, ...]] = ("name", "repo_id", "schema_version", "manifest_type")

    name = me.StringField(required=True)
    repo_id = me.StringField(required=True)
    schema_version = me.IntField(required=True)
    manifest_type = me.StringField(required=True, choices=(constants.MANIFEST_TYPE_IMAGE, constants.MANIFEST_TYPE_LIST))
    manifest_digest = me.StringField(required=True)

    meta: ClassVar[dict[str, Any]] = {
        "collection": f"units_{constants.TAG_TYPE_ID}",
        "indexes": [
            {"fields": ["name", "repo_id", "schema_version", "manifest_type"], "unique": True},
            {"fields": ["repo_id", "name"]},
        ],
    }
