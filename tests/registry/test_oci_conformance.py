"""The OCI distribution-spec v1.1.0 conformance suite against the real server: all four workflows.

The prebuilt suite (tests/tools/conformance/, copied from shared/tools as data; its README says how it
was built) pushes its own content, with automatic cross-mounting on (the server mounts a blob the store
holds when ``from`` is absent). Every failing check fails this test, named with its message.
"""

from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

SUITE = Path(__file__).resolve().parent.parent / "tools" / "conformance" / "conformance.test"
WORKFLOWS = ("Pull", "Push", "Content Discovery", "Content Management")


def _cases(junit: Path) -> list[tuple[str, str, str]]:
    """(name, outcome, message) of every check in a junit report."""
    found = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        failure = case.find("failure") if case.find("failure") is not None else case.find("error")
        if failure is not None:
            found.append((case.get("name", ""), "failed", (failure.get("message") or failure.text or "")[:400]))
        elif case.find("skipped") is not None:
            found.append((case.get("name", ""), "skipped", ""))
        else:
            found.append((case.get("name", ""), "passed", ""))
    return found


def _workflow(name: str) -> str:
    return next((w for w in WORKFLOWS if f"Tests {w} " in name), "other")


@pytest.mark.slow
def test_every_conformance_check_passes(pulp_server, tmp_path) -> None:
    if not os.access(SUITE, os.X_OK):
        SUITE.chmod(0o755)
    report = tmp_path / "report"
    report.mkdir()
    env = {**os.environ,
           "OCI_ROOT_URL": pulp_server.url, "OCI_NAMESPACE": "conformance/push",
           "OCI_CROSSMOUNT_NAMESPACE": "conformance/cross", "OCI_AUTOMATIC_CROSSMOUNT": "1",
           "OCI_USERNAME": pulp_server.auth[0], "OCI_PASSWORD": pulp_server.auth[1],
           "OCI_TEST_PULL": "1", "OCI_TEST_PUSH": "1", "OCI_TEST_CONTENT_DISCOVERY": "1",
           "OCI_TEST_CONTENT_MANAGEMENT": "1", "OCI_REPORT_DIR": str(report), "OCI_HIDE_SKIPPED_WORKFLOWS": "0"}
    run = subprocess.run([str(SUITE), "-ginkgo.no-color"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    cases = _cases(report / "junit.xml")
    tally = Counter((_workflow(name), outcome) for name, outcome, _ in cases)
    print("conformance:", ", ".join(f"{w}: {tally[w, 'passed']} passed, {tally[w, 'failed']} failed, "
                                    f"{tally[w, 'skipped']} skipped" for w in WORKFLOWS))
    failed = [f"{name}: {message}" for name, outcome, message in cases if outcome == "failed"]
    assert not failed, "\n".join(failed)
    assert run.returncode == 0, run.stdout[-2000:]
    # Each workflow ran its checks (a suite that skipped them all would pass trivially).
    assert all(tally[w, "passed"] >= 5 for w in WORKFLOWS), tally
