"""The sync's progress report, in Pulp 2's docker sync shape: a list of steps under ``docker_importer``."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

NOT_STARTED, IN_PROGRESS, FINISHED, FAILED, CANCELLED = "NOT_STARTED", "IN_PROGRESS", "FINISHED", "FAILED", \
    "CANCELLED"
METADATA, DOWNLOAD, SAVE = "sync_step_metadata", "sync_step_download", "sync_step_save"
DESCRIPTIONS = {METADATA: "Downloading manifests", DOWNLOAD: "Downloading remote files",
                SAVE: "Saving manifests and blobs"}
INTERVAL = 0.5  # seconds between reports (each is a database write)


@dataclass
class Step:
    step_type: str
    state: str = NOT_STARTED
    items_total: int = 0
    num_processed: int = 0
    num_success: int = 0
    num_failures: int = 0
    error_details: list[str] = field(default_factory=list)
    step_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def report(self) -> dict[str, Any]:
        return {"step_type": self.step_type, "description": DESCRIPTIONS[self.step_type], "state": self.state,
                "items_total": self.items_total, "num_processed": self.num_processed,
                "num_success": self.num_success, "num_failures": self.num_failures,
                "error_details": list(self.error_details), "details": "", "step_id": self.step_id}


class Progress:
    """The three steps, reported through ``set_progress`` at most every ``INTERVAL`` (and on each state change)."""

    def __init__(self, set_progress: Callable[[dict[str, Any]], None]) -> None:
        self.steps = {name: Step(name) for name in (METADATA, DOWNLOAD, SAVE)}
        self._set = set_progress
        self._lock = threading.Lock()
        self._last = 0.0

    def start(self, name: str, total: int) -> None:
        with self._lock:
            step = self.steps[name]
            step.state, step.items_total = IN_PROGRESS, total
        self.send(force=True)

    def advance(self, name: str, *, ok: bool = True, error: str | None = None) -> None:
        with self._lock:
            step = self.steps[name]
            step.num_processed += 1
            if ok:
                step.num_success += 1
            else:
                step.num_failures += 1
                if error:
                    step.error_details.append(error)
        self.send()

    def finish(self, name: str, state: str = FINISHED) -> None:
        with self._lock:
            self.steps[name].state = state
        self.send(force=True)

    def fail_running(self, state: str = FAILED) -> None:
        with self._lock:
            for step in self.steps.values():
                if step.state == IN_PROGRESS:
                    step.state = state
        self.send(force=True)

    def send(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._last < INTERVAL:
            return
        self._last = time.monotonic()
        with self._lock:
            report = {"docker_importer": [step.report() for step in self.steps.values()]}
        self._set(report)
