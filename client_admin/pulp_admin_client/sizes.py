"""Sizes as the client prints them."""

from __future__ import annotations


def human_size(size: float) -> str:
    """Bytes as a short binary-unit string (``12.3 MiB``): the one unit system of the client's output."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")
