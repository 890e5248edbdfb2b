"""Task documents rendered as Pulp 2 task reports and call reports."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

API_PREFIX = "/pulp/api/v2/"


def iso(value: datetime | None) -> str | None:
    """A UTC timestamp as Pulp 2 wrote them (``...Z``), keeping sub-second precision."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def task_href(task_id: str) -> str:
    return f"{API_PREFIX}tasks/{task_id}/"


def task_report(doc: dict[str, Any]) -> dict[str, Any]:
    """The ``GET tasks/<id>/`` body for a raw ``task_status`` document; every key always present."""
    task_id = doc["_id"]
    return {
        "_href": task_href(task_id),
        "_ns": "task_status",
        "task_id": task_id,
        "id": task_id,
        "task_type": doc.get("task_type"),
        "state": doc.get("state"),
        "worker_name": doc.get("worker_name"),
        "queue": doc.get("queue"),
        "tags": doc.get("tags", []),
        "progress_report": doc.get("progress_report") or {},
        "result": doc.get("result"),
        "error": doc.get("error"),
        "exception": doc.get("exception"),
        "traceback": doc.get("traceback"),
        "start_time": iso(doc.get("start_time")),
        "finish_time": iso(doc.get("finish_time")),
        "spawned_tasks": doc.get("spawned_tasks", []),
    }


def call_report(task_ids: Iterable[str], result: Any = None) -> dict[str, Any]:
    """The 202 body of a call that queued tasks."""
    return {
        "result": result,
        "error": None,
        "spawned_tasks": [{"_href": task_href(t), "task_id": t} for t in task_ids],
    }


def jsonable(value: Any) -> Any:
    """Database values made JSON-friendly: datetimes as ISO strings, other BSON types as strings."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return iso(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
