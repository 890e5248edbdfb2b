"""How many malloc arenas the server's processes keep.

glibc gives a thread that finds the arenas in use one of its own, up to eight per core, and an arena
keeps the pages its thread freed. The API process runs many threads: the request thread pool, one per
upload stream (``upload_streams.MAX_STREAMS``), the worker's task threads. After ten uploads at once it
kept about 10 MB more with the default than with two arenas (101 vs 91 MB, the same wall time), and the
tree grows by the bursts it has seen, not by what it holds. Python's own allocator serves small objects
under the GIL, so the arenas only take the big buffers and few threads contend for them.

An explicit ``MALLOC_ARENA_MAX`` in the environment wins. Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from collections.abc import Mapping

log = logging.getLogger(__name__)

ARENA_MAX = 2
ENV = "MALLOC_ARENA_MAX"
_M_ARENA_MAX = -8  # glibc's malloc.h: mallopt's parameter number for the arena limit


def limit_this_process() -> bool:
    """Limit this process to ``ARENA_MAX`` arenas from now on (call it before threads start); True if set."""
    if ENV in os.environ:
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False  # not glibc (or no libc by that name): nothing to limit
    if mallopt(_M_ARENA_MAX, ARENA_MAX) != 1:
        log.debug("mallopt(M_ARENA_MAX, %d) was refused", ARENA_MAX)
        return False
    return True


def child_environ(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` for a child process of the server, with the arena limit unless it names one already."""
    return {ENV: str(ARENA_MAX), **env}
