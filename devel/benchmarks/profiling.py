"""Where the time goes: py-spy attached to every Python process of our server (and to the client) while
one more upload, or one blob GET, runs; collapsed stacks summarised into the functions that cost most.

Needs ``py-spy`` (``pip install py-spy``) and the right to ptrace the server (root, or
``kernel.yama.ptrace_scope`` 0). The profiled runs are extra: they never count in the timed figures.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psutil

from benchmarks import clients
from benchmarks.memory import label, tree

RATE = 100  # samples per second


def py_spy() -> str:
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(exe).exists():
        raise SystemExit("--profile needs py-spy: pip install py-spy")
    return exe


def python_processes(root: psutil.Process) -> list[psutil.Process]:
    out = []
    for proc in tree(root):
        try:
            if "python" in Path(proc.exe()).name:
                out.append(proc)
        except psutil.Error:
            pass
    return out


def record(root: psutil.Process, out_dir: Path, name: str, action: Callable[[Path], None]) -> dict:
    """Record every Python process under ``root`` while ``action(raw_client_profile_path)`` runs.

    py-spy samples without stopping the target (``--nonblocking``), idle threads left out, so the
    percentages are of the time a process was busy. Returns a summary per process.
    """
    exe = py_spy()
    out_dir.mkdir(parents=True, exist_ok=True)
    recorders = []
    for proc in python_processes(root):
        raw = out_dir / f"{name}-{proc.pid}.txt"
        recorders.append((label(proc), raw, subprocess.Popen(
            [exe, "record", "--pid", str(proc.pid), "--rate", str(RATE), "--nonblocking", "--format", "raw",
             "--output", str(raw)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)))
    client_raw = out_dir / f"{name}-client.txt"
    try:
        action(client_raw)
    finally:
        for _, _, rec in recorders:
            rec.send_signal(signal.SIGINT)
        for _, _, rec in recorders:
            try:
                rec.wait(60)
            except subprocess.TimeoutExpired:
                rec.kill()
    summaries = {lbl: summarise(raw) for lbl, raw, _ in recorders if raw.exists()}
    if client_raw.exists():
        summaries["client"] = summarise(client_raw)
    return summaries


def client_argv(raw: Path, argv: list[str]) -> list[str]:
    """``argv`` run under py-spy, its profile written to ``raw``."""
    return [py_spy(), "record", "--rate", str(RATE), "--nonblocking", "--format", "raw", "--output", str(raw),
            "--", *argv]


PROJECT = ("pulp_platform/", "pulp_admin_client/", "pulp_docker/", "plugins/", "common/", "extensions_admin/")


def _function(frame: str) -> str:
    """'put_chunk (pulp_platform/webapi/uploads.py:43)' -> 'put_chunk (pulp_platform/webapi/uploads.py)'."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})" if where else name


def summarise(raw: Path, top: int = 12) -> dict:
    """Busy seconds; the functions with the most samples on top of the stack (``self``); and the
    project's own functions by samples anywhere in the stack (``project``), lines folded together."""
    own: Counter[str] = Counter()
    project: Counter[str] = Counter()
    samples = 0
    with open(raw) as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            samples += n
            frames = [_function(frame) for frame in stack.split(";") if not frame.startswith(("process ", "thread "))]
            if not frames:
                continue
            own[frames[-1]] += n
            for frame in set(frames):
                if any(p in frame for p in PROJECT):
                    project[frame] += n

    def rows(counter: Counter[str]) -> list[dict]:
        return [{"function": k, "seconds": round(v / RATE, 2), "percent": round(100 * v / samples, 1)}
                for k, v in counter.most_common(top)]
    return {"busy_s": round(samples / RATE, 2), "self": rows(own), "project": rows(project), "raw": str(raw)}


def profile_upload(rig, image, out_dir: Path, kind: str = "skopeo-dir") -> dict:
    """One extra upload+import of ``image``'s ``kind`` tarball (not yet on the server) with the server and
    client profiled."""
    repo = "profile"
    rig.admin.create_repo(repo)
    upload = image.upload(kind)

    def action(client_raw: Path) -> None:
        subprocess.run(client_argv(client_raw, rig.admin.upload_argv(repo, upload.tar, "latest")),
                       env=rig.admin.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                       timeout=3600)
    print(f"profile: upload+import of the {kind} tarball under py-spy", file=sys.stderr)
    result = record(rig.ours.process, out_dir, "upload", action)
    rig.reset_ours([repo], [upload.big_digest])
    return result


def profile_pull(rig, image, name: str, out_dir: Path) -> dict:
    """One extra skopeo pull of the image from our server, the server profiled."""
    out = rig.work / "pulled-profile"

    def action(client_raw: Path) -> None:
        clients.skopeo_pull(rig.ours.host, name, "latest", out)
    print("profile: skopeo pull under py-spy", file=sys.stderr)
    try:
        return record(rig.ours.process, out_dir, "pull", action)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def profile_get(rig, image, name: str, out_dir: Path) -> dict:
    """One extra curl GET of the big blob from our server, profiled."""
    url = f"http://{rig.ours.host}/v2/{name}/blobs/{image.big_digest}"

    def action(client_raw: Path) -> None:
        subprocess.run(["curl", "-sS", "-f", "--noproxy", "*", "-o", "/dev/null", url], check=True, timeout=600)
    print("profile: blob GET under py-spy", file=sys.stderr)
    return record(rig.ours.process, out_dir, "get", action)
