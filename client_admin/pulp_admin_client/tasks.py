"""Waiting for server tasks, describing how they ended, and the ``tasks`` commands."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click

from pulp_admin_client.context import ClientContext
from pulp_admin_client.failures import ClientError, ExitCode
from pulp_admin_client.output import emit_json, print_documents

FINAL_STATES = frozenset({"finished", "error", "canceled", "skipped"})
ACTIVE_STATES = frozenset({"waiting", "running", "suspended", "accepted"})


def spawned_task_ids(call_report: Any) -> list[str]:
    """The ids of the tasks a 202 call report spawned."""
    if not isinstance(call_report, dict):
        raise ClientError(f"the server answered an unexpected call report: {call_report!r}", ExitCode.SERVER)
    return [t["task_id"] for t in call_report.get("spawned_tasks") or []]


def wait(ctx: ClientContext, task_id: str, on_poll: Callable[[dict[str, Any]], None] | None = None
         ) -> dict[str, Any]:
    """Poll ``tasks/<id>/`` until the task reaches a final state; return its last report."""
    delay = 0.05
    while True:
        task = ctx.connection.get(f"tasks/{task_id}/")
        if on_poll is not None:
            on_poll(task)
        if task.get("state") in FINAL_STATES:
            return task
        time.sleep(delay)
        # Gently: most tasks a client waits on end within a second, and a doubling would see the end
        # of a 0.2 s import only at 0.35 s.
        delay = min(delay * 1.25, ctx.config.poll_frequency_in_seconds)


def failure(task: dict[str, Any]) -> str | None:
    """One line saying why a finished task failed, or None if it succeeded.

    Pulp 2 clients treat any non-null ``error``, ``exception`` or ``traceback`` as failure.
    """
    state = task.get("state")
    error = task.get("error")
    task_id = task.get("task_id")
    if isinstance(error, dict) and (error.get("code") or error.get("description")):
        return f"task {task_id} failed: {error.get('code') or 'error'}: {error.get('description') or ''}".strip()
    if state == "canceled":
        return f"task {task_id} was canceled"
    exception = task.get("exception")
    if state == "error" or exception or task.get("traceback"):
        text = exception[-1] if isinstance(exception, list) and exception else exception
        return f"task {task_id} failed: {str(text).strip() if text else 'no reason given by the server'}"
    return None


def wait_all(ctx: ClientContext, call_report: Any) -> list[dict[str, Any]]:
    """Wait for every task a call report spawned; raise ClientError for the first that failed."""
    tasks = [wait(ctx, task_id) for task_id in spawned_task_ids(call_report)]
    for task in tasks:
        if (reason := failure(task)) is not None:
            raise ClientError(reason, ExitCode.TASK_FAILED)
    return tasks


# Pulp 2's --bg: the task goes on, the client returns at once.
background_option = click.option("--bg", "background", is_flag=True,
                                 help="if specified, the client process will end immediately (the task will "
                                      "continue to run on the server)")


def report_background(task_ids: list[str]) -> None:
    """What ``--bg`` prints: Pulp 2's line, then each task id and how to follow it."""
    click.echo("The request has been queued on the server.")
    for task_id in task_ids:
        click.echo(f"Task {task_id} is running in the background; follow it with "
                   f"`pulp-admin tasks details --task-id {task_id}`")


def follow(ctx: ClientContext, call_report: Any, background: bool) -> list[dict[str, Any]] | None:
    """Wait for the tasks a call report spawned (see ``wait_all``), or with ``background`` report them and
    return None at once."""
    if background:
        report_background(spawned_task_ids(call_report))
        return None
    return wait_all(ctx, call_report)


# Pulp 2's names for task states in what people read; --json keeps the server's.
STATE_LABELS = {"waiting": "Waiting", "accepted": "Waiting", "running": "Running", "suspended": "Suspended",
                "finished": "Successful", "error": "Failed", "canceled": "Cancelled", "skipped": "Skipped"}


def task_summary(task: dict[str, Any]) -> dict[str, Any]:
    """A task as Pulp 2 listed it: operations, resources, state, times, id."""
    tags = task.get("tags") or []
    return {
        "operations": ", ".join(t.split(":", 2)[-1] for t in tags if t.startswith("pulp:action:")),
        "resources": ", ".join(f"{t.split(':')[2]} ({t.split(':')[1]})" for t in tags
                               if t.startswith("pulp:") and not t.startswith("pulp:action:") and t.count(":") >= 2),
        "state": STATE_LABELS.get(task.get("state") or "", task.get("state")),
        "start_time": task.get("start_time") or "Unstarted",
        "finish_time": task.get("finish_time") or "Incomplete",
        "task_id": task.get("task_id"),
    }


@click.group("tasks", help="List, inspect and cancel server tasks.")
def tasks_group() -> None:
    pass


@tasks_group.command("list", help="List tasks; by default only those waiting or running.")
@click.option("--all", "show_all", is_flag=True, help="Include finished, failed and canceled tasks.")
@click.option("--state", "states", multiple=True, help="Only tasks in this state (repeatable).")
@click.option("--tag", "tags", multiple=True, help="Only tasks with this tag, e.g. pulp:repository:R.")
@click.option("--json", "as_json", is_flag=True, help="Print the task reports as JSON.")
@click.pass_obj
def list_tasks(ctx: ClientContext, show_all: bool, states: tuple[str, ...], tags: tuple[str, ...],
               as_json: bool) -> None:
    found = ctx.connection.get("tasks/", params={"tag": list(tags)} if tags else None) or []
    if states:
        found = [t for t in found if t.get("state") in states]
    elif not show_all:
        found = [t for t in found if t.get("state") in ACTIVE_STATES]
    if as_json:
        emit_json(found)
        return
    if not found:
        click.echo("No tasks found")
        return
    print_documents("Tasks", [task_summary(t) for t in found])


@tasks_group.command("details", help="Show one task's full report.")
@click.option("--task-id", required=True, help="The task's id.")
@click.option("--json", "as_json", is_flag=True, help="Print the task report as JSON.")
@click.pass_obj
def task_details(ctx: ClientContext, task_id: str, as_json: bool) -> None:
    task = ctx.connection.get(f"tasks/{task_id}/")
    if as_json:
        emit_json(task)
        return
    details = task_summary(task)
    details.update({
        "worker_name": task.get("worker_name"),
        "progress_report": task.get("progress_report") or {},
        "result": task.get("result"),
        "error": task.get("error"),
    })
    print_documents("Task Details", [details])


@tasks_group.command("cancel", help="Cancel a waiting or running task.")
@click.option("--task-id", required=True, help="The task's id.")
@click.pass_obj
def cancel_task(ctx: ClientContext, task_id: str) -> None:
    ctx.connection.delete(f"tasks/{task_id}/")
    click.echo(f"Task cancel is successfully initiated: {task_id}")
