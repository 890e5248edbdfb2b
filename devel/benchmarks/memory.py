"""Resident memory of a process tree (a server and everything it started), sampled in the background."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

MB = 1_000_000


def tree(root: psutil.Process) -> list[psutil.Process]:
    """``root`` and all its descendants that are alive now."""
    try:
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def label(proc: psutil.Process) -> str:
    """A short, stable name for a process of a server tree: 'pulp-server run', 'server_cli worker', …"""
    try:
        argv = proc.cmdline()
    except psutil.Error:
        return f"pid {proc.pid}"
    words = [Path(a).name for a in argv[1:] if not a.startswith("-")][:2] or [Path(argv[0]).name if argv else "?"]
    return f"{' '.join(words)} [{proc.pid}]"


def tree_rss(root: psutil.Process) -> int:
    """Sum of the resident set sizes of ``root``'s tree, in bytes (shared pages counted once per process)."""
    total = 0
    for proc in tree(root):
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            pass
    return total


def pss(pid: int) -> int | None:
    """Proportional set size from ``/proc/PID/smaps_rollup`` (shared pages split among their users)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


@dataclass
class MemoryPeaks:
    """What a :class:`TreeSampler` saw: peaks of the tree's sum and of each process, in bytes."""

    tree_rss: int = 0
    tree_pss: int = 0
    by_process: dict[str, int] = field(default_factory=dict)
    samples: int = 0

    def as_mb(self) -> dict:
        return {"tree_peak_rss_MB": round(self.tree_rss / MB, 1),
                "tree_peak_pss_MB": round(self.tree_pss / MB, 1) if self.tree_pss else None,
                "process_peak_rss_MB": {k: round(v / MB, 1) for k, v in sorted(self.by_process.items())},
                "samples": self.samples}


class TreeSampler(threading.Thread):
    """Samples the RSS of every process in a tree every ``interval`` s (PSS every ``pss_interval`` s).

    The list of processes is refreshed every ``refresh`` s rather than every sample, so sampling costs
    one small ``/proc`` read per process: the benchmark shares the machine's cores with what it measures.
    Use as a context manager around the work to watch; ``peaks`` holds the result.
    """

    def __init__(self, pid: int, interval: float = 0.02, pss_interval: float = 0.25, refresh: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.interval, self.pss_interval, self.refresh = interval, pss_interval, refresh
        self.peaks = MemoryPeaks()
        self._done = threading.Event()

    def __enter__(self) -> TreeSampler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self.join(5)

    def run(self) -> None:
        procs: list[psutil.Process] = []
        labels: dict[int, str] = {}
        next_refresh = next_pss = 0.0
        while not self._done.is_set():
            now = time.monotonic()
            if now >= next_refresh:
                procs = tree(self.root)
                for proc in procs:
                    labels.setdefault(proc.pid, label(proc))
                next_refresh = now + self.refresh
            total = 0
            for proc in procs:
                try:
                    rss = proc.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                name = labels[proc.pid]
                self.peaks.by_process[name] = max(self.peaks.by_process.get(name, 0), rss)
            self.peaks.tree_rss = max(self.peaks.tree_rss, total)
            if now >= next_pss:
                values = [pss(p.pid) for p in procs]
                self.peaks.tree_pss = max(self.peaks.tree_pss, sum(v for v in values if v))
                next_pss = now + self.pss_interval
            self.peaks.samples += 1
            self._done.wait(self.interval)
