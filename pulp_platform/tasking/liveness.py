"""Is a worker process alive? Asked of the kernel on this machine, of the heartbeat elsewhere.

A heartbeat alone cannot tell a dead worker from one that a task stalls (a C call holding the GIL
starves every thread of the process, the heartbeat's too), and after a kill -9 and a quick restart the
dead worker's last beat is still fresh. So each worker record and each task journal carries the
identity of the process that wrote it: host, kernel boot id, pid and the pid's start time (so a
reused pid is not mistaken for it). On the same machine the kernel answers; elsewhere the heartbeat.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

from pulp_platform.models.content import now
from pulp_platform.models.task import Worker


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot; None if it is gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] in ("Z", "X"):  # exited, not yet reaped by its parent
        return None
    return int(fields[19])  # field 22 of stat; fields[0] is field 3


@cache
def identity() -> dict[str, Any]:
    """This process, as recorded with its heartbeats and journals."""
    return {"host": socket.gethostname(), "boot_id": _boot_id(), "pid": os.getpid(),
            "pid_start": _start_ticks(os.getpid())}


def process_alive(ident: dict[str, Any] | None) -> bool | None:
    """True/False for a process recorded on this machine (this boot); None when it cannot be told here."""
    if not ident or not ident.get("pid") or ident.get("pid_start") is None:
        return None
    mine = identity()
    if ident.get("host") != mine["host"] or ident.get("boot_id") != mine["boot_id"] or not mine["boot_id"]:
        return None
    return _start_ticks(int(ident["pid"])) == ident["pid_start"]


def worker_alive(name: str | None, worker_timeout: float) -> bool:
    """Whether worker ``name`` may still be running tasks (no record at all: it is not)."""
    if not name:
        return False
    record = Worker._get_collection().find_one({"_id": name})
    if record is None:
        return False
    local = process_alive(record.get("process"))
    if local is not None:
        return local
    return record["last_heartbeat"] >= now() - timedelta(seconds=worker_timeout)


def owner_alive(owner: dict[str, Any] | None, worker_name: str | None, worker_timeout: float) -> bool:
    """Whether the process that wrote a journal may still write (its identity first, then its worker)."""
    local = process_alive(owner)
    if local is not None:
        return local
    return worker_alive(worker_name, worker_timeout)
