"""Which manifest a tag request gets, from the client's ``Accept`` header(s).

Rules (those of distribution and of crane before it):

- No ``Accept`` header, or ``*/*``: the client takes anything.
- A tag may name several things (Pulp keeps one tag per schema version and manifest type); the first
  the client accepts wins, in the order manifest list, schema 2 / OCI image, schema 1.
- A list the client cannot take is replaced by its linux/amd64 instance when the client takes that
  instance's type (crane's behaviour; distribution does the same for its default platform).
- Schema 1 types are one family: a client taking signed or unsigned schema 1 takes either.
- Nothing is converted: a client that takes none of what the tag names gets MANIFEST_UNKNOWN (404,
  as distribution answers for an OCI manifest asked for without the OCI type), whose detail says
  what the tag holds.

A request by digest is served as stored, whatever the ``Accept``: the client named those exact bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pulp_docker.common import media_types as mt
from pulp_docker.common.constants import MANIFEST_TYPE_LIST

SCHEMA1 = frozenset({mt.DOCKER_MANIFEST_V1, mt.DOCKER_MANIFEST_V1_SIGNED})


@dataclass(frozen=True)
class Accepted:
    """The media types a client takes; ``types`` None means any."""

    types: frozenset[str] | None

    def takes(self, media_type: str | None) -> bool:
        if self.types is None:
            return True
        if media_type in self.types:
            return True
        return media_type in SCHEMA1 and bool(self.types & SCHEMA1)


def parse_accept(values: Iterable[str]) -> Accepted:
    """Parse every ``Accept`` header value (clients send one header per type or one comma list)."""
    types = set()
    for value in values:
        for part in value.split(","):
            media_type = part.split(";", 1)[0].strip().lower()
            if media_type:
                types.add(media_type)
    if not types or "*/*" in types:
        return Accepted(None)
    return Accepted(frozenset(types))


def _preference(row: dict[str, Any]) -> int:
    if row.get("manifest_type") == MANIFEST_TYPE_LIST:
        return 0
    return 2 if row.get("media_type") in SCHEMA1 else 1


def amd64_instance(list_row: dict[str, Any]) -> dict[str, Any] | None:
    """The linux/amd64 entry of a published manifest list row."""
    for instance in list_row.get("instances", []):
        if instance.get("os") == "linux" and instance.get("arch") == "amd64":
            return instance
    return None


class NotAcceptable(LookupError):
    """The tag names nothing the client takes; ``offered`` lists the media types it could have had."""

    def __init__(self, offered: list[str]) -> None:
        super().__init__(offered)
        self.offered = offered


def choose(tag_rows: list[dict[str, Any]], accepted: Accepted,
           list_row: Callable[[str], dict[str, Any] | None]) -> str:
    """The digest to serve for a tag's rows; ``list_row(digest)`` gives a list's published row.

    Raises NotAcceptable when the client takes none of them.
    """
    offered = []
    for row in sorted(tag_rows, key=_preference):
        offered.append(row["media_type"])
        if accepted.takes(row["media_type"]):
            return row["digest"]
        if row.get("manifest_type") == MANIFEST_TYPE_LIST:
            found = list_row(row["digest"])
            instance = amd64_instance(found) if found else None
            if instance and accepted.takes(instance.get("media_type")):
                return instance["digest"]
            if instance:
                offered.append(f"{instance.get('media_type')} (linux/amd64 instance)")
    raise NotAcceptable(offered)
