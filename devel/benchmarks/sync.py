"""Sync from distribution: the image pushed once into distribution; each round a fresh repository on our
server (feed = distribution's URL) syncs it, start of ``actions/sync/`` to the task's end, against
``skopeo copy docker://distribution/… dir:`` of the same image; our server tree's memory sampled during
each sync.

Between rounds the repository is deleted and orphans removed (the big blob's file must be gone), so
every sync downloads every blob.
"""

from __future__ import annotations

import shutil
import sys

from benchmarks import clients
from benchmarks.images import Image
from benchmarks.memory import MB, TreeSampler, tree_rss
from benchmarks.rig import Rig, task_seconds
from benchmarks.timing import Sample, alternate, summary

TAG = "latest"
UPSTREAM = "bench/sync"


def repo_for(round_no: int) -> str:
    return f"sync-{round_no + 1}"


def create_mirror(rig: Rig, repo_id: str, feed: str, upstream: str) -> None:
    rig.ours.api("POST", "repositories/", json={
        "id": repo_id, "importer_type_id": "docker_importer",
        "importer_config": {"feed": feed, "upstream_name": upstream}})


def sync(rig: Rig, repo_id: str) -> dict:
    """``POST repositories/<id>/actions/sync/`` and wait for the task; what the task says it did."""
    reply = rig.ours.api("POST", f"repositories/{repo_id}/actions/sync/", json={})
    task = rig.ours.wait_task(reply.json()["spawned_tasks"][0]["task_id"])
    summary_ = ((task.get("result") or {}).get("summary") or {})
    return {"task_s": task_seconds(task), "blobs_downloaded": summary_.get("blobs_downloaded"),
            "manifests": summary_.get("manifests"), "tags": summary_.get("tags")}


def measure(rig: Rig, image: Image, rounds: int) -> dict:
    """Push ``image`` into distribution as ``bench/sync:latest`` (untimed), then alternate our sync and
    skopeo's copy for ``rounds`` rounds. Our store is emptied of the image between rounds and after."""
    print(f"sync: {image.blob_bytes / MB:.0f} MB of blobs from distribution, {rounds} rounds", file=sys.stderr)
    clients.skopeo_push(image.dir, rig.peer.host, UPSTREAM, TAG)
    feed = f"http://{rig.peer.host}"
    memory: list[dict] = []

    def ours(round_no: int) -> Sample:
        repo = repo_for(round_no)
        create_mirror(rig, repo, feed, UPSTREAM)
        idle = tree_rss(rig.ours.process)
        with TreeSampler(rig.ours.proc.pid) as sampler:
            sample = rig.timed(lambda: sync(rig, repo), rig.ours.process)
        memory.append({"idle_tree_rss_MB": round(idle / MB, 1), **sampler.peaks.as_mb()})
        extra = sample.extra or {}
        if not extra.get("blobs_downloaded") or not rig.ours.blob_path(image.big_digest).exists():
            raise SystemExit(f"the sync of {repo} downloaded {extra.get('blobs_downloaded')} blobs and left "
                             f"{image.big_digest} {'in' if rig.ours.blob_path(image.big_digest).exists() else 'out of'}"
                             " the content store")
        return sample

    def peer(round_no: int) -> Sample:
        out = rig.work / "synced-skopeo"
        sample = rig.timed(lambda: clients.skopeo_pull(rig.peer.host, UPSTREAM, TAG, out), rig.peer.process)
        if round_no == 0:
            clients.same_image(out, image.dir)
        shutil.rmtree(out)
        return sample

    def between(round_no: int) -> None:
        rig.reset_ours([repo_for(round_no)], [image.big_digest])

    samples = alternate(rounds, {"ours": ours, "peer": peer}, between, "sync")
    between(rounds - 1)
    rig.peer.restart_empty()
    result = summary(samples)
    worst = max(range(len(memory)), key=lambda i: memory[i]["tree_peak_rss_MB"])
    result["memory"] = {"rounds": memory, "worst_round": worst + 1, **memory[worst]}
    result.update(blob_bytes=image.blob_bytes, big_blob_bytes=image.big_size, upstream=UPSTREAM)
    return result
