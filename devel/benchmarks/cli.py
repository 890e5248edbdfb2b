"""``devel/bench``: this server against Debian's docker-registry and the disk, on one machine, in one run.

Builds images, starts ``pulp-server run`` (embedded default, fresh data dir) and ``docker-registry serve``
(filesystem storage, fresh dir), then measures in alternating rounds (medians reported):

- in: ``pulp-admin docker repo uploads upload --tag`` of the tarball (``--kind``: the tarred skopeo dir, a
  docker-archive or an oci-archive of the same image) vs ``skopeo copy dir: docker://`` into the registry
  vs ``cp`` of the tarball; our server tree's memory sampled during each upload; with ``--compare-kinds``
  the other kinds' tarballs uploaded in the same rounds;
- out: ``skopeo copy docker:// dir:`` from each server; curl GET of the big blob vs ``cat`` of the file;
- parallel: N different images by N concurrent pulp-admin processes vs one after the other;
- push: ``skopeo copy dir: docker://`` (``--dest-creds``) into ours vs into the registry, a fresh name each
  round, our server tree's memory sampled; with --parallel-push N, N small images pushed at once vs one
  after the other, into each server; and ``docker push`` from a private Docker engine into each (when
  dockerd is installed; --no-docker-push skips it);
- sync: a fresh repository of ours syncing the image from the registry vs ``skopeo copy docker:// dir:``
  of it, memory sampled;
- with --with-4gib, the memory of one 4 GiB upload.

Prints a table of targets with pass/miss and writes every figure as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import imagegen

from benchmarks import (
    clients,
    docker_push,
    images,
    inbound,
    machine,
    outbound,
    parallel,
    profiling,
    quiet,
    report,
)
from benchmarks import push as push_phase
from benchmarks import sync as sync_phase
from benchmarks.clients import PulpAdmin
from benchmarks.rig import Rig
from benchmarks.servers import OurServer, PeerRegistry, runtime_venv, test_only_imports

OUT_DIR = Path(__file__).resolve().parents[1] / "out"
PHASES = ("in", "out", "parallel", "push", "sync")
ALIASES = {"import": "in", "memory": "in", "pull": "out"}
GIB = 1 << 30


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="devel/bench", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="See docs/performance.md for what each figure means.")
    p.add_argument("--size", default="1GiB", help="image size for in/out (default 1GiB; e.g. 256MiB, 4GiB)")
    p.add_argument("--many-small-layers", action="store_true",
                   help="split the image into --layers equal layers instead of one big layer and 3 small ones")
    p.add_argument("--layers", type=int, default=100, help="layer count with --many-small-layers (default 100)")
    p.add_argument("--gzip", action="store_true", help="upload a gzipped tarball (level 1) in the in phase")
    p.add_argument("--kind", choices=images.KINDS, default=images.SKOPEO_DIR,
                   help="the tarball the in phase uploads: a tarred skopeo dir (default), docker save's "
                        "docker-archive (Docker 20.10, layers uncompressed) or an oci-archive, of the same image")
    p.add_argument("--compare-kinds", nargs="?", const="", default=None, metavar="KINDS",
                   help="also upload, in the same alternating rounds, the same image as these kinds (comma-"
                        "separated; default: skopeo-dir, or docker-archive when --kind is skopeo-dir) and "
                        "report each against skopeo-dir (target <= 1.1)")
    p.add_argument("--idle-seconds", type=float, default=quiet.IDLE_SECONDS,
                   help=f"the idle window (default {quiet.IDLE_SECONDS:.0f} s, issue 14's)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds per measurement (default 3)")
    p.add_argument("--only", default=",".join(PHASES),
                   help="comma-separated phases: in (with memory), out, parallel, push, sync; aliases import, memory, "
                        "pull")
    p.add_argument("--no-parallel", action="store_true", help="skip the parallel phase")
    p.add_argument("--parallel-count", type=int, default=10, help="images uploaded at once (default 10)")
    p.add_argument("--parallel-size", default="100MiB", help="size of each of them (default 100MiB)")
    p.add_argument("--parallel-push", type=int, default=10, metavar="N",
                   help="push phase: also N images of --parallel-size pushed at once vs one at a time (default "
                        "10; 0: skip)")
    p.add_argument("--no-docker-push", action="store_true", help="push phase: skip the docker push timing")
    p.add_argument("--with-4gib", action="store_true", help="also measure memory during a 4 GiB upload")
    p.add_argument("--chunk-size", help="pulp-admin upload_chunk_size (default: pulp-admin's own default)")
    p.add_argument("--drop-caches", action="store_true",
                   help="empty the page cache before each timed step (root); default: warm cache, sync only")
    p.add_argument("--profile", action="store_true",
                   help="also run one upload, one pull and one blob GET under py-spy; profiles go beside the JSON")
    p.add_argument("--json", type=Path, help="where to write the figures (default devel/out/bench-<time>.json)")
    p.add_argument("--server-venv", type=Path, metavar="DIR",
                   help="run pulp-server from a venv at DIR with the runtime dependencies only (made or "
                        "updated as `make run` makes .venv on a fresh clone); default: this .venv, test extras and all")
    p.add_argument("--workdir", type=Path, default=Path("/var/tmp"), help="where images and data dirs go")
    p.add_argument("--keep", action="store_true", help="keep the work dir (images, data dirs, logs)")
    args = p.parse_args(argv)
    phases = set()
    for word in filter(None, (w.strip() for w in args.only.split(","))):
        phase = ALIASES.get(word, word)
        if phase not in PHASES:
            p.error(f"--only: unknown phase {word!r}")
        phases.add(phase)
    if args.no_parallel:
        phases.discard("parallel")
    args.phases = [ph for ph in PHASES if ph in phases]
    args.kinds = [args.kind]
    if args.compare_kinds is not None:
        words = [w.strip() for w in args.compare_kinds.split(",") if w.strip()] or [
            images.DOCKER_ARCHIVE if args.kind == images.SKOPEO_DIR else images.SKOPEO_DIR]
        for word in words:
            if word not in images.KINDS:
                p.error(f"--compare-kinds: unknown kind {word!r} (choose from {', '.join(images.KINDS)})")
            if word not in args.kinds:
                args.kinds.append(word)
        if "in" not in args.phases:
            p.error("--compare-kinds compares uploads: it needs the in phase")
    if args.rounds < 1 or args.parallel_count < 1 or args.layers < 1:
        p.error("--rounds, --parallel-count and --layers must be at least 1")
    if args.parallel_push < 0:
        p.error("--parallel-push must be at least 0")
    try:
        args.size_bytes = imagegen.parse_size(args.size)
        args.parallel_bytes = imagegen.parse_size(args.parallel_size)
        args.chunk_bytes = imagegen.parse_size(args.chunk_size) if args.chunk_size else None
    except ValueError as e:
        p.error(str(e))
    return args


def space_needed(args: argparse.Namespace) -> int:
    """Bytes of disk a run needs at its peak: the image dir and its tarball, plus either our upload file
    and staged blob during an import, or one copy in each store and the cp copy."""
    need = 0
    if {"in", "out", "push", "sync"} & set(args.phases):
        need = (5 + len(set(args.kinds) - {images.SKOPEO_DIR})) * args.size_bytes  # one more tarball per kind
    if "parallel" in args.phases:
        need = max(need, 4 * args.parallel_count * args.parallel_bytes)
    if "push" in args.phases and args.parallel_push:
        need = max(need, 4 * args.parallel_push * args.parallel_bytes)
    if args.with_4gib:
        need = max(need, 4 * 4 * GIB)
    return need + GIB


def size_label(size: int) -> str:
    for unit, factor in (("GiB", GIB), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} B"


def build(where: Path, name: str, size: int, seed: int, layers: int = 0, gzip: bool = False,
          kinds: tuple[str, ...] | list[str] = (images.SKOPEO_DIR,)) -> images.Image:
    t0 = time.monotonic()
    image = images.build(where, name, size, seed, layers, gzip, kinds)
    tars = ", ".join(f"{u.tar_size / 1e6:.0f} MB {k}" for k, u in image.uploads.items())
    print(f"built {name}: {tars}, {image.layers} layers in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    return image


def run(args: argparse.Namespace, work: Path) -> dict:
    doc: dict = {"machine": machine.describe(work), "options": {
        "size": args.size_bytes, "many_small_layers": args.many_small_layers, "layers": args.layers, "gzip": args.gzip,
        "kind": args.kind, "kinds": args.kinds,
        "rounds": args.rounds, "phases": args.phases, "parallel_count": args.parallel_count,
        "parallel_size": args.parallel_bytes,
        "parallel_push": args.parallel_push, "with_4gib": args.with_4gib, "chunk_size": args.chunk_bytes,
        "drop_caches": args.drop_caches},
        "page_cache": ("dropped (echo 3 > /proc/sys/vm/drop_caches) and synced before every timed step"
                       if args.drop_caches else
                       "warm: every source was just written or read, so it is in the page cache; sync before "
                       "every timed step; no contestant fsyncs, so written data may still be in the cache"),
        "results": {}}
    results = doc["results"]
    label = size_label(args.size_bytes) + (f" in {args.layers} layers" if args.many_small_layers else "") + (
        " gzipped" if args.gzip else "") + (f" {args.kind}" if args.kind != images.SKOPEO_DIR else "")
    ours = OurServer(work / "ours", work / "ours.log", runtime_venv(args.server_venv) if args.server_venv else None)
    doc["server"] = {"exe": ours.exe, "test_only_imports": test_only_imports(ours.exe)}
    (work / "ours").mkdir()
    peer = PeerRegistry(work / "peer")
    try:
        main_image = None
        if {"in", "out", "push", "sync"} & set(args.phases):
            main_image = build(work / "images", "main", args.size_bytes, images.seed_for(0),
                               args.layers if args.many_small_layers else 0, args.gzip,
                               args.kinds if "in" in args.phases else [images.SKOPEO_DIR])
            doc["image"] = {"tarball_bytes": main_image.tar_size, "blob_bytes": main_image.blob_bytes,
                            "layers": main_image.layers, "big_layer_bytes": main_image.big_size,
                            "manifest_digest": main_image.manifest_digest,
                            "kinds": {k: {"tarball_bytes": u.tar_size, "manifest_digest": u.manifest_digest,
                                          "big_layer_digest": u.big_digest, "big_layer_bytes": u.big_size}
                                      for k, u in main_image.uploads.items()}}
        warm = build(work / "images", "warmup", 1 << 20, images.seed_for(99))
        ours.start()
        peer.start()
        admin = PulpAdmin(work / "home", ours, args.chunk_bytes)
        admin.login()
        rig = Rig(work, ours, peer, admin, args.drop_caches)
        # One untimed upload and push first: the worker's imports and both servers' caches are warm.
        admin.create_repo("warmup")
        rig.upload("warmup", warm.tar, "latest", warm.manifest_digest)
        clients.skopeo_push(warm.dir, peer.host, "warmup", "latest")
        results["idle"] = quiet.idle(ours, peer, args.idle_seconds)
        results["idle"]["server_test_only_imports"] = doc["server"]["test_only_imports"]
        results["pickup"] = quiet.pickup(ours, "warmup")
        profile_dir = args.json.with_suffix("") if args.profile else None
        profiles: dict = {}

        if main_image is not None:
            name = None  # the repository holding the skopeo-dir upload the out phase pulls
            if "in" in args.phases:
                results["in"] = inbound.measure(rig, main_image, args.rounds, args.kinds)
                kept_repo, kept_kind = inbound.kept(args.rounds, args.kinds)
                if kept_kind == images.SKOPEO_DIR and kept_repo == inbound.repo_for(args.rounds - 1):
                    name = kept_repo  # the registry holds the image under the same name
                else:  # the pulls compare the skopeo dir's manifest and blobs on both servers, under one name
                    rig.reset_ours([kept_repo], [main_image.upload(kept_kind).big_digest])
            if "out" in args.phases:
                if name is None:
                    name = "out"
                    admin.create_repo(name)
                    rig.upload(name, main_image.tar, "latest", main_image.manifest_digest)
                    clients.skopeo_push(main_image.dir, peer.host, name, "latest")
                results["out"] = outbound.measure(rig, main_image, name, args.rounds)
                if profile_dir:
                    profiles["pull"] = profiling.profile_pull(rig, main_image, name, profile_dir)
                    profiles["get"] = profiling.profile_get(rig, main_image, name, profile_dir)
            if name is not None:
                rig.reset_ours([name], [main_image.big_digest])
            peer.restart_empty()
            if "push" in args.phases:
                push_warm = build(work / "images", "push-warmup", 1 << 20, images.seed_for(98))
                results["push"] = push_phase.measure(rig, main_image, args.rounds, push_warm)
                if not args.no_docker_push and shutil.which("dockerd"):
                    results["docker_push"] = docker_push.measure(rig, main_image, args.rounds)
            if "sync" in args.phases:
                results["sync"] = sync_phase.measure(rig, main_image, args.rounds)
            if profile_dir:
                profiles["upload"] = profiling.profile_upload(rig, main_image, profile_dir, args.kind)
            if not args.keep:
                main_image.remove()

        if "parallel" in args.phases:
            batch = [build(work / "images", f"par-{i + 1}", args.parallel_bytes, images.seed_for(100 + i))
                     for i in range(args.parallel_count)]
            results["parallel"] = parallel.measure(rig, batch, args.rounds)
            if not args.keep:
                for image in batch:
                    image.remove()

        if "push" in args.phases and args.parallel_push:
            batch = [build(work / "images", f"ppush-{i + 1}", args.parallel_bytes, images.seed_for(300 + i))
                     for i in range(args.parallel_push)]
            results["push_parallel"] = push_phase.measure_parallel(rig, batch, args.rounds)
            if not args.keep:
                for image in batch:
                    image.remove()

        if args.with_4gib:
            big = build(work / "images", "4gib", 4 * GIB, images.seed_for(200))
            results["memory_4gib"] = inbound.memory_only(rig, big, "mem-4gib")
            if not args.keep:
                big.remove()
        if profiles:
            doc["profile"] = profiles
    finally:
        ours.stop()
        peer.stop()
    results["start"] = {"listening_s": round(ours.listening_s, 2), "ready_s": round(ours.ready_s, 2),
                        "stop_s": round(ours.stop_s, 2)}
    doc["targets"] = report.targets(results, label)
    doc["missed"] = [t["name"] for t in doc["targets"] if not t["pass"]]
    doc["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    doc["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    return doc


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    args.json = (args.json or OUT_DIR / f"bench-{stamp}.json").resolve()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.workdir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(args.workdir).free
    if free < space_needed(args):
        raise SystemExit(f"{args.workdir}: {free / 1e9:.1f} GB free, this run needs about "
                         f"{space_needed(args) / 1e9:.1f} GB (see --workdir)")
    work = Path(tempfile.mkdtemp(prefix="pulp-bench-", dir=args.workdir))
    print(f"work dir {work}", file=sys.stderr)
    try:
        doc = run(args, work)
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    args.json.write_text(json.dumps(doc, indent=1) + "\n")
    print(report.table(doc["results"], doc["targets"]))
    print(f"\nfigures: {args.json}")
