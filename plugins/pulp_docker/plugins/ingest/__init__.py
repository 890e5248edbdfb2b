"""The one ingest path: source → verify → store → tag. The only code that writes image content.

Every way an image arrives (a tarball of any kind, a manifest upload; next a push session, a remote
registry, a repository copy) is an ``ImageSource`` that only claims. ``ingest`` computes every digest
and size from the bytes, writes each content file once (content-addressed, by rename from the
staging dir), saves units and associations, and applies tags, all or nothing: on bad input it raises
one DockerError listing every problem, having made nothing visible.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pulp_docker.common.error_codes import DKR1041, DockerError
from pulp_docker.common.image_source import ImageSource
from pulp_docker.plugins.ingest.store import Stored, check_owner, store
from pulp_docker.plugins.ingest.tags import check_name, tag_summary
from pulp_docker.plugins.ingest.verify import Plan, verify
from pulp_platform.plugin_api import Conduit
from pulp_platform.storage import Staging

REPORT_INTERVAL = 0.5  # seconds between progress reports (each is a database write)


def ingest(source: ImageSource, conduit: Conduit, staging: Staging, *, tag: str | None = None) -> dict[str, Any]:
    """Import every image ``source`` holds into the conduit's repository; returns Pulp 2's upload report.

    ``tag`` names the single top image; without it the names the source carries become tags.
    ``staging`` holds whatever the source already spooled; files it holds that are not committed are
    the caller's to discard (``with conduit.store.staging() as staging``).
    """
    if tag is not None:
        check_name(tag)
        _one_top(source)
    plan = verify(source, conduit, staging, _progress(conduit))     # verify: raises before anything is saved
    tags = _tags_to_apply(plan, tag)
    check_owner(conduit)        # a task declared dead while it verified stops here, before any write
    stored = store(plan, conduit, staging, tags)                     # store, then tag: all or nothing
    return _report(source, plan, stored, tag)


def _one_top(source: ImageSource) -> None:
    """Refuse a tag for a source of several images before any blob is staged."""
    tops = source.top_manifests()
    if len(tops) > 1:
        digests = ", ".join(top.digest or top.where for top in tops)
        raise DockerError(DKR1041, count=len(tops), digests=digests)


def _tags_to_apply(plan: Plan, tag: str | None) -> list[tuple[str, int]]:
    """(name, index of the top manifest) for every tag to apply."""
    if tag is None:
        return [(name, index) for index, top in enumerate(plan.tops) for name in top.tags]
    if len(plan.tops) != 1:
        digests = ", ".join(top.parsed.digest for top in plan.tops)
        raise DockerError(DKR1041, count=len(plan.tops), digests=digests)
    return [(tag, 0)]


def throttled_progress(conduit: Conduit, report: Callable[[int], dict[str, Any]]) -> Callable[[int], None]:
    """A callback counting bytes done that checks for cancellation and reports progress (``report(done)``)
    a few times a second at most: each check and report is a database round trip."""
    done, last = 0, 0.0

    def advance(size: int) -> None:
        nonlocal done, last
        if time.monotonic() - last > REPORT_INTERVAL:
            last = time.monotonic()
            conduit.check_canceled()
            conduit.set_progress(report(done))
        done += size

    return advance


def _progress(conduit: Conduit) -> Callable[[int], None]:
    return throttled_progress(conduit, lambda done: {"docker_importer": {"state": "verifying",
                                                                          "blob_bytes_staged": done}})


def _report(source: ImageSource, plan: Plan, stored: Stored, tag: str | None) -> dict[str, Any]:
    tags_by_digest: dict[str, list[str]] = {}
    for change in stored.tags:
        tags_by_digest.setdefault(change.tag.manifest_digest, []).append(change.tag.name)
    images = [{"digest": unit.digest, "type_id": unit.type_id, "tags": tags_by_digest.get(unit.digest, [])}
              for unit in stored.tops]
    single = stored.tops[0] if len(stored.tops) == 1 else None
    applied = [tag_summary(change.tag) for change in stored.tags]
    manifests = list(dict.fromkeys([unit.digest for unit in stored.instances] + [unit.digest for unit in stored.tops]))
    details = {
        "unit": single and {"type_id": single.type_id, "unit_key": single.unit_key, "metadata": single.metadata()},
        "kind": source.kind,
        "transport_version": getattr(source, "version", None),
        "images": images,
        "manifests": manifests,
        "manifests_present": plan.instances_present,
        "blobs_imported": stored.blobs_imported,
        "blobs_present": stored.blobs_present,
        "tag": applied[0] if tag is not None and applied else None,
        "tags": applied,
    }
    summary = {
        "manifest_digest": single.digest if single else None,
        "images": len(images),
        "manifests": len(manifests),
        "blobs_imported": len(stored.blobs_imported),
        "blobs_present": len(stored.blobs_present),
        "tag": tag,
        "tags": [change.tag.name for change in stored.tags],
    }
    return {"success_flag": True, "summary": summary, "details": details}
