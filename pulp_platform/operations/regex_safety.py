"""Regular expressions in search filters that cannot backtrack catastrophically.

A ``$regex`` runs in the database, with a backtracking engine (PCRE in MongoDB, Python's ``re`` in the
embedded SecantusDB, which holds its one interpreter while matching). A pattern like ``(a+)+$`` takes
time doubling with each character of the value, and on the embedded database it stalls every other
request meanwhile; ``maxTimeMS`` cannot interrupt a match in progress there. So such patterns are
refused before the query is sent: a quantified group may not itself hold a quantifier or an
alternation (``(a+)+``, ``(a|aa)*``, ``(\\w+\\s?)*``); ``(ab)+``, ``a+b*``, ``(foo|bar)`` and
``(foo|bar)?`` pass. Patterns are also limited in length.

This is hand-written because neither ``re`` nor MongoDB has a public way to ask whether a pattern can
backtrack exponentially, and a small scanner over the pattern's syntax is enough for that one rule.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PATTERN_LENGTH = 1024


@dataclass
class _Group:
    quantified_inside: bool = False
    alternation: bool = False


def _quantifier_at(pattern: str, i: int) -> tuple[int, bool] | None:
    """A quantifier starting at ``i``: (its length, whether it repeats more than once)."""
    if i >= len(pattern):
        return None
    char = pattern[i]
    if char in "*+":
        return 1, True
    if char == "?":
        return 1, False
    if char == "{":
        end = pattern.find("}", i)
        body = pattern[i + 1:end] if end > 0 else ""
        low, _, high = body.partition(",")
        if end < 0 or not low.isdigit() or (high and not high.isdigit()):
            return None  # a literal brace
        repeats = "," in body and (not high or int(high) > 1) or (not high and int(low) > 1)
        return end - i + 1, bool(repeats)
    return None


def _skip_class(pattern: str, i: int) -> int:
    """The index just past a ``[...]`` class starting at ``i``."""
    j = i + 1
    if j < len(pattern) and pattern[j] == "^":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        j += 1
    while j < len(pattern) and pattern[j] != "]":
        j += 2 if pattern[j] == "\\" else 1
    return j + 1


def backtracking_risk(pattern: str) -> str | None:
    """Why ``pattern`` is refused, or None when it is safe to send."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"a regular expression may be at most {MAX_PATTERN_LENGTH} characters"
    stack = [_Group()]
    i = 0
    while i < len(pattern):
        char = pattern[i]
        atom_end = i + 1
        closed: _Group | None = None
        if char == "\\":
            atom_end = i + 2
        elif char == "[":
            atom_end = _skip_class(pattern, i)
        elif char == "(":
            stack.append(_Group())
            i += 1
            continue
        elif char == ")" and len(stack) > 1:
            closed = stack.pop()
        elif char == "|":
            stack[-1].alternation = True
            i += 1
            continue
        quantifier = _quantifier_at(pattern, atom_end)
        if quantifier is not None:
            length, repeats = quantifier
            if closed is not None and repeats and (closed.quantified_inside or closed.alternation):
                return (f"{pattern!r} repeats a group that itself repeats or alternates (like (a+)+): "
                        "its matching time can grow exponentially")
            stack[-1].quantified_inside |= repeats
            atom_end += length
            if atom_end < len(pattern) and pattern[atom_end] in "?+":  # lazy or possessive
                atom_end += 1
        if closed is not None and closed.quantified_inside:
            stack[-1].quantified_inside = True
        i = atom_end
    return None
