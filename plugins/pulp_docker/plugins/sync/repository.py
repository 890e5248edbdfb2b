"""Sync a repository from an upstream registry: metadata → download → save, on the ingest path.

1. **Metadata** (``sync_step_metadata``): the upstream's tags (whitelisted by ``tags``), each tag's
   manifest as served, and a list's instances. A tag whose manifest the repository already holds under
   that name is unchanged and costs nothing more.
2. **Download** (``sync_step_download``): every blob those images need that the content store does not
   hold, ``max_downloads`` at a time, straight to the staging dir, hashed as it arrives. Foreign layers
   are not downloaded.
3. **Save** (``sync_step_save``): each image through the ingest path, which verifies every digest and
   size and stores it all or nothing: an image with a bad blob leaves no units, and fails the sync,
   naming the blob. A tag moved upstream moves here; with ``remove_missing``, tags gone upstream go.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pulp_docker.common import manifest as manifests
from pulp_docker.common.error_codes import DKR1043, DKR1044, DockerError
from pulp_docker.common.manifest import ParsedManifestList
from pulp_docker.plugins.ingest import ingest
from pulp_docker.plugins.ingest.spooled import Spooled
from pulp_docker.plugins.models import Blob, Manifest, ManifestList, Tag
from pulp_docker.plugins.sync import progress as steps
from pulp_docker.plugins.sync.client import RegistryClient, RegistryFailure
from pulp_docker.plugins.sync.config import SyncConfig, parse
from pulp_docker.plugins.sync.source import RemoteImage, RemoteSource
from pulp_platform.plugin_api import Canceled, Conduit
from pulp_platform.storage import Staging

CANCEL_CHECK_INTERVAL = 1.0  # seconds


def sync_repository(conduit: Conduit, raw_config: dict[str, Any]) -> dict[str, Any]:
    """Sync the conduit's repository from the feed in ``raw_config``; returns Pulp 2's sync report."""
    config = parse(raw_config)
    upstream = f"{config.feed}/{config.upstream_name}"
    progress = steps.Progress(conduit.set_progress)
    progress.send(force=True)
    try:
        client = RegistryClient(config)
    except RegistryFailure as exc:
        progress.fail_running()
        raise DockerError(DKR1043, upstream=upstream, reason=str(exc)) from None
    try:
        with conduit.store.staging() as staging:
            upstream_tags, images = _metadata(client, config, conduit, progress)
            downloaded = _download(client, images, conduit, staging, progress, config.max_downloads)
            return _save(conduit, config, upstream, upstream_tags, images, downloaded, staging, progress)
    except Canceled:
        progress.fail_running(steps.CANCELLED)
        raise
    except RegistryFailure as exc:
        progress.fail_running()
        raise DockerError(DKR1043, upstream=upstream, reason=str(exc)) from None
    except BaseException:
        progress.fail_running()
        raise
    finally:
        client.close()


def _metadata(client: RegistryClient, config: SyncConfig, conduit: Conduit,
              progress: steps.Progress) -> tuple[list[str], list[RemoteImage]]:
    progress.start(steps.METADATA, 0)  # reading the tag list is part of the step: a failure there fails it
    upstream_tags = client.tags()
    wanted = [t for t in upstream_tags if config.tags is None or t in config.tags]
    progress.start(steps.METADATA, len(wanted))
    current = {t.name: t.manifest_digest for t in conduit.units(Tag)}
    images, instances_seen = [], {}
    for tag in wanted:
        conduit.check_canceled()
        data, media_type = client.manifest(tag)
        digest = manifests.manifest_digest(data)
        if current.get(tag) == digest and _holds(conduit, digest):
            progress.advance(steps.METADATA)
            continue  # unchanged upstream: nothing to download or store
        image = RemoteImage(tag, data, media_type, f"{config.upstream_name}:{tag}")
        parsed = _parse(data, image.where)
        if isinstance(parsed, ParsedManifestList):
            for entry in parsed.manifests:
                if entry.digest not in instances_seen and not _holds(conduit, entry.digest):
                    instances_seen[entry.digest] = client.manifest(entry.digest)[0]
                if entry.digest in instances_seen:
                    image.instances[entry.digest] = instances_seen[entry.digest]
        images.append(image)
        progress.advance(steps.METADATA)
    progress.finish(steps.METADATA)
    return upstream_tags, images


def _parse(data: bytes, where: str) -> Any:
    try:
        return manifests.parse(data, where)
    except DockerError:
        return None  # the save step reports it, with the ingest's own error


def _holds(conduit: Conduit, digest: str) -> bool:
    return bool(conduit.units(Manifest, digest=digest).first() or conduit.units(ManifestList, digest=digest).first())


def _needed_blobs(images: list[RemoteImage]) -> list[str]:
    needed: dict[str, None] = {}
    for image in images:
        for data in [image.data, *image.instances.values()]:
            parsed = _parse(data, image.where)
            for blob in getattr(parsed, "blobs", []):
                if not blob.foreign:
                    needed.setdefault(blob.digest)
    return list(needed)


def _download(client: RegistryClient, images: list[RemoteImage], conduit: Conduit, staging: Staging,
              progress: steps.Progress, parallel: int) -> dict[str, Spooled]:
    needed = _needed_blobs(images)
    known = {b.digest for b in Blob.objects(digest__in=needed).only("digest")} if needed else set()
    missing = [d for d in needed if not (d in known and conduit.store.exists(d))]
    progress.start(steps.DOWNLOAD, len(missing))
    check = _throttled(conduit.check_canceled)

    def fetch(digest: str) -> tuple[str, Spooled]:
        staged = client.download(digest, conduit.store.tmp, check)
        staging.files.append(staged)  # removed with the staging dir unless the ingest commits it
        progress.advance(steps.DOWNLOAD)
        return digest, Spooled(staged)

    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="sync-download") as pool:
        futures = [pool.submit(fetch, digest) for digest in missing]
        try:
            downloaded = dict(future.result() for future in futures)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    progress.finish(steps.DOWNLOAD)
    return downloaded


def _throttled(check: Any) -> Any:
    lock, last = threading.Lock(), [0.0]

    def maybe() -> None:
        with lock:
            if time.monotonic() - last[0] < CANCEL_CHECK_INTERVAL:
                return
            last[0] = time.monotonic()
        check()

    return maybe


def _save(conduit: Conduit, config: SyncConfig, upstream: str, upstream_tags: list[str], images: list[RemoteImage],
          downloaded: dict[str, Spooled], staging: Staging, progress: steps.Progress) -> dict[str, Any]:
    progress.start(steps.SAVE, len(images))
    applied, manifests_imported, failures = [], [], []
    for image in images:
        conduit.check_canceled()
        try:
            report = ingest(RemoteSource(image, downloaded), conduit, staging)
        except DockerError as exc:
            failures.append((image.tag, exc))
            progress.advance(steps.SAVE, ok=False, error=f"{image.tag}: {exc.description}")
            continue
        applied += report["summary"]["tags"]
        manifests_imported += report["details"]["manifests"]
        progress.advance(steps.SAVE)
    removed = _remove_missing(conduit, config, upstream_tags) if config.remove_missing else []
    if failures:
        progress.finish(steps.SAVE, steps.FAILED)
        summary = "; ".join(f"{tag}: {exc.description}" for tag, exc in failures)
        raise DockerError(DKR1044, sub_errors=[exc for _tag, exc in failures], upstream=upstream,
                          count=len(failures), summary=summary)
    progress.finish(steps.SAVE)
    return {"success_flag": True,
            "summary": {"tags": applied, "manifests": len(manifests_imported), "blobs_downloaded": len(downloaded),
                        "removed_tags": removed},
            "details": {"upstream": upstream, "upstream_tags": upstream_tags, "manifests": manifests_imported,
                        "blobs_downloaded": sorted(downloaded)}}


def _remove_missing(conduit: Conduit, config: SyncConfig, upstream_tags: list[str]) -> list[str]:
    """Tags the repository holds that the upstream no longer has (within the whitelist, if any): unassociated."""
    upstream = set(upstream_tags)
    removed = []
    for tag in conduit.units(Tag):
        in_scope = config.tags is None or tag.name in config.tags
        if in_scope and tag.name not in upstream:
            conduit.unassociate(tag)
            removed.append(tag.name)
    return sorted(set(removed))
