"""JSON Schemas for the manifest kinds we accept (checked with the jsonschema library).

They hold the structure registries rely on; media types and digests are checked again, with precise
messages, in ``manifest``. ``strict()`` is the validator to check them with: an integer is a JSON
integer, as Go's ``int64`` reads it (JSON Schema itself counts ``777.0`` as an integer).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pulp_docker.common.references import ANY_DIGEST


def _is_integer(checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


@cache
def strict() -> Any:
    """The validator class the schemas are checked with. jsonschema is imported at the first check, not
    with this module: it is about 27 ms of every ``pulp-admin`` start, most of which never check a manifest."""
    from jsonschema import Draft202012Validator, validators

    return validators.extend(Draft202012Validator,
                             type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer))


def problem(doc: Any, schema: dict[str, Any]) -> str | None:
    """Why ``doc`` does not match ``schema`` (checked with ``strict()``), or None when it does."""
    from jsonschema import exceptions

    error = exceptions.best_match(strict()(schema).iter_errors(doc))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "top level"
    return f"{where}: {error.message}"


INT64_MAX = 2**63 - 1  # sizes are int64 in every client
DIGEST = {"type": "string", "pattern": ANY_DIGEST.pattern}
SIZE = {"type": "integer", "minimum": 0, "maximum": INT64_MAX}
ANNOTATIONS = {"type": "object", "additionalProperties": {"type": "string"}}

DESCRIPTOR: dict[str, Any] = {
    "type": "object",
    "required": ["digest", "size"],
    "properties": {
        "mediaType": {"type": "string"},
        "digest": DIGEST,
        "size": SIZE,
        "urls": {"type": "array", "items": {"type": "string"}},
        "annotations": ANNOTATIONS,
        "artifactType": {"type": "string"},
    },
}

IMAGE_MANIFEST: dict[str, Any] = {
    "type": "object",
    "required": ["schemaVersion", "config", "layers"],
    "properties": {
        "schemaVersion": {"type": "integer", "const": 2},
        "mediaType": {"type": "string"},
        "artifactType": {"type": "string"},
        "config": DESCRIPTOR,
        "layers": {"type": "array", "items": DESCRIPTOR},
        "subject": DESCRIPTOR,
        "annotations": ANNOTATIONS,
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
        "schemaVersion": {"type": "integer", "const": 2},
        "mediaType": {"type": "string"},
        "artifactType": {"type": "string"},
        "manifests": {
            "type": "array",
            "items": {**DESCRIPTOR, "properties": {**DESCRIPTOR["properties"], "platform": PLATFORM}},
        },
        "subject": DESCRIPTOR,
        "annotations": ANNOTATIONS,
    },
}

SCHEMA1_MANIFEST: dict[str, Any] = {
    "type": "object",
    "required": ["schemaVersion", "fsLayers"],
    "properties": {
        "schemaVersion": {"type": "integer", "const": 1},
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

# An OCI layout's index.json: an image index whose entries are the layout's images (refs by annotation).
# (Hand-made layouts sometimes lack schemaVersion; where it is given, it is the integer 2.)
LAYOUT_INDEX: dict[str, Any] = {
    "type": "object",
    "required": ["manifests"],
    "properties": {
        "schemaVersion": {"type": "integer", "const": 2},
        "mediaType": {"type": "string"},
        "manifests": {"type": "array", "items": DESCRIPTOR},
        "annotations": ANNOTATIONS,
    },
}
