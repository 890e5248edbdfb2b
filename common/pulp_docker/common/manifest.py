"""Parse manifest bytes into plain dataclasses: pure functions, no I/O.

``parse(data)`` decides the kind from the content, never from a file name or a client's word:
a ``manifests`` array is a list (Docker manifest list, or OCI index when ``mediaType`` is absent),
``schemaVersion: 1`` is Docker schema 1 (signed when it has ``signatures``), and a schema 2 image
manifest without ``mediaType`` is OCI (skopeo writes OCI manifests that way).

The digest is sha256 of the exact bytes, except for signed schema 1, whose digest is over the JWS
payload with the ``signatures`` block cut out, as registries compute it. Bytes are never re-serialised.

Nothing is accepted that registry clients would refuse: the bytes are strict JSON (``strict_json``:
UTF-8 with no byte order mark, no NaN, no duplicate keys, bounded depth and size), integers are JSON
integers (``777.0`` is no size, ``true`` and ``2.0`` no ``schemaVersion``), and a declared ``mediaType``
agrees with the document's shape.
"""

from __future__ import annotations

import binascii
import hashlib
from dataclasses import dataclass, field
from typing import Any

from pulp_docker.common import media_types as mt
from pulp_docker.common import schemas, strict_json
from pulp_docker.common.error_codes import DKR1034, DKR1035, DockerError
from pulp_docker.common.references import b64url_decode, is_sha256_digest


@dataclass(frozen=True)
class Descriptor:
    """A blob or manifest a manifest points at; ``size`` is None where schema 1 gives none."""

    digest: str
    size: int | None
    media_type: str | None = None
    urls: tuple[str, ...] = ()

    @property
    def foreign(self) -> bool:
        return mt.is_foreign(self.media_type)


@dataclass(frozen=True)
class ParsedManifest:
    """An image manifest (schema 1, schema 2 or OCI)."""

    digest: str
    media_type: str
    schema_version: int
    size: int
    config: Descriptor | None
    layers: list[Descriptor]
    # OCI 1.1: the manifest this one refers to (a signature, an SBOM), and what kind of artifact it is.
    subject: str | None = None
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def blobs(self) -> list[Descriptor]:
        """Every blob to hold, config first, each digest once (schema 1 repeats empty layers)."""
        seen: dict[str, Descriptor] = {}
        for blob in ([self.config] if self.config else []) + self.layers:
            seen.setdefault(blob.digest, blob)
        return list(seen.values())


@dataclass(frozen=True)
class PlatformManifest:
    digest: str
    size: int
    media_type: str
    os: str | None
    architecture: str | None
    variant: str | None = None


@dataclass(frozen=True)
class ParsedManifestList:
    """A Docker manifest list or an OCI image index."""

    digest: str
    media_type: str
    schema_version: int
    size: int
    manifests: list[PlatformManifest] = field(default_factory=list)
    subject: str | None = None
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def amd64(self) -> PlatformManifest | None:
        """The linux/amd64 instance, served to clients that cannot take a list (as crane did)."""
        for m in self.manifests:
            if m.os == "linux" and m.architecture == "amd64":
                return m
        return None


def sha256_digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def schema1_payload(data: bytes, doc: dict[str, Any]) -> bytes:
    """The signed payload of a schema 1 manifest: its bytes up to ``formatLength`` plus ``formatTail``."""
    signatures = doc.get("signatures")
    if not signatures:
        return data
    try:
        protected = strict_json.loads(b64url_decode(signatures[0]["protected"]))
        length = protected["formatLength"]
        tail = b64url_decode(protected["formatTail"])
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise DockerError(DKR1034, member="manifest", reason=f"bad schema 1 signature header ({exc})") from exc
    if type(length) is not int:
        raise DockerError(DKR1034, member="manifest", reason="schema 1 signature formatLength is not an integer")
    if not 0 < length <= len(data):
        raise DockerError(DKR1034, member="manifest", reason="schema 1 signature formatLength out of range")
    return data[:length] + tail


def manifest_digest(data: bytes) -> str:
    """The digest a registry gives these manifest bytes."""
    try:
        doc = strict_json.loads(data)
    except ValueError:
        return sha256_digest(data)
    if isinstance(doc, dict) and _schema_version(doc) == 1:
        return sha256_digest(schema1_payload(data, doc))
    return sha256_digest(data)


def _validate(doc: Any, schema: dict[str, Any], member: str) -> None:
    problem = schemas.problem(doc, schema)
    if problem is not None:
        raise DockerError(DKR1034, member=member, reason=problem)


def _load(data: bytes, member: str) -> dict[str, Any]:
    try:
        doc = strict_json.loads(data)
    except strict_json.JSONRefused as exc:
        raise DockerError(DKR1034, member=member, reason=str(exc)) from None
    if not isinstance(doc, dict):
        raise DockerError(DKR1034, member=member, reason="not a JSON object")
    return doc


def _check_sha256(digest: str, member: str) -> str:
    if not is_sha256_digest(digest):
        raise DockerError(DKR1034, member=member, reason=f"digest {digest} is not a sha256 digest")
    return digest


def _descriptor(raw: dict[str, Any], member: str) -> Descriptor:
    return Descriptor(_check_sha256(raw["digest"], member), raw.get("size"), raw.get("mediaType"),
                      tuple(raw.get("urls", ())))


