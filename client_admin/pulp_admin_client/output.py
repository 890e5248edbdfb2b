"""What the client prints: JSON for scripts, ``Key: value`` blocks for people, and transfer progress.

Results go to stdout, errors to stderr. Progress goes to stdout: a rich bar (bytes, rate, ETA) when
stdout is a terminal, a plain line every tenth of the transfer otherwise (CI logs), nothing with --json.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable
from typing import IO, Any

import click


def emit_json(value: Any) -> None:
    """Print one JSON document on stdout."""
    click.echo(json.dumps(value, indent=2, sort_keys=True, default=str))


def _label(key: str) -> str:
    """A key as Pulp 2's prompt showed it: ``content_unit_counts`` -> ``Content Unit Counts``."""
    return " ".join(word[:1].upper() + word[1:] for word in key.lstrip("_").replace("-", "_").split("_") if word)


def _lines(value: Any, indent: int) -> list[str]:
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return []
        width = max(len(_label(k)) for k in value) + 2
        out = []
        for key, item in value.items():
            head = f"{pad}{(_label(key) + ':').ljust(width)}"
            if isinstance(item, dict) and item or isinstance(item, list) and item and not _flat(item):
                out.append(head.rstrip())
                out.extend(_lines(item, indent + 1))
            else:
                out.append(f"{head}{_scalar(item)}".rstrip())
        return out
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, dict):
                out.extend(_lines(item, indent))
                out.append("")
            else:
                out.append(f"{pad}{_scalar(item)}")
        return out
    return [f"{pad}{_scalar(value)}"]


def _flat(items: list[Any]) -> bool:
    return all(not isinstance(i, (dict, list)) for i in items)


def _scalar(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, list):
        return ", ".join(_scalar(v) for v in value)
    if isinstance(value, dict):
        return ""  # an empty document: Pulp 2 printed the label alone
    return str(value)


def print_document(document: dict[str, Any]) -> None:
    """Print one record as aligned ``Key: value`` lines, nesting dicts, as pulp-admin did."""
    for line in _lines(document, 0):
        click.echo(line)


TITLE_WIDTH = 72  # Pulp 2's title bars


def print_title(title: str) -> None:
    """A section title between bars, centred, as Pulp 2's ``render_title``."""
    bar = f"+{'-' * (TITLE_WIDTH - 2)}+"
    click.echo(f"{bar}\n{title.center(TITLE_WIDTH).rstrip()}\n{bar}\n")


def print_documents(title: str, documents: Iterable[dict[str, Any]]) -> None:
    """A section title followed by each record, separated by blank lines."""
    print_title(title)
    for document in documents:
        print_document(document)
        click.echo()


def human_size(size: float) -> str:
    """Bytes as a short binary-unit string (``12.3 MiB``): the one unit system of the client's output."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


class TransferProgress:
    """Progress of one transfer of ``total`` bytes, of which ``done`` were already on the server.

    Use as a context manager and call ``advance(n)`` as bytes go out.
    """

    def __init__(self, label: str, total: int, done: int = 0, *, enabled: bool = True,
                 stream: IO[str] | None = None) -> None:
        self.label = label
        self.total = total
        self.done = done
        self.enabled = enabled
        self.stream = stream or sys.stdout
        self._rich: Any = None  # a rich Progress, on a terminal
        self._task: Any = None
        self._started = time.monotonic()
        self._start_done = done
        self._next_step = self._step_after(done)

    def _step_after(self, done: int) -> int:
        if self.total <= 0:
            return 0
        return (done * 10 // self.total + 1) * self.total // 10

    def __enter__(self) -> TransferProgress:
        if not self.enabled:
            return self
        if self.stream.isatty():
            from pulp_admin_client import rich_bars

            self._rich = rich_bars.transfer_bar(self.stream)
            self._rich.start()
            self._task = self._rich.add_task(self.label, total=self.total, completed=self.done, resumed_at=self.done)
        elif self.done:
            self._line(f"resuming at {human_size(self.done)}")
        return self

    def advance(self, count: int) -> None:
        self.done += count
        if not self.enabled:
            return
        if self._rich is not None:
            self._rich.update(self._task, advance=count)
        elif self.done >= self._next_step and self.done < self.total:
            self._next_step = self._step_after(self.done)
            self._line(self._status())

    def _status(self) -> str:
        elapsed = max(time.monotonic() - self._started, 1e-6)
        rate = (self.done - self._start_done) / elapsed
        text = f"{human_size(self.done)} / {human_size(self.total)}"
        if self.total:
            text += f" ({self.done * 100 // self.total}%)"
        text += f", {human_size(rate)}/s"
        if rate > 0 and self.done < self.total:
            text += f", ETA {_clock((self.total - self.done) / rate)}"
        return text

    def _line(self, text: str) -> None:
        print(f"{self.label}: {text}", file=self.stream, flush=True)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._rich is not None:
            self._rich.stop()
        elif self.enabled and exc_type is None:
            self._line(f"{self._status()}, done")


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class ImportStatus:
    """While the server imports an upload: a spinner on a terminal, one plain line otherwise (CI logs).

    Pulp 2 printed "Importing into the repository..." at this point; the transfer bar alone looked stuck.
    """

    def __init__(self, label: str, *, enabled: bool = True, stream: IO[str] | None = None) -> None:
        self.text = f"{label}: importing into the repository..."
        self.enabled = enabled
        self.stream = stream or sys.stdout
        self._status: Any = None

    def __enter__(self) -> ImportStatus:
        if not self.enabled:
            return self
        if self.stream.isatty():
            from pulp_admin_client import rich_bars

            self._status = rich_bars.spinner(self.stream, self.text)
            self._status.start()
        else:
            print(self.text, file=self.stream, flush=True)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._status is not None:
            self._status.stop()  # the spinner goes; the line stays, as the transfer bar does
            print(f"{self.text} done" if exc_type is None else self.text, file=self.stream, flush=True)
