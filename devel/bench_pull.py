#!/usr/bin/env python3
"""Pull throughput: this server against Debian's ``docker-registry`` (distribution 2.8), same image, one run.

    devel/bench_pull.py [--size 1GiB | --image SKOPEO_DIR] [--rounds 3] [--keep] [--json OUT.json]

Builds a skopeo dir with devel/imagegen.py (one big incompressible layer plus small ones) unless
``--image`` names one, then

- starts ``pulp-server run`` on a fresh data dir, uploads the tarred dir over the REST API and imports
  it tagged ``latest`` (the web distributor auto-publishes it as ``bench``);
- starts ``docker-registry serve CONFIG`` (filesystem storage in a fresh dir, loopback) and pushes the
  same dir with ``skopeo copy``; both must then serve the same manifest digest;
- alternates pulls A B A B … for ``--rounds`` rounds: ``skopeo copy docker://HOST/bench:latest dir:OUT``
  (end to end: HTTP, digest checks, writing the files) and a raw ``GET`` of the big blob read to
  nothing (the server alone), recording wall time and the server process's CPU time for each.

Prints medians and the ratio ours/peer of the times (below 1: we are faster) as JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).parent))
import bench_import  # noqa: E402  (server start-up and the upload/import client)
import imagegen  # noqa: E402

MIB = 1024 * 1024
NAME = "bench"
TAG = "latest"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_peer(work: Path) -> tuple[subprocess.Popen, str]:
    """``docker-registry serve`` with filesystem storage under ``work``; returns (process, host:port)."""
    exe = shutil.which("docker-registry")
    if exe is None:
        raise SystemExit("docker-registry is not installed (apt-get install docker-registry)")
    host = f"127.0.0.1:{free_port()}"
    config = work / "registry.yml"
    config.write_text(f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
                      f"    rootdirectory: {work / 'registry-storage'}\nhttp:\n  addr: {host}\n")
    proc = subprocess.Popen([exe, "serve", str(config)], stdout=subprocess.DEVNULL,
                            stderr=open(work / "registry.log", "wb"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://{host}/v2/", timeout=2).status_code == 200:
                return proc, host
        except requests.ConnectionError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"docker-registry exited; see {work / 'registry.log'}")
        time.sleep(0.1)
    raise SystemExit("docker-registry did not start")


def skopeo(*args: str) -> str:
    result = subprocess.run(["skopeo", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"skopeo {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def timed(server: psutil.Process, action) -> tuple[float, float]:
    """(wall seconds, server CPU seconds) of one call of ``action``."""
    cpu0, t0 = cpu_seconds(server), time.monotonic()
    action()
    return time.monotonic() - t0, cpu_seconds(server) - cpu0


def skopeo_pull(host: str, out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    skopeo("copy", "-q", "--src-tls-verify=false", f"docker://{host}/{NAME}:{TAG}", f"dir:{out}")


def raw_get(url: str, size: int) -> None:
    got = 0
    with requests.get(url, stream=True, timeout=300) as response:
        response.raise_for_status()
        for chunk in response.iter_content(MIB):
            got += len(chunk)
    if got != size:
        raise SystemExit(f"{url}: {got} bytes, expected {size}")


def verify(out: Path, image: Path) -> None:
    """The pulled dir holds the image's manifest and blobs byte for byte (checked once per server)."""
    if (out / "manifest.json").read_bytes() != (image / "manifest.json").read_bytes():
        raise SystemExit(f"{out}: manifest differs from the uploaded one")
    for path in image.iterdir():
        if len(path.name) == 64:
            sha = hashlib.sha256()
            with open(out / path.name, "rb") as f:
                while chunk := f.read(MIB):
                    sha.update(chunk)
            if sha.hexdigest() != path.name:
                raise SystemExit(f"{out / path.name}: content does not match its digest")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1GiB", help="image size to generate (default 1GiB)")
    parser.add_argument("--image", type=Path, help="use this skopeo dir instead of generating one")
    parser.add_argument("--rounds", type=int, default=3, help="A B rounds (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--workdir", type=Path, help="where to work (default: a temp dir under /var/tmp)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-pull-", dir=args.workdir or "/var/tmp"))
    ours = peer = None
    try:
        image = args.image or work / "image"
        if args.image is None:
            imagegen.make_image(image, imagegen.parse_size(args.size))
        tarball = imagegen.tar_dir(image, work / "image.tar")
        manifest = json.loads((image / "manifest.json").read_bytes())
        big = max(manifest["layers"], key=lambda layer: layer["size"])
        image_bytes = sum(p.stat().st_size for p in image.iterdir() if len(p.name) == 64)

        ours, url = bench_import.start_server(work / "data")
        api = f"{url}/pulp/api/v2"
        repo = {"id": NAME, "importer_type_id": "docker_importer", "notes": {"_repo-type": "docker-repo"},
                "distributors": [{"distributor_id": "docker_web_distributor_name_cli",
                                  "distributor_type_id": "docker_distributor_web", "auto_publish": True,
                                  "distributor_config": {}}]}
        requests.post(f"{api}/repositories/", json=repo, auth=bench_import.AUTH).raise_for_status()
        bench_import.upload_and_import(api, tarball, NAME, TAG)
        tarball.unlink()
        peer, peer_host = start_peer(work)
        skopeo("copy", "-q", "--dest-tls-verify=false", f"dir:{image}", f"docker://{peer_host}/{NAME}:{TAG}")

        our_host = url.split("://", 1)[1]
        targets = {"ours": (our_host, psutil.Process(ours.pid)), "peer": (peer_host, psutil.Process(peer.pid))}
        digests = {k: json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{h}/{NAME}:{TAG}"))["Digest"]
                   for k, (h, _) in targets.items()}
        if len(set(digests.values())) != 1:
            raise SystemExit(f"the two servers serve different manifests: {digests}")

        results: dict[str, dict[str, list[float]]] = {
            k: {"pull_s": [], "pull_cpu_s": [], "get_s": [], "get_cpu_s": []} for k in targets}
        for round_no in range(args.rounds):
            for key, (host, proc) in targets.items():
                out = work / f"pulled-{key}"
                wall, cpu = timed(proc, lambda h=host, o=out: skopeo_pull(h, o))
                if round_no == 0:
                    verify(out, image)
                shutil.rmtree(out)
                results[key]["pull_s"].append(wall)
                results[key]["pull_cpu_s"].append(cpu)
                blob_url = f"http://{host}/v2/{NAME}/blobs/{big['digest']}"
                wall, cpu = timed(proc, lambda u=blob_url: raw_get(u, big["size"]))
                results[key]["get_s"].append(wall)
                results[key]["get_cpu_s"].append(cpu)
                print(f"round {round_no + 1} {key}: pull {results[key]['pull_s'][-1]:.2f}s, "
                      f"GET {results[key]['get_s'][-1]:.2f}s", file=sys.stderr)

        med = {k: {m: statistics.median(v) for m, v in r.items()} for k, r in results.items()}
        figures = {
            "image_bytes": image_bytes, "big_blob_bytes": big["size"], "rounds": args.rounds,
            "manifest_digest": digests["ours"], "cpu_count": os.cpu_count(),
            **{f"{k}_{m}_median": round(v, 3) for k, ms in med.items() for m, v in ms.items()},
            "ours_pull_MiBps": round(image_bytes / MIB / med["ours"]["pull_s"], 1),
            "peer_pull_MiBps": round(image_bytes / MIB / med["peer"]["pull_s"], 1),
            "ours_get_MiBps": round(big["size"] / MIB / med["ours"]["get_s"], 1),
            "peer_get_MiBps": round(big["size"] / MIB / med["peer"]["get_s"], 1),
            "ratio_pull_time_ours_over_peer": round(med["ours"]["pull_s"] / med["peer"]["pull_s"], 3),
            "ratio_get_time_ours_over_peer": round(med["ours"]["get_s"] / med["peer"]["get_s"], 3),
            "raw": results,
        }
        print(json.dumps(figures, indent=1))
        if args.json:
            args.json.write_text(json.dumps(figures, indent=1))
    finally:
        for proc in (ours, peer):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(60)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
