"""The server at rest and at its edges: start and stop times, idle CPU and memory, task pickup latency."""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime

from benchmarks import memory, timing
from benchmarks.servers import OurServer, PeerRegistry

IDLE_SECONDS = 30.0  # the window issue 14 names
PICKUPS = 10


def idle(ours: OurServer, peer: PeerRegistry, seconds: float = IDLE_SECONDS) -> dict:
    """CPU (percent of one core, over ``seconds``) and RSS of each server's process tree while unused."""
    print(f"idle: {seconds:.0f} s window", file=sys.stderr)
    return {"seconds": seconds,
            "ours_cpu_percent": round(timing.idle_cpu_percent(ours.process, seconds), 2),
            "peer_cpu_percent": round(timing.idle_cpu_percent(peer.process, seconds), 2),
            "ours_tree_rss_MB": round(memory.tree_rss(ours.process) / 1e6, 1),
            "ours_process_rss_MB": {memory.label(p): round(p.memory_info().rss / 1e6, 1)
                                    for p in memory.tree(ours.process)},
            "peer_rss_MB": round(memory.tree_rss(peer.process) / 1e6, 1)}


def pickup(ours: OurServer, repo_id: str, count: int = PICKUPS) -> dict:
    """Dispatch → start of ``count`` publish tasks, one at a time, the server otherwise idle.

    Measured from just before the POST (client clock) to the task's ``start_time`` (same machine, same
    clock), so it includes the request itself.
    """
    latencies = []
    for _ in range(count):
        time.sleep(0.5)  # idle in between: the worker is asleep in its poll, as a first task finds it
        sent = datetime.now(UTC)
        report = ours.api("POST", f"repositories/{repo_id}/actions/publish/",
                          json={"id": "docker_web_distributor_name_cli"}).json()
        task = ours.wait_task(report["spawned_tasks"][0]["task_id"])
        started = datetime.fromisoformat(task["start_time"].replace("Z", "+00:00"))
        latencies.append((started - sent).total_seconds())
    return {"count": count, "median_s": round(statistics.median(latencies), 4),
            "max_s": round(max(latencies), 4), "all_s": [round(x, 4) for x in latencies]}
