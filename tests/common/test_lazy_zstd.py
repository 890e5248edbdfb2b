"""zstandard is loaded only when a zstd tarball comes (it is about 1 MB of the idle server's budget), and
a broken one is still a DKR1030 in a process that had not loaded it before."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import io, sys
import pulp_docker.common.kinds, pulp_docker.common.tarball as tarball
assert "zstandard" not in sys.modules, "imported with the tarball readers"
from pulp_docker.common.error_codes import DockerError
broken = b"\\x28\\xb5\\x2f\\xfd" + b"\\x00" * 64
try:
    tarball.walk(io.BytesIO(broken), tarball.spool_in_memory, upload_size=len(broken))
except DockerError as exc:
    print(exc.code, "zstandard" in sys.modules)
"""


def test_zstandard_is_imported_by_the_first_zstd_tarball_only() -> None:
    result = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["DKR1030", "True"]
