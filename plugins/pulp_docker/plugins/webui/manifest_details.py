"""The manifest page's content: layers and their sizes, the image config read from the content store,
the raw manifest, a list's platforms, and the referrers the registry serves for it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulp_docker.plugins.models import Manifest, ManifestList
from pulp_docker.plugins.publication import Published
from pulp_docker.plugins.webui.guard import not_found
from pulp_docker.plugins.webui.tag_listing import platform
from pulp_docker.plugins.webui.visibility import Serving
from pulp_platform.models.content import RepositoryContentUnit
from pulp_platform.storage import ContentStore, check_digest

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_CONFIG_BYTES = 8 * 1024 * 1024
IMAGE_CONFIG_TYPES = ("application/vnd.docker.container.image.v1+json", "application/vnd.oci.image.config.v1+json")


@dataclass
class Layer:
    digest: str
    media_type: str | None
    size: int | None


@dataclass
class Step:
    """One entry of the image's history: the command that made it and the layer it added, if any."""

    created: str | None
    created_by: str
    comment: str | None
    layer: Layer | None


@dataclass
class ImageConfig:
    os: str | None
    architecture: str | None
    variant: str | None
    created: str | None
    env: list[str]
    entrypoint: list[str] | None
    cmd: list[str] | None
    working_dir: str | None
    user: str | None
    labels: dict[str, str]
    history: list[Step]


@dataclass
class PlatformEntry:
    platform: str
    digest: str
    media_type: str | None
    size: int | None
    held: bool


@dataclass
class Details:
    digest: str
    media_type: str | None
    schema_version: int | None
    size: int | None
    is_list: bool
    raw: str
    layers: list[Layer] = field(default_factory=list)
    config_digest: str | None = None
    config: ImageConfig | None = None
    config_problem: str | None = None
    platforms: list[PlatformEntry] = field(default_factory=list)
    referrers: list[dict[str, Any]] | None = None
    subject: str | None = None
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(layer.size or 0 for layer in self.layers)


def _held(repo_id: str, type_id: str, unit_id: str) -> bool:
    return RepositoryContentUnit._get_collection().find_one(
        {"repo_id": repo_id, "unit_type_id": type_id, "unit_id": unit_id}, {"_id": 1}) is not None


def _read(path: Path, limit: int) -> bytes:
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit // (1024 * 1024)} MiB")
    return data


def _raw_text(store: ContentStore, storage_path: str | None) -> str:
    if not storage_path:
        return "(the manifest's bytes are not in the content store)"
    try:
        data = _read(store.root / storage_path, MAX_MANIFEST_BYTES)
        return json.dumps(json.loads(data), indent=2, ensure_ascii=False)
    except (OSError, ValueError) as exc:
        return f"(the manifest could not be read: {exc})"


def _strings(value: Any) -> list[str] | None:
    if isinstance(value, list):
        return [str(v) for v in value]
    return None if value is None else [str(value)]


def image_config(data: dict[str, Any], layers: list[Layer]) -> ImageConfig:
    """An OCI/Docker image config; history entries that are not ``empty_layer`` take the layers in order."""
    run = data.get("config") if isinstance(data.get("config"), dict) else {}
    remaining = iter(layers)
    history = []
    for entry in data.get("history") or []:
        if not isinstance(entry, dict):
            continue
        layer = None if entry.get("empty_layer") else next(remaining, None)
        history.append(Step(entry.get("created"), str(entry.get("created_by") or ""), entry.get("comment"), layer))
    labels = run.get("Labels") if isinstance(run.get("Labels"), dict) else {}
    return ImageConfig(os=data.get("os"), architecture=data.get("architecture"), variant=data.get("variant"),
                       created=data.get("created"), env=_strings(run.get("Env")) or [],
                       entrypoint=_strings(run.get("Entrypoint")), cmd=_strings(run.get("Cmd")),
                       working_dir=run.get("WorkingDir") or None, user=run.get("User") or None,
                       labels={str(k): str(v) for k, v in labels.items()}, history=history)


def _config(store: ContentStore, details: Details, config_media_type: str | None) -> None:
    if not details.config_digest:
        return
    if config_media_type and config_media_type not in IMAGE_CONFIG_TYPES:
        details.config_problem = f"The config is a {config_media_type}, not an image config (an artifact)."
        return
    try:
        data = json.loads(_read(store.path(check_digest(details.config_digest)), MAX_CONFIG_BYTES))
    except FileNotFoundError:
        details.config_problem = "The config blob is not in the content store."
        return
    except (OSError, ValueError) as exc:
        details.config_problem = f"The config blob could not be read: {exc}"
        return
    if not isinstance(data, dict):
        details.config_problem = "The config blob is not a JSON object."
        return
    details.config = image_config(data, details.layers)


def _config_media_type(raw: str) -> str | None:
    try:
        config = json.loads(raw).get("config")
    except (ValueError, AttributeError):
        return None
    return config.get("mediaType") if isinstance(config, dict) else None


def referrers(serving: Serving, digest: str) -> list[dict[str, Any]] | None:
    """The registry's referrers of ``digest`` under the repository's name; None while it is not published."""
    published = Published.lookup(serving.name) if serving.served else None
    if published is None or published.repo_id != serving.repo_id:
        return None
    return sorted(published.referrers(digest), key=lambda row: row["digest"])


def details(store: ContentStore, serving: Serving, digest: str) -> Details:
    """The manifest or list ``digest`` of the repository; a 404 when the repository does not hold it."""
    check_digest(digest)
    repo_id = serving.repo_id
    manifest = Manifest.objects(digest=digest).first()
    if manifest is not None and _held(repo_id, Manifest.type_id, manifest.id):
        raw = _raw_text(store, manifest.storage_path)
        found = Details(digest, manifest.media_type, manifest.schema_version, manifest.size, False, raw,
                        layers=[Layer(layer.blob_sum, layer.layer_type, layer.size) for layer in manifest.fs_layers],
                        config_digest=manifest.config_layer, subject=manifest.subject,
                        artifact_type=manifest.artifact_type, annotations=dict(manifest.annotations or {}))
        _config(store, found, _config_media_type(raw))
    else:
        listed = ManifestList.objects(digest=digest).first()
        if listed is None or not _held(repo_id, ManifestList.type_id, listed.id):
            raise not_found("manifest with this digest in this repository")
        found = Details(digest, listed.media_type, listed.schema_version, listed.size, True,
                        _raw_text(store, listed.storage_path), subject=listed.subject,
                        artifact_type=listed.artifact_type, annotations=dict(listed.annotations or {}))
        instances = {m.digest: m for m in Manifest.objects(digest__in=[e.digest for e in listed.manifests[:200]])}
        for entry in listed.manifests:
            unit = instances.get(entry.digest)
            found.platforms.append(PlatformEntry(
                platform({"os": entry.os, "arch": entry.arch, "variant": entry.variant}), entry.digest,
                entry.media_type, entry.size, unit is not None and _held(repo_id, Manifest.type_id, unit.id)))
    found.referrers = referrers(serving, digest)
    return found
