"""Everything a phase of the benchmark works with: the two servers, pulp-admin, the work dir, the options."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psutil

from benchmarks.clients import PulpAdmin
from benchmarks.servers import OurServer, PeerRegistry
from benchmarks.timing import Sample, timed


@dataclass
class Rig:
    work: Path
    ours: OurServer
    peer: PeerRegistry
    admin: PulpAdmin
    drop_caches: bool = False
    profile_dir: Path | None = None

    def timed(self, action: Callable[[], dict | None], server: psutil.Process | None = None) -> Sample:
        """One timed step with the run's page-cache policy (sync, and drop when asked)."""
        return timed(action, server, drop_caches=self.drop_caches)

    def upload(self, repo_id: str, tar: Path, tag: str, manifest_digest: str) -> dict:
        """pulp-admin upload, import and tag; checks the manifest that was imported.

        Returns the import task's own duration (``import_task_s``) from the task report.
        """
        result = self.admin.upload(repo_id, tar, tag)
        return self.check_upload(result, manifest_digest)

    def check_upload(self, result: dict, manifest_digest: str) -> dict:
        if result["manifest_digest"] != manifest_digest:
            raise SystemExit(f"imported {result['manifest_digest']}, expected {manifest_digest}")
        task = self.ours.api("GET", f"tasks/{result['task_id']}/").json()
        return {"import_task_s": task_seconds(task)}

    def reset_ours(self, repo_ids: list[str], gone: list[str]) -> None:
        """Delete repositories and orphans; the blobs in ``gone`` must have left the content store."""
        self.ours.delete_repos(repo_ids)
        for digest in gone:
            if self.ours.blob_path(digest).exists():
                raise SystemExit(f"{digest} is still in the content store after deleting its repository "
                                 "and orphans: the next round would not upload fresh content")


def task_seconds(task: dict) -> float | None:
    """Seconds between the task's start and finish (the import itself, without the upload)."""
    try:
        start = datetime.fromisoformat(task["start_time"].replace("Z", "+00:00"))
        finish = datetime.fromisoformat(task["finish_time"].replace("Z", "+00:00"))
    except (KeyError, TypeError, ValueError):
        return None
    return (finish - start).total_seconds()
