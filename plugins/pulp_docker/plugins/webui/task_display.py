"""Tasks as the UI shows them: what they do, on which repository, their state, progress and outcome.

Progress reports come in the shapes the docker importer writes: an upload's ``{"docker_importer":
{"state", "member_bytes_read", "bytes_total"}}`` (or ``blob_bytes_staged`` while verifying), a sync's
list of Pulp 2 steps (``description``, ``num_processed`` of ``items_total``). Each becomes a bar.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from pulp_platform.models.task import FINAL_STATES, UNFINISHED_STATES, TaskStatus
from pulp_platform.tasking.reports import iso

RECENT = 30
ACTIONS = {"import_upload": "Import upload", "sync": "Sync", "publish": "Publish", "delete": "Delete repository",
           "associate": "Copy", "unassociate": "Remove units"}
_STEP_LABELS = {"running": "Reading the upload", "verifying": "Verifying blobs", "finished": "Read the upload"}


@dataclass
class Bar:
    label: str
    done: int
    total: int | None
    unit: str  # "bytes" or "items"
    state: str | None = None


@dataclass
class TaskView:
    task_id: str
    action: str
    repo_id: str | None
    state: str
    queued: datetime | None
    started: datetime | None
    finished: datetime | None
    bars: list[Bar] = field(default_factory=list)
    error: str | None = None
    summary: str | None = None

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(final=self.final, queued=iso(self.queued), started=iso(self.started), finished=iso(self.finished))
        return data


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def bars(report: dict[str, Any] | None) -> list[Bar]:
    found: list[Bar] = []
    for part in (report or {}).values():
        if isinstance(part, dict):
            state = str(part.get("state") or "")
            if (done := _int(part.get("member_bytes_read"))) is not None:
                found.append(Bar(_STEP_LABELS.get(state, "Reading the upload"), done,
                                 _int(part.get("bytes_total")), "bytes", state))
            if (done := _int(part.get("blob_bytes_staged"))) is not None:
                found.append(Bar("Verifying blobs", done, None, "bytes", state))
        elif isinstance(part, list):
            for step in part:
                if isinstance(step, dict) and _int(step.get("num_processed")) is not None:
                    found.append(Bar(str(step.get("description") or step.get("step_type") or "Step"),
                                     step["num_processed"], _int(step.get("items_total")), "items",
                                     str(step.get("state") or "")))
    return found


def _tagged(tags: list[str], prefix: str) -> str | None:
    return next((t.removeprefix(prefix) for t in tags if t.startswith(prefix)), None)


def summary(action: str | None, result: Any) -> str | None:
    """One line of what a finished task did, from its result."""
    if not isinstance(result, dict):
        return None
    if action == "import_upload":
        brief = result.get("summary") if isinstance(result.get("summary"), dict) else {}
        tags = brief.get("tags") or ([brief["tag"]] if brief.get("tag") else [])
        digest = brief.get("manifest_digest")
        if tags:
            return f"Tagged {', '.join(map(str, tags))}" + (f" → {digest}" if digest else "")
        return f"Imported {digest}" if digest else None
    if action in ("associate", "unassociate") and isinstance(result.get("units_successful"), list):
        verb = "Copied" if action == "associate" else "Removed"
        return f"{verb} {len(result['units_successful'])} unit(s)"
    if action == "publish" and isinstance(result.get("summary"), dict):
        name = result["summary"].get("registry_name")
        return f"Published as {name}" if name else "Published"
    return None


def view(doc: dict[str, Any]) -> TaskView:
    tags = [str(t) for t in doc.get("tags") or []]
    action = _tagged(tags, "pulp:action:")
    error = doc.get("error") if isinstance(doc.get("error"), dict) else None
    return TaskView(doc["_id"], ACTIONS.get(action or "", action or str(doc.get("task_type") or "Task")),
                    _tagged(tags, "pulp:repository:"), str(doc.get("state")), doc.get("queued_time"),
                    doc.get("start_time"), doc.get("finish_time"), bars(doc.get("progress_report")),
                    error.get("description") if error else None, summary(action, doc.get("result")))


def task(task_id: str) -> TaskView | None:
    doc = TaskStatus._get_collection().find_one({"_id": task_id})
    return view(doc) if doc else None


def tasks(task_ids: list[str]) -> list[TaskView]:
    docs = TaskStatus._get_collection().find({"_id": {"$in": task_ids}})
    return [view(doc) for doc in docs]


def unfinished(repo_id: str | None = None) -> list[TaskView]:
    query: dict[str, Any] = {"state": {"$in": list(UNFINISHED_STATES)}}
    if repo_id:
        query["tags"] = f"pulp:repository:{repo_id}"
    return [view(doc) for doc in TaskStatus._get_collection().find(query).sort("sequence", 1).limit(200)]


def recent(repo_id: str | None = None, limit: int = RECENT) -> list[TaskView]:
    query: dict[str, Any] = {"state": {"$in": list(FINAL_STATES)}}
    if repo_id:
        query["tags"] = f"pulp:repository:{repo_id}"
    docs = TaskStatus._get_collection().find(query).sort("sequence", -1).limit(limit)
    return [view(doc) for doc in docs]
