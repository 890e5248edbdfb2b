"""docs/quickstart.md works as written: its shell blocks, pasted in order, against the real server.

The first block (``make run``) is the server, which the ``pulp_server`` fixture already runs; the
others run in one bash with ``-e``, in a throwaway HOME, with the server's port in place of 24817.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from admin_runner import server_address

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "docs" / "quickstart.md"


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```$", text, re.S | re.M)


@pytest.mark.skipif(not (shutil.which("skopeo") and shutil.which("umoci")), reason="needs skopeo and umoci")
def test_quickstart_runs_as_written(docker_server, tmp_path):
    blocks = shell_blocks(QUICKSTART.read_text())
    assert blocks[0].strip() == "make run"
    host, port = server_address(docker_server)
    assert host == "127.0.0.1" and docker_server.auth == ("admin", "admin")
    script = "\n".join(blocks[1:]).replace("24817", str(port))
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home)}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Tag latest -> sha256:" in result.stdout
    assert result.stdout.rstrip().endswith("pulled back: identical manifest")
