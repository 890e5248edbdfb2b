"""Timing one step (wall time, client and server CPU) and alternating contestants over rounds."""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import psutil

from benchmarks.memory import tree


@dataclass
class Sample:
    """One timed step. ``client_cpu_s`` is what the benchmark's child processes (pulp-admin, skopeo, cp,
    curl) spent; ``server_cpu_s`` what the server's process tree spent, both user + system."""

    wall_s: float
    client_cpu_s: float
    server_cpu_s: float | None
    extra: dict | None = None

    def as_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def tree_cpu(root: psutil.Process) -> float:
    """CPU seconds of a process tree: each live process, plus the reaped children it accounts for."""
    total = 0.0
    for proc in tree(root):
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(action: Callable[[], dict | None], server: psutil.Process | None = None, sync: bool = True,
          drop_caches: bool = False) -> Sample:
    """Run ``action`` once and time it.

    Before the clock starts, ``sync`` writes back dirty pages left by earlier steps (so they are not
    flushed on this step's time) and, with ``drop_caches``, the page cache is emptied so sources are
    read from the disk. Client CPU is counted from the rusage of reaped children, so ``action`` must
    wait for the processes it starts.
    """
    if sync:
        os.sync()
    if drop_caches:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    server_cpu0 = tree_cpu(server) if server else None
    client_cpu0 = children_cpu()
    t0 = time.monotonic()
    extra = action()
    wall = time.monotonic() - t0
    server_cpu = tree_cpu(server) - server_cpu0 if server and server_cpu0 is not None else None
    return Sample(wall, children_cpu() - client_cpu0, server_cpu, extra)


def alternate(rounds: int, contestants: dict[str, Callable[[int], Sample]],
              between: Callable[[int], None] | None = None, title: str = "") -> dict[str, list[Sample]]:
    """Run each contestant once per round, in the given order (A B A B …), for ``rounds`` rounds.

    ``between(round)`` runs after each round but the last (untimed): it resets state so that every
    round starts alike. Progress goes to stderr.
    """
    samples: dict[str, list[Sample]] = {name: [] for name in contestants}
    for round_no in range(rounds):
        for name, step in contestants.items():
            sample = step(round_no)
            samples[name].append(sample)
            print(f"  {title} round {round_no + 1}/{rounds} {name}: {sample.wall_s:.2f} s", file=sys.stderr)
        if between is not None and round_no < rounds - 1:
            between(round_no)
    return samples


def median(samples: list[Sample], attr: str = "wall_s") -> float:
    values = [getattr(s, attr) for s in samples if getattr(s, attr) is not None]
    return statistics.median(values) if values else float("nan")


def summary(samples: dict[str, list[Sample]]) -> dict:
    """Per contestant: median wall/CPU and every round's sample."""
    return {name: {"median_wall_s": round(median(s), 3),
                   "median_client_cpu_s": round(median(s, "client_cpu_s"), 3),
                   "median_server_cpu_s": round(median(s, "server_cpu_s"), 3) if any(
                       x.server_cpu_s is not None for x in s) else None,
                   "rounds": [x.as_dict() for x in s]}
            for name, s in samples.items()}


def idle_cpu_percent(root: psutil.Process, seconds: float = 5.0) -> float:
    """CPU a process tree uses while nobody asks it anything, in percent of one core."""
    cpu0, t0 = tree_cpu(root), time.monotonic()
    time.sleep(seconds)
    return 100 * (tree_cpu(root) - cpu0) / (time.monotonic() - t0)
