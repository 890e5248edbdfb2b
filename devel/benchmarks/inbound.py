"""Getting an image in: pulp-admin upload+import vs skopeo push into distribution vs ``cp`` of the tarball,
with the memory of our server's process tree sampled during each upload."""

from __future__ import annotations

import sys

from benchmarks import clients
from benchmarks.images import SKOPEO_DIR, Image
from benchmarks.memory import MB, TreeSampler, tree_rss
from benchmarks.rig import Rig
from benchmarks.timing import Sample, alternate, summary

TAG = "latest"


def repo_for(round_no: int, kind: str | None = None) -> str:
    """The repository of a round's upload; ``kind`` for the kinds compared beside the main one."""
    return f"in-{round_no + 1}" + (f"-{kind}" if kind else "")


def contestant(kind: str, primary: str) -> str:
    """``ours`` for the tarball kind the run is about, ``ours_<kind>`` for the kinds compared with it."""
    return "ours" if kind == primary else f"ours_{kind}"


def kept(rounds: int, kinds: list[str]) -> tuple[str, str]:
    """The repository (and the kind of tarball it was filled from) the in phase leaves on our server."""
    return repo_for(rounds - 1, None if kinds[-1] == kinds[0] else kinds[-1]), kinds[-1]


def measure(rig: Rig, image: Image, rounds: int, kinds: list[str] | None = None) -> dict:
    """Alternate ours / peer / cp for ``rounds`` rounds; each round starts from stores without the image.

    ``kinds`` (default skopeo-dir alone): the tarball kinds our server gets, each uploaded once per
    round into its own repository, the first one the run's (contestant ``ours``, and what ``cp``
    copies), the others contestants ``ours_<kind>``. Between two of our uploads in a round the first
    one's repository and orphans are removed, so every upload brings content new to the server (the
    kinds share the config blob, and an oci-archive shares the layer blobs with the skopeo dir).

    The last round's last upload stays on our server (:func:`kept`) and the image on the registry
    (name ``in-<rounds>``) for the pull measurements.
    """
    kinds = list(kinds or [SKOPEO_DIR])
    primary = image.upload(kinds[0])
    sizes = ", ".join(f"{image.upload(k).tar_size / MB:.0f} MB {k}" for k in kinds)
    print(f"in: {sizes} tarball, {rounds} rounds", file=sys.stderr)
    memory: list[dict] = []

    def ours(index: int, kind: str):
        upload = image.upload(kind)
        repo_kind = None if index == 0 else kind

        def step(round_no: int) -> Sample:
            repo = repo_for(round_no, repo_kind)
            rig.admin.create_repo(repo)
            idle = tree_rss(rig.ours.process)
            with TreeSampler(rig.ours.proc.pid) as sampler:
                sample = rig.timed(lambda: rig.upload(repo, upload.tar, TAG, upload.manifest_digest),
                                   rig.ours.process)
            if index == 0:
                memory.append({"idle_tree_rss_MB": round(idle / MB, 1), **sampler.peaks.as_mb()})
            else:
                sample.extra = {**(sample.extra or {}), "tree_peak_rss_MB": round(sampler.peaks.tree_rss / MB, 1)}
            if index < len(kinds) - 1:  # another of our uploads follows in this round: it must find none of this
                rig.reset_ours([repo], [upload.big_digest])
            return sample
        return step

    def peer(round_no: int) -> Sample:
        with TreeSampler(rig.peer.proc.pid) as sampler:
            sample = rig.timed(lambda: clients.skopeo_push(image.dir, rig.peer.host, repo_for(round_no), TAG),
                               rig.peer.process)
        sample.extra = {"peer_peak_rss_MB": round(sampler.peaks.tree_rss / MB, 1)}
        return sample

    def floor(round_no: int) -> Sample:
        dest = rig.work / "cp-floor.tar"
        sample = rig.timed(lambda: clients.copy_file(primary.tar, dest))
        dest.unlink()
        return sample

    def between(round_no: int) -> None:
        last = kinds[-1]
        rig.reset_ours([repo_for(round_no, None if len(kinds) == 1 else last)], [image.upload(last).big_digest])
        rig.peer.restart_empty()

    steps = {contestant(kind, kinds[0]): ours(i, kind) for i, kind in enumerate(kinds)}
    samples = alternate(rounds, {**steps, "peer": peer, "cp": floor}, between, "in")
    result = summary(samples)
    worst = max(range(len(memory)), key=lambda i: memory[i]["tree_peak_rss_MB"])
    result["memory"] = {"rounds": memory, "worst_round": worst + 1, **memory[worst]}
    result["kind"] = kinds[0]
    result["kinds"] = {kind: contestant(kind, kinds[0]) for kind in kinds}
    result["tarball_bytes"] = primary.tar_size
    result["tarball_bytes_by_kind"] = {kind: image.upload(kind).tar_size for kind in kinds}
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