def _schema_version(doc: dict[str, Any]) -> int | None:
    """``schemaVersion`` when it is the JSON integer 1 or 2 (not ``true``, not ``2.0``), else None."""
    version = doc.get("schemaVersion")
    return version if type(version) is int and version in (1, 2) else None


def detect_media_type(doc: dict[str, Any], member: str = "manifest") -> str:
    """The media type of a manifest document, decided by its content; DKR1034/DKR1035 when it is ambiguous."""
    declared = doc.get("mediaType")
    version = _schema_version(doc)
    if version is None:
        raise DockerError(DKR1034, member=member, reason=f"schemaVersion is {doc.get('schemaVersion')!r}, "
                                                         "not the integer 1 or 2")
    if declared is not None and not isinstance(declared, str):
        raise DockerError(DKR1034, member=member, reason="mediaType is not a string")
    image_fields = [key for key in ("config", "layers", "fsLayers") if key in doc]
    if "manifests" in doc:
        if image_fields:
            # An index with layers: clients that decide by mediaType and those that decide by shape differ.
            raise DockerError(DKR1034, member=member, reason=f"it has both manifests and {image_fields[0]}")
        kind = declared or mt.OCI_INDEX
        if kind not in mt.MANIFEST_LISTS:
            raise DockerError(DKR1035, media_type=kind, member=member)
        return kind
    if version == 1:
        kind = mt.DOCKER_MANIFEST_V1_SIGNED if doc.get("signatures") else mt.DOCKER_MANIFEST_V1
        if declared is not None and declared not in (mt.DOCKER_MANIFEST_V1, mt.DOCKER_MANIFEST_V1_SIGNED):
            raise DockerError(DKR1035, media_type=f"{declared} (declared by a schema 1 manifest)", member=member)
        return kind
    kind = declared or mt.OCI_MANIFEST
    if kind not in (mt.DOCKER_MANIFEST_V2, mt.OCI_MANIFEST):
        raise DockerError(DKR1035, media_type=kind, member=member)
    return kind


def parse(data: bytes, member: str = "manifest.json") -> ParsedManifest | ParsedManifestList:
    """Parse and validate manifest bytes of any accepted kind; raises DockerError naming ``member``."""
    doc = _load(data, member)
    media_type = detect_media_type(doc, member)
    if media_type in mt.MANIFEST_LISTS:
        return _parse_list(data, doc, media_type, member)
    if media_type in (mt.DOCKER_MANIFEST_V1, mt.DOCKER_MANIFEST_V1_SIGNED):
        return _parse_schema1(data, doc, media_type, member)
    return _parse_schema2(data, doc, media_type, member)


def _parse_schema2(data: bytes, doc: dict[str, Any], media_type: str, member: str) -> ParsedManifest:
    _validate(doc, schemas.IMAGE_MANIFEST, member)
    config = _descriptor(doc["config"], member)
    layers = [_descriptor(raw, member) for raw in doc["layers"]]
    if media_type == mt.DOCKER_MANIFEST_V2:
        # Docker's schema 2 names its config and layer types; OCI manifests may carry any artifact.
        if config.media_type != mt.DOCKER_CONFIG:
            raise DockerError(DKR1035, media_type=config.media_type, member=f"{member} config")
        for layer in layers:
            if layer.media_type not in mt.DOCKER_LAYERS:
                raise DockerError(DKR1035, media_type=layer.media_type, member=f"{member} layer {layer.digest}")
    subject = _subject(doc, member)
    artifact_type = doc.get("artifactType") or (config.media_type if media_type == mt.OCI_MANIFEST else None)
    return ParsedManifest(sha256_digest(data), media_type, 2, len(data), config, layers, subject, artifact_type,
                          _annotations(doc))


def _subject(doc: dict[str, Any], member: str) -> str | None:
    raw = doc.get("subject")
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("digest"), str):
        raise DockerError(DKR1034, member=member, reason="subject is not a descriptor")
    return _check_sha256(raw["digest"], member)


def _annotations(doc: dict[str, Any]) -> dict[str, str]:
    raw = doc.get("annotations")
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _parse_schema1(data: bytes, doc: dict[str, Any], media_type: str, member: str) -> ParsedManifest:
    _validate(doc, schemas.SCHEMA1_MANIFEST, member)
    layers = [Descriptor(_check_sha256(raw["blobSum"], member), None) for raw in doc["fsLayers"]]
    digest = sha256_digest(schema1_payload(data, doc))
    return ParsedManifest(digest, media_type, 1, len(data), None, layers)


def _parse_list(data: bytes, doc: dict[str, Any], media_type: str, member: str) -> ParsedManifestList:
    _validate(doc, schemas.MANIFEST_LIST, member)
    manifests = []
    for raw in doc["manifests"]:
        kind = raw.get("mediaType") or mt.OCI_MANIFEST
        if kind not in mt.IMAGE_MANIFESTS:
            raise DockerError(DKR1035, media_type=kind, member=f"{member} entry {raw['digest']}")
        platform = raw.get("platform") or {}
        manifests.append(PlatformManifest(_check_sha256(raw["digest"], member), raw["size"], kind,
                                          platform.get("os"), platform.get("architecture"), platform.get("variant")))
    return ParsedManifestList(sha256_digest(data), media_type, 2, len(data), manifests, _subject(doc, member),
                              doc.get("artifactType"), _annotations(doc))
