"""JSON Schemas for the manifest kinds we accept (checked with the jsonschema library).

They hold the structure registries rely on; media types and digests are checked again, with precise
messages, in ``manifest``.
"""

from __future__ import annotations

from typing import Any

from pulp_docker.common.references import ANY_DIGEST

DIGEST = {"type": "string", "pattern": ANY_DIGEST.pattern}

DESCRIPTOR: dict[str, Any] = {
    "type": "object",
    "required": ["digest", "size"],
    "properties": {
        "mediaType": {"type": "string"},
        "digest": DIGEST,
        "size": {"type": "integer", "minimum": 0},
        "urls": {"type": "array", "items": {"type": "string"}},
    },
}

IMAGE_MANIFEST: dict[str, Any] = {
    "type": "object",
    "required": ["schemaVersion", "config", "layers"],
    "properties": {
        "schemaVersion": {"const": 2},
        "mediaType": {"type": "string"},
        "config": DESCRIPTOR,
        "layers": {"type": "array", "items": DESCRIPTOR},
    },
}

PLATFORM: dict[str, Any] = {
    "type": "object",
    "required": ["architecture", "os"],
    "properties": {"architecture": {"type": "string"}, "os": {"type": "string"}, "variant": {"type": "string"}},
}

MANIFEST_LIST: dict[str, Any] = {
    "type": "object",
    "required": ["schemaVersion", "manifests"],
    "properties": {
        "schemaVersion": {"const": 2},
        "mediaType": {"type": "string"},
        "manifests": {
            "type": "array",
            "items": {**DESCRIPTOR, "properties": {**DESCRIPTOR["properties"], "platform": PLATFORM}},
        },
    },
}

SCHEMA1_MANIFEST: dict[str, Any] = {
    "type": "object",
    "required": ["schemaVersion", "fsLayers"],
    "properties": {
        "schemaVersion": {"const": 1},
        "name": {"type": "string"},
        "tag": {"type": "string"},
        "architecture": {"type": "string"},
        "fsLayers": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "object", "required": ["blobSum"], "properties": {"blobSum": DIGEST}},
        },
        "history": {"type": "array"},
        "signatures": {"type": "array"},
    },
}
