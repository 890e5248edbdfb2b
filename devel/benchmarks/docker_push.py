"""``docker push`` of the image from a private Docker engine into our server and into distribution.

The image goes into the engine once (``skopeo copy dir: docker-daemon:``, untimed). Each round tags it
with a fresh name on each server and times ``docker push``; docker gzips every layer as it pushes, the
same work for both servers. Between rounds our repository is deleted with its orphans and distribution
restarts empty on a new port, so no round finds the blobs already there (a cross-repository mount of a
deleted repository fails, and docker falls back to uploading).
"""

from __future__ import annotations

import sys

from dockerengine import DockerEngine

from benchmarks import clients
from benchmarks.images import Image
from benchmarks.memory import MB, TreeSampler
from benchmarks.push import repo_id
from benchmarks.rig import Rig
from benchmarks.servers import AUTH
from benchmarks.timing import Sample, alternate, summary

LOCAL = "bench/dpush:latest"


def name_for(round_no: int) -> str:
    return f"bench/dpush-{round_no + 1}"


def measure(rig: Rig, image: Image, rounds: int) -> dict:
    """Alternate ours / peer ``docker push`` for ``rounds`` rounds; our server tree's memory sampled."""
    print(f"docker push: {image.blob_bytes / MB:.0f} MB of blobs, {rounds} rounds", file=sys.stderr)
    engine = DockerEngine().start()
    try:
        clients.skopeo("copy", "-q", "--dest-daemon-host", engine.host, f"dir:{image.dir}",
                       f"docker-daemon:{LOCAL}")
        engine.login(rig.ours.host, *AUTH)
        peaks: list[float] = []

        def push(host: str, round_no: int) -> None:
            remote = f"{host}/{name_for(round_no)}:latest"
            engine.docker("tag", LOCAL, remote)
            engine.docker("push", "-q", remote, timeout=3600)
            engine.docker("rmi", remote)  # the tag only; the image stays under LOCAL

        def ours(round_no: int) -> Sample:
            with TreeSampler(rig.ours.proc.pid) as sampler:
                sample = rig.timed(lambda: push(rig.ours.host, round_no), rig.ours.process)
            peaks.append(round(sampler.peaks.tree_rss / MB, 1))
            if round_no == 0:
                served = clients.skopeo_digest(rig.ours.host, name_for(round_no), "latest")
                if not served.startswith("sha256:"):
                    raise SystemExit(f"our server does not serve {name_for(round_no)} after docker push")
            return sample

        def peer(round_no: int) -> Sample:
            return rig.timed(lambda: push(rig.peer.host, round_no), rig.peer.process)

        def between(round_no: int) -> None:
            rig.reset_ours([repo_id(name_for(round_no))], [])
            rig.peer.restart_empty()

        samples = alternate(rounds, {"ours": ours, "peer": peer}, between, "docker push")
        between(rounds - 1)
    finally:
        engine.stop()
    result = summary(samples)
    result.update(blob_bytes=image.blob_bytes, tree_peak_rss_MB=max(peaks))
    return result
