"""Many uploads at once: N different images uploaded by N concurrent pulp-admin processes into N
repositories, against the same N uploaded one after the other."""

from __future__ import annotations

import subprocess
import sys
import time

from benchmarks import clients
from benchmarks.images import Image
from benchmarks.memory import MB, TreeSampler
from benchmarks.rig import Rig
from benchmarks.timing import Sample, alternate, summary

TAG = "latest"
TIMEOUT = 3600.0


def measure(rig: Rig, images: list[Image], rounds: int) -> dict:
    """Alternate 'one at a time' and 'all at once' for ``rounds`` rounds; every set starts from a store
    without these images. Aggregate throughput is the tarballs' bytes over the set's wall time."""
    total = sum(i.tar_size for i in images)
    print(f"parallel: {len(images)} images, {total / MB:.0f} MB in all, {rounds} rounds", file=sys.stderr)
    repos = [f"par-{i + 1}" for i in range(len(images))]
    peaks: list[float] = []

    def reset() -> None:
        rig.reset_ours(repos, [i.big_digest for i in images])

    def one_at_a_time(round_no: int) -> Sample:
        for repo in repos:
            rig.admin.create_repo(repo)

        def run_all() -> None:
            for repo, image in zip(repos, images, strict=True):
                rig.upload(repo, image.tar, TAG, image.manifest_digest)
        sample = rig.timed(run_all, rig.ours.process)
        reset()
        return sample

    def all_at_once(round_no: int) -> Sample:
        for repo in repos:
            rig.admin.create_repo(repo)

        def run_all() -> dict:
            procs = [subprocess.Popen(rig.admin.upload_argv(repo, image.tar, TAG), env=rig.admin.env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                     for repo, image in zip(repos, images, strict=True)]
            deadline = time.monotonic() + TIMEOUT
            outputs = [p.communicate(timeout=max(deadline - time.monotonic(), 1)) for p in procs]
            for proc, (_out, err) in zip(procs, outputs, strict=True):
                if proc.returncode != 0:
                    raise SystemExit(f"a concurrent upload exited {proc.returncode}: {err.decode().strip()}")
            results = [clients.parse_upload(out.decode()) for out, _ in outputs]
            return {"import_task_s": [rig.check_upload(r, i.manifest_digest)["import_task_s"]
                                      for r, i in zip(results, images, strict=True)]}
        with TreeSampler(rig.ours.proc.pid) as sampler:
            sample = rig.timed(run_all, rig.ours.process)
        peaks.append(round(sampler.peaks.tree_rss / MB, 1))
        reset()
        return sample

    samples = alternate(rounds, {"single": one_at_a_time, "concurrent": all_at_once}, title="parallel")
    result = summary(samples)
    for key in ("single", "concurrent"):
        result[key]["aggregate_MBps"] = round(total / MB / result[key]["median_wall_s"], 1)
    result.update(images=len(images), bytes=total, concurrent_tree_peak_rss_MB=peaks)
    return result
