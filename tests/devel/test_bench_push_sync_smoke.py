"""``devel/bench-push-sync`` runs end to end at a tiny size (it checks no timings: figures are in docs)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent.parent / "devel" / "bench-push-sync"


@pytest.mark.slow
def test_bench_push_sync_runs(tmp_path) -> None:
    if shutil.which("docker-registry") is None or shutil.which("skopeo") is None:
        pytest.skip("docker-registry and skopeo are needed")
    result = subprocess.run([sys.executable, str(SCRIPT), "--size", "4MiB", "--rounds", "1", "--workdir",
                             str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "push: skopeo dir: -> ours vs distribution" in result.stdout
    assert "sync from distribution" in result.stdout and "peak RSS" in result.stdout
    assert "sync round 0" in result.stderr and "(0 blobs)" not in result.stderr  # each round downloads
    assert list(tmp_path.iterdir()) == []  # its work dir is removed
