"""``devel/bench`` runs end to end at a tiny size: every phase, the table, the JSON, and a clean work dir.

Timings are not checked (they depend on the machine); what is checked is that each phase produced its
figures from real runs of pulp-admin, skopeo, curl, cp and cat against both servers.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "devel" / "bench"
TOOLS = ("skopeo", "docker-registry", "curl")


@pytest.fixture
def tools() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"devel/bench needs {', '.join(missing)}")


def run_bench(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=timeout)


def test_bench_runs_every_phase_at_a_tiny_size(tools, tmp_path):
    work, out = tmp_path / "work", tmp_path / "bench.json"
    result = run_bench("--size", "6MiB", "--rounds", "1", "--parallel-count", "2", "--parallel-size", "3MiB",
                       "--workdir", str(work), "--json", str(out))
    assert result.returncode == 0, result.stderr[-3000:]

    doc = json.loads(out.read_text())
    results = doc["results"]
    assert set(results) == {"idle", "in", "out", "parallel"}
    assert results["idle"]["ours_tree_rss_MB"] > 0
    for name in ("ours", "peer", "cp"):
        assert len(results["in"][name]["rounds"]) == 1
        assert results["in"][name]["median_wall_s"] > 0
    # The import task's own duration came from the server's task report.
    assert results["in"]["ours"]["rounds"][0]["extra"]["import_task_s"] is not None
    memory = results["in"]["memory"]
    assert memory["tree_peak_rss_MB"] >= memory["idle_tree_rss_MB"] > 0
    assert any(name.startswith("pulp-server run") for name in memory["process_peak_rss_MB"])
    for name in ("pull_ours", "pull_peer", "get_ours", "get_peer", "get_sendfile", "cat"):
        assert results["out"][name]["median_wall_s"] > 0
    assert results["parallel"]["images"] == 2
    assert results["parallel"]["single"]["aggregate_MBps"] > 0
    assert results["parallel"]["concurrent"]["aggregate_MBps"] > 0

    targets = {t["name"]: t for t in doc["targets"]}
    assert set(targets) == {"in_vs_skopeo_push", "in_vs_cp", "out_pull", "out_get_vs_cat", "memory", "parallel"}
    for target in targets.values():
        assert isinstance(target["pass"], bool) and target["value"] > 0
    assert doc["missed"] == [name for name, t in targets.items() if not t["pass"]]
    assert doc["image"]["layers"] == 4 and doc["machine"]["nproc"] >= 1

    assert "| figure" in result.stdout and "parallel: 2 uploads at once" in result.stdout
    # Servers stopped, images and data dirs removed.
    assert list(work.iterdir()) == []


def test_bench_refuses_an_unknown_phase(tmp_path):
    result = run_bench("--only", "in,sideways", "--workdir", str(tmp_path), timeout=60)
    assert result.returncode == 2
    assert "unknown phase 'sideways'" in result.stderr
    assert list(tmp_path.iterdir()) == []
