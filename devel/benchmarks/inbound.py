"""Getting an image in: pulp-admin upload+import vs skopeo push into distribution vs ``cp`` of the tarball,
with the memory of our server's process tree sampled during each upload."""

from __future__ import annotations

import sys

from benchmarks import clients
from benchmarks.images import Image
from benchmarks.memory import MB, TreeSampler, tree_rss
from benchmarks.rig import Rig
from benchmarks.timing import Sample, alternate, summary

TAG = "latest"


def repo_for(round_no: int) -> str:
    return f"in-{round_no + 1}"


def measure(rig: Rig, image: Image, rounds: int) -> dict:
    """Alternate ours / peer / cp for ``rounds`` rounds; each round starts from stores without the image.

    The last round's image stays on both servers (repository and registry name ``in-<rounds>``) for the
    pull measurements.
    """
    print(f"in: {image.tar_size / MB:.0f} MB tarball, {rounds} rounds", file=sys.stderr)
    memory: list[dict] = []

    def ours(round_no: int) -> Sample:
        repo = repo_for(round_no)
        rig.admin.create_repo(repo)
        idle = tree_rss(rig.ours.process)
        with TreeSampler(rig.ours.proc.pid) as sampler:
            sample = rig.timed(lambda: rig.upload(repo, image.tar, TAG, image.manifest_digest), rig.ours.process)
        memory.append({"idle_tree_rss_MB": round(idle / MB, 1), **sampler.peaks.as_mb()})
        return sample

    def peer(round_no: int) -> Sample:
        with TreeSampler(rig.peer.proc.pid) as sampler:
            sample = rig.timed(lambda: clients.skopeo_push(image.dir, rig.peer.host, repo_for(round_no), TAG),
                               rig.peer.process)
        sample.extra = {"peer_peak_rss_MB": round(sampler.peaks.tree_rss / MB, 1)}
        return sample

    def floor(round_no: int) -> Sample:
        dest = rig.work / "cp-floor.tar"
        sample = rig.timed(lambda: clients.copy_file(image.tar, dest))
        dest.unlink()
        return sample

    def between(round_no: int) -> None:
        rig.reset_ours([repo_for(round_no)], [image.big_digest])
        rig.peer.restart_empty()

    samples = alternate(rounds, {"ours": ours, "peer": peer, "cp": floor}, between, "in")
    result = summary(samples)
    worst = max(range(len(memory)), key=lambda i: memory[i]["tree_peak_rss_MB"])
    result["memory"] = {"rounds": memory, "worst_round": worst + 1, **memory[worst]}
    result["tarball_bytes"] = image.tar_size
    return result


def memory_only(rig: Rig, image: Image, repo: str) -> dict:
    """One upload of a (large) image with the tree's memory sampled, then, once each for context, a skopeo
    push of it into the (emptied) registry and a ``cp`` of the tarball. Everything is removed afterwards."""
    print(f"memory: {image.tar_size / MB:.0f} MB tarball", file=sys.stderr)
    rig.admin.create_repo(repo)
    idle = tree_rss(rig.ours.process)
    with TreeSampler(rig.ours.proc.pid) as sampler:
        ours = rig.timed(lambda: rig.upload(repo, image.tar, TAG, image.manifest_digest), rig.ours.process)
    print(f"  memory {repo}: {ours.wall_s:.2f} s, tree peak {sampler.peaks.tree_rss / MB:.0f} MB", file=sys.stderr)
    rig.reset_ours([repo], [image.big_digest])
    rig.peer.restart_empty()
    peer = rig.timed(lambda: clients.skopeo_push(image.dir, rig.peer.host, repo, TAG), rig.peer.process)
    rig.peer.restart_empty()
    dest = rig.work / "cp-floor.tar"
    floor = rig.timed(lambda: clients.copy_file(image.tar, dest))
    dest.unlink()
    print(f"  memory {repo}: skopeo push {peer.wall_s:.2f} s, cp {floor.wall_s:.2f} s", file=sys.stderr)
    return {"tarball_bytes": image.tar_size, "upload": ours.as_dict(), "skopeo_push": peer.as_dict(),
            "cp": floor.as_dict(), "idle_tree_rss_MB": round(idle / MB, 1), **sampler.peaks.as_mb()}
