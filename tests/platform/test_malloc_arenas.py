"""The server's processes keep at most ``malloc_arenas.ARENA_MAX`` glibc arenas, however many threads they run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pulp_platform import malloc_arenas

# Eight threads that each malloc while all are alive, then glibc's own account of its heaps (arenas).
PROBE = r"""
import ctypes, ctypes.util, sys, threading
from pulp_platform import malloc_arenas
limited = malloc_arenas.limit_this_process()
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
barrier = threading.Barrier(9)
def grab():
    libc.malloc(4096)
    barrier.wait()
    barrier.wait()
threads = [threading.Thread(target=grab) for _ in range(8)]
for t in threads:
    t.start()
barrier.wait()
out = libc.fopen(sys.argv[1].encode(), b"w")
libc.malloc_info(0, out)
libc.fclose(out)
barrier.wait()
for t in threads:
    t.join()
print(limited)
"""

glibc_only = pytest.mark.skipif(not os.confstr_names.get("CS_GNU_LIBC_VERSION"), reason="glibc's arenas")


def heaps(tmp_path: Path, env: dict[str, str]) -> tuple[str, int]:
    info = tmp_path / "malloc_info.xml"
    out = subprocess.run([sys.executable, "-c", PROBE, str(info)], env=env, capture_output=True, text=True,
                         check=True, timeout=60).stdout.strip()
    return out, info.read_text().count("<heap nr=")


@glibc_only
def test_a_limited_process_keeps_two_arenas_for_eight_threads(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != malloc_arenas.ENV}
    assert heaps(tmp_path, env) == ("True", malloc_arenas.ARENA_MAX)


@glibc_only
def test_an_explicit_malloc_arena_max_wins(tmp_path: Path) -> None:
    limited, count = heaps(tmp_path, {**os.environ, malloc_arenas.ENV: "8"})
    assert limited == "False"
    assert count > malloc_arenas.ARENA_MAX  # the probe's eight threads got arenas of their own


def test_children_get_the_limit_unless_they_name_one() -> None:
    assert malloc_arenas.child_environ({"PATH": "/bin"}) == {"PATH": "/bin", "MALLOC_ARENA_MAX": "2"}
    assert malloc_arenas.child_environ({"MALLOC_ARENA_MAX": "4"}) == {"MALLOC_ARENA_MAX": "4"}


@glibc_only
def test_the_embedded_database_runs_with_the_limit(pulp_server) -> None:
    pid = json.loads((pulp_server.data_dir / "run" / "db.pid").read_text())["pid"]
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert b"MALLOC_ARENA_MAX=2" in environ
