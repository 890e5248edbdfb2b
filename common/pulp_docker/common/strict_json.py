"""JSON read the way registry clients read it, so that nothing is accepted here that they would refuse.

Python's ``json.loads`` is lenient where Go's ``encoding/json`` (docker, containerd, skopeo) is not:
given bytes it guesses UTF-16 or UTF-32 and skips a UTF-8 byte order mark, it takes ``NaN``,
``Infinity`` and ``1e400`` (as infinity), and it keeps lone surrogates. A manifest the server accepts
and serves that clients cannot parse is a parser differential; ``loads`` refuses each of these, and
duplicate keys (which parsers resolve differently), nesting deeper than ``MAX_DEPTH`` and documents
larger than ``MAX_SIZE``.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from typing import Any

MAX_SIZE = 4 * 1024 * 1024  # as distribution's manifest limit
# Manifests nest 4 deep (index > manifests > descriptor > platform); image configs a few more.
MAX_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONRefused(ValueError):
    """Bytes that are not the strict JSON registry clients read; the message says why."""


def _constant(name: str) -> Any:
    raise JSONRefused(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONRefused(f"the number {text[:40]} is out of range")
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for key, value in pairs:
        if key in doc:
            raise JSONRefused(f"the key {key!r} appears twice in one object")
        doc[key] = value
    return doc


def _check_tree(doc: Any, max_depth: int) -> None:
    """Depth and strings of a parsed document, without recursion."""
    stack = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                raise JSONRefused("a string holds a lone UTF-16 surrogate (\\ud800-\\udfff)")
            continue
        if not isinstance(node, dict | list):
            continue
        if depth > max_depth:
            raise JSONRefused(f"nested more than {max_depth} levels deep")
        children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children)


def loads(data: bytes, *, max_size: int = MAX_SIZE, max_depth: int = MAX_DEPTH) -> Any:
    """The document in ``data``; raises JSONRefused for anything but strict UTF-8 JSON (see the module)."""
    if len(data) > max_size:
        raise JSONRefused(f"larger than {max_size} bytes")
    if data.startswith(codecs.BOM_UTF8):
        raise JSONRefused("it starts with a UTF-8 byte order mark")
    if b"\x00" in data or data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise JSONRefused("not UTF-8 (NUL bytes or a UTF-16 byte order mark: UTF-16 or UTF-32?)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JSONRefused(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        doc = json.loads(text, parse_constant=_constant, parse_float=_float, object_pairs_hook=_object)
    except JSONRefused:
        raise
    except RecursionError:
        raise JSONRefused(f"nested more than {max_depth} levels deep") from None
    except ValueError as exc:  # JSONDecodeError, and int()'s digit limit
        raise JSONRefused(f"not valid JSON ({exc})") from None
    _check_tree(doc, max_depth)
    return doc
