#!/usr/bin/env python3
"""Measure one image upload + import on a fresh server: wall times and the server tree's peak RSS.

    devel/bench_import.py [--size 1GiB] [--gzip] [--keep] [--json OUT.json]

Starts ``pulp-server run`` on the embedded default in a temporary data dir, builds a skopeo-dir
tarball with devel/imagegen.py, uploads it in chunks over the REST API, imports it with a tag and
waits for the task, while sampling the RSS of the server and all its children (database, worker,
API) every 20 ms. Prints a JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).parent))
import imagegen  # noqa: E402

CHUNK = 8 * 1024 * 1024
AUTH = ("admin", "admin")


class RssSampler(threading.Thread):
    """Peak resident memory of a process tree, sampled in the background."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.peak_by_name: dict[str, int] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            total = 0
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for proc in procs:
                try:
                    rss = proc.memory_info().rss
                    name = " ".join(proc.cmdline()[1:3])[-40:]
                except psutil.NoSuchProcess:
                    continue
                total += rss
                self.peak_by_name[name] = max(self.peak_by_name.get(name, 0), rss)
            self.peak = max(self.peak, total)
            time.sleep(self.interval)


def start_server(data_dir: Path) -> tuple[subprocess.Popen, str]:
    exe = Path(sys.executable).with_name("pulp-server")
    proc = subprocess.Popen([str(exe), "run", "--data-dir", str(data_dir), "--bind", "127.0.0.1:0"],
                            stdout=subprocess.DEVNULL, stderr=open(data_dir.parent / "server.log", "wb"))
    info = data_dir / "run" / "server.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if info.exists():
            url = json.loads(info.read_text())["url"]
            try:
                if requests.get(f"{url}/pulp/api/v2/status/", timeout=2).ok:
                    return proc, url
            except requests.ConnectionError:
                pass
        if proc.poll() is not None:
            raise SystemExit(f"server exited; see {data_dir.parent / 'server.log'}")
        time.sleep(0.2)
    raise SystemExit("server did not start")


def upload_and_import(api: str, path: Path, repo_id: str, tag: str) -> dict:
    session = requests.Session()
    session.auth = AUTH
    times: dict = {}
    t0 = time.monotonic()
    upload_id = session.post(f"{api}/content/uploads/").json()["upload_id"]
    size = path.stat().st_size
    with open(path, "rb") as f:
        offset = 0
        while offset < size:
            chunk = f.read(CHUNK)
            session.put(f"{api}/content/uploads/{upload_id}/{offset}/", data=chunk).raise_for_status()
            offset += len(chunk)
    times["upload_s"] = time.monotonic() - t0
    t1 = time.monotonic()
    response = session.post(f"{api}/repositories/{repo_id}/actions/import_upload/", json={
        "upload_id": upload_id, "unit_type_id": "docker_manifest", "unit_key": {}, "unit_metadata": {"tag": tag}})
    response.raise_for_status()
    href = response.json()["spawned_tasks"][0]["_href"]
    while True:
        task = session.get(f"{api.split('/pulp/api/v2')[0]}{href}").json()
        if task["state"] in ("finished", "error", "canceled", "skipped"):
            break
        time.sleep(0.05)
    times["import_s"] = time.monotonic() - t1
    times["total_s"] = time.monotonic() - t0
    session.delete(f"{api}/content/uploads/{upload_id}/")
    if task["state"] != "finished":
        raise SystemExit(f"import failed: {json.dumps(task['error'])}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1GiB")
    parser.add_argument("--gzip", action="store_true", help="gzip the tarball")
    parser.add_argument("--keep", action="store_true", help="keep the temporary dir")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--workdir", type=Path, help="where to build (default: a temp dir under /var/tmp)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-import-", dir=args.workdir or "/var/tmp"))
    size = imagegen.parse_size(args.size)
    image = work / "image"
    t = time.monotonic()
    imagegen.make_image(image, size)
    tarball = imagegen.tar_dir(image, work / ("image.tar.gz" if args.gzip else "image.tar"), compress=args.gzip)
    build_s = time.monotonic() - t
    server, url = start_server(work / "data")
    api = f"{url}/pulp/api/v2"
    sampler = RssSampler(server.pid)
    try:
        repo = {"id": "bench", "importer_type_id": "docker_importer", "notes": {"_repo-type": "docker-repo"},
                "distributors": [{"distributor_id": "docker_web_distributor_name_cli",
                                  "distributor_type_id": "docker_distributor_web", "auto_publish": True,
                                  "distributor_config": {}}]}
        requests.post(f"{api}/repositories/", json=repo, auth=AUTH).raise_for_status()
        idle = sum(p.memory_info().rss for p in [psutil.Process(server.pid),
                                                 *psutil.Process(server.pid).children(recursive=True)])
        sampler.start()
        times = upload_and_import(api, tarball, "bench", "latest")
    finally:
        sampler.stopped.set()
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    mib = 1024 * 1024
    figures = {
        "image_bytes": tarball.stat().st_size, "build_s": round(build_s, 2),
        **{k: round(v, 2) for k, v in times.items()},
        "upload_MBps": round(tarball.stat().st_size / mib / times["upload_s"], 1),
        "import_MBps": round(tarball.stat().st_size / mib / times["import_s"], 1),
        "idle_tree_rss_MiB": round(idle / mib, 1),
        "peak_tree_rss_MiB": round(sampler.peak / mib, 1),
        "peak_rss_by_process_MiB": {k: round(v / mib, 1) for k, v in sampler.peak_by_name.items()},
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    if not args.keep:
        subprocess.run(["rm", "-rf", str(work)])


if __name__ == "__main__":
    main()
