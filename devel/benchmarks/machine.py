"""What the benchmark ran on: cores, memory, the work dir's file system and disk, kernel, load, tools."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import psutil


def _first_line(argv: list[str]) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.splitlines()[0] if out else None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _disk(path: Path) -> dict:
    """``df -T``'s device and file system type for ``path``, and whether the block device rotates."""
    lines = subprocess.run(["df", "-T", "-P", str(path)], capture_output=True, text=True).stdout.splitlines()
    device, fstype = (lines[-1].split()[:2] if len(lines) > 1 else (None, None))
    rotational = None
    if device and device.startswith("/dev/"):
        name = Path(device).name
        for candidate in (name, name.rstrip("0123456789"), name.rstrip("0123456789").removesuffix("p")):
            flag = Path(f"/sys/block/{candidate}/queue/rotational")
            if flag.exists():
                rotational = flag.read_text().strip() == "1"
                break
    # Virtual disks (virtio) often say rotational whatever backs them: take it as the kernel's word only.
    return {"device": device, "fstype": fstype, "rotational": rotational,
            "free_GB": round(psutil.disk_usage(path).free / 1e9)}


def describe(work: Path) -> dict:
    repo = Path(__file__).resolve().parents[2]
    commit = _first_line(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"])
    dirty = bool(_first_line(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"]))
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_GB": round(psutil.virtual_memory().total / 1e9, 1),
        "disk": _disk(work),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "git": f"{commit}{' (dirty)' if dirty else ''}",
        "skopeo": _first_line(["skopeo", "--version"]),
        "docker_registry": _first_line(["docker-registry", "--version"]),
    }
