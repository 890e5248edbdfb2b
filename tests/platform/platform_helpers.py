"""Assertions and small helpers shared by the platform tests."""

from __future__ import annotations

import uuid
from typing import Any

ERROR_KEYS = {"http_status", "error_message", "exception", "traceback", "_href", "http_request_method", "error"}
TASK_KEYS = {"_href", "task_id", "task_type", "state", "worker_name", "tags", "progress_report", "result",
             "error", "exception", "traceback", "start_time", "finish_time", "spawned_tasks", "id"}


def assert_error(response: Any, status: int, code: str) -> dict:
    """``response`` is a Pulp error of ``status`` with error code ``code``; returns the body."""
    assert response.status_code == status, response.text
    body = response.json()
    assert ERROR_KEYS <= set(body), body
    assert body["http_status"] == status
    assert body["error"]["code"] == code, body
    assert body["error_message"] == body["error"]["description"]
    assert body["_href"] == response.request.path_url.split("?")[0]
    assert body["http_request_method"] == response.request.method
    return body


def unique(prefix: str = "r") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def units(server: Any, repo_id: str, criteria: dict | None = None) -> list[dict]:
    response = server.api("POST", f"repositories/{repo_id}/search/units/", json={"criteria": criteria or {}})
    assert response.status_code == 200, response.text
    return response.json()
