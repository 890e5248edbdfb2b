"""Registry push: ``skopeo copy dir: docker://`` into our server (``--dest-creds admin:admin``) against the
same push into distribution, with our server tree's memory sampled; and N pushes of N small images at once
against the same N one after the other, on both servers.

Every round pushes a fresh name (``bench/push-<round>``), which creates its repository on our server
(id ``bench-push-<round>``). Before each round both stores are without the image: our repository is
deleted and orphans removed (the big blob's file must be gone, or skopeo would find it and skip it), and
distribution is restarted on an empty directory and a new port.
"""

from __future__ import annotations

import subprocess
import sys
import time

from benchmarks import clients
from benchmarks.images import Image
from benchmarks.memory import MB, TreeSampler, tree_rss
from benchmarks.rig import Rig
from benchmarks.servers import AUTH
from benchmarks.timing import Sample, alternate, summary

TAG = "latest"
CREDS = ":".join(AUTH)
TIMEOUT = 3600.0


def name_for(round_no: int) -> str:
    return f"bench/push-{round_no + 1}"


def repo_id(name: str) -> str:
    """The repository a pushed name creates on our server: the name with ``/`` turned into ``-``."""
    return name.replace("/", "-")


def push_ours(rig: Rig, image: Image, name: str) -> None:
    clients.skopeo_push(image.dir, rig.ours.host, name, TAG, CREDS)


def check_pushed(rig: Rig, image: Image, name: str) -> None:
    """Our server serves the pushed manifest under ``name`` and holds its big blob in the content store."""
    digest = clients.skopeo_digest(rig.ours.host, name, TAG)
    if digest != image.manifest_digest:
        raise SystemExit(f"our server serves {name}:{TAG} as {digest}, expected {image.manifest_digest}")
    if not rig.ours.blob_path(image.big_digest).exists():
        raise SystemExit(f"{image.big_digest} is not in our content store after the push of {name}")


def warm_up(rig: Rig, image: Image) -> None:
    """One untimed push into our server (the push path's imports and caches), then removed again."""
    push_ours(rig, image, "bench/push-warmup")
    rig.reset_ours([repo_id("bench/push-warmup")], [image.big_digest])


def measure(rig: Rig, image: Image, rounds: int, warm: Image | None = None) -> dict:
    """Alternate ours / peer for ``rounds`` rounds (A B A B …); the stores are emptied of the image
    between rounds and after the last one. The first round checks what our server serves."""
    print(f"push: {image.blob_bytes / MB:.0f} MB of blobs, {rounds} rounds", file=sys.stderr)
    if warm is not None:
        warm_up(rig, warm)
    memory: list[dict] = []

    def ours(round_no: int) -> Sample:
        name = name_for(round_no)
        idle = tree_rss(rig.ours.process)
        with TreeSampler(rig.ours.proc.pid) as sampler:
            sample = rig.timed(lambda: push_ours(rig, image, name), rig.ours.process)
        memory.append({"idle_tree_rss_MB": round(idle / MB, 1), **sampler.peaks.as_mb()})
        if round_no == 0:
            check_pushed(rig, image, name)
        return sample

    def peer(round_no: int) -> Sample:
        with TreeSampler(rig.peer.proc.pid) as sampler:
            sample = rig.timed(lambda: clients.skopeo_push(image.dir, rig.peer.host, name_for(round_no), TAG),
                               rig.peer.process)
        sample.extra = {"peer_peak_rss_MB": round(sampler.peaks.tree_rss / MB, 1)}
        return sample

    def between(round_no: int) -> None:
        rig.reset_ours([repo_id(name_for(round_no))], [image.big_digest])
        rig.peer.restart_empty()

    samples = alternate(rounds, {"ours": ours, "peer": peer}, between, "push")
    between(rounds - 1)
    result = summary(samples)
    worst = max(range(len(memory)), key=lambda i: memory[i]["tree_peak_rss_MB"])
    result["memory"] = {"rounds": memory, "worst_round": worst + 1, **memory[worst]}
    result.update(blob_bytes=image.blob_bytes, big_blob_bytes=image.big_size)
    return result


def measure_parallel(rig: Rig, images: list[Image], rounds: int) -> dict:
    """Per round: the N images pushed one after the other into our server, then all at once (N skopeo
    processes), then the same two into distribution. Aggregate throughput is the images' blob bytes
    over the set's wall time. Every set starts from a store without these images."""
    total = sum(i.blob_bytes for i in images)
    print(f"push parallel: {len(images)} images, {total / MB:.0f} MB in all, {rounds} rounds", file=sys.stderr)
    names = [f"bench/ppush-{i + 1}" for i in range(len(images))]
    peaks: list[float] = []

    def reset(key: str) -> None:
        if key == "ours":
            rig.reset_ours([repo_id(n) for n in names], [i.big_digest for i in images])
        else:
            rig.peer.restart_empty()

    def argv(key: str, name: str, image: Image) -> list[str]:
        if key == "ours":
            return clients.skopeo_push_argv(image.dir, rig.ours.host, name, TAG, CREDS)
        return clients.skopeo_push_argv(image.dir, rig.peer.host, name, TAG)

    def server(key: str):
        return rig.ours.process if key == "ours" else rig.peer.process

    def one_at_a_time(key: str):
        def step(round_no: int) -> Sample:
            def run_all() -> None:
                for name, image in zip(names, images, strict=True):
                    clients.run(argv(key, name, image), env=clients.skopeo_env())
            sample = rig.timed(run_all, server(key))
            reset(key)
            return sample
        return step

    def all_at_once(key: str):
        def step(round_no: int) -> Sample:
            def run_all() -> None:
                procs = [subprocess.Popen(argv(key, name, image), env=clients.skopeo_env(),
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                         for name, image in zip(names, images, strict=True)]
                deadline = time.monotonic() + TIMEOUT
                errors = [p.communicate(timeout=max(deadline - time.monotonic(), 1))[1] for p in procs]
                for proc, err in zip(procs, errors, strict=True):
                    if proc.returncode != 0:
                        raise SystemExit(f"a concurrent skopeo push exited {proc.returncode}: "
                                         f"{err.decode(errors='replace').strip()[-500:]}")
            with TreeSampler(server(key).pid) as sampler:
                sample = rig.timed(run_all, server(key))
            if key == "ours":
                peaks.append(round(sampler.peaks.tree_rss / MB, 1))
                if round_no == 0:
                    for name, image in zip(names, images, strict=True):
                        check_pushed(rig, image, name)
            reset(key)
            return sample
        return step

    samples = alternate(rounds, {"single": one_at_a_time("ours"), "concurrent": all_at_once("ours"),
                                 "peer_single": one_at_a_time("peer"), "peer_concurrent": all_at_once("peer")},
                        title="push parallel")
    result = summary(samples)
    for key in samples:
        result[key]["aggregate_MBps"] = round(total / MB / result[key]["median_wall_s"], 1)
    result.update(images=len(images), bytes=total, concurrent_tree_peak_rss_MB=peaks)
    return result
