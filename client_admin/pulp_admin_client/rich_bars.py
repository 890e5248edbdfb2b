"""The rich pieces of the client's progress output, for a terminal only.

``output`` imports this when stdout is a terminal: rich costs about 25 ms of every ``pulp-admin``
start, and scripts, CI logs and ``--json`` never draw a bar.
"""

from __future__ import annotations

from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
from rich.text import Text

from pulp_admin_client.output import human_size


class BinaryRateColumn(ProgressColumn):
    """The transfer rate in binary units, as ``human_size`` and ``DownloadColumn(binary_units=True)`` show
    sizes (rich's own speed column is decimal: MB/s beside MiB)."""

    def render(self, task: Any) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None and task.finished and task.elapsed:
            # Sent in one piece (smaller than a send block): rich has a single sample, so its average.
            speed = (task.completed - task.fields.get("resumed_at", 0)) / task.elapsed
        return Text("?" if speed is None else f"{human_size(speed)}/s", style="progress.data.speed")


def transfer_bar(stream: IO[str]) -> Progress:
    """A bar of bytes, binary rate and ETA on ``stream``."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(binary_units=True),
                    BinaryRateColumn(), TimeRemainingColumn(), console=Console(file=stream), transient=False)


def spinner(stream: IO[str], text: str) -> Any:
    """A spinner with ``text`` on ``stream`` (not started)."""
    return Console(file=stream).status(text)
