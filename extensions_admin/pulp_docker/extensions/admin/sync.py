"""``docker repo sync run|status``: sync a repository from its feed, as Pulp 2's ``repo sync`` did.

``run`` queues ``actions/sync/`` and follows the task: one progress bar per step of the docker sync
(manifests, downloads, saving) on a terminal, a line per step change otherwise, then a summary. It
exits non-zero with one line naming the cause when the sync fails. ``--bg`` returns at once.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from pulp_admin_client import tasks
from pulp_admin_client.context import ClientContext
from pulp_admin_client.failures import ClientError, ExitCode, ServerError
from pulp_docker.extensions.admin.options import repo_id_option
from pulp_docker.extensions.admin.repos import missing_repo

IMPORTER = "docker_importer"


def _steps(task: dict[str, Any]) -> list[dict[str, Any]]:
    report = task.get("progress_report") or {}
    steps = report.get(IMPORTER)
    return steps if isinstance(steps, list) else []


class StepDisplay:
    """Shows each step's progress: rich bars on a terminal, a plain line per change elsewhere."""

    def __init__(self) -> None:
        self.rich: Any = None  # a rich Progress, on a terminal
        self.bars: dict[str, Any] = {}
        self.seen: dict[str, tuple[str, int, int]] = {}
        if sys.stdout.isatty():
            # rich only here: it is 25 ms of every pulp-admin start, and scripts draw no bar
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.rich = Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[state]}"), console=Console())
            self.rich.start()

    def update(self, task: dict[str, Any]) -> None:
        for step in _steps(task):
            name = step.get("step_type", "?")
            state = (step.get("state") or "").replace("_", " ").lower()
            total, done = int(step.get("items_total") or 0), int(step.get("num_processed") or 0)
            if self.rich is not None:
                if name not in self.bars:
                    self.bars[name] = self.rich.add_task(step.get("description") or name, total=total or None,
                                                         state=state)
                self.rich.update(self.bars[name], total=total or None, completed=done, state=state)
            elif self.seen.get(name) != (state, total, done) and state != "not started":
                self.seen[name] = (state, total, done)
                if state != "in progress" or done in (0, total):
                    click.echo(f"{step.get('description') or name}: {state} ({done}/{total})")

    def close(self) -> None:
        if self.rich is not None:
            self.rich.stop()


def _print_summary(task: dict[str, Any]) -> None:
    summary = (task.get("result") or {}).get("summary") or {}
    tags = summary.get("tags") or []
    click.echo(f"Sync finished: {len(tags)} tags updated ({', '.join(tags) or 'none'}), "
               f"{summary.get('manifests', 0)} manifests, {summary.get('blobs_downloaded', 0)} blobs downloaded")
    if summary.get("removed_tags"):
        click.echo(f"Tags removed (gone upstream): {', '.join(summary['removed_tags'])}")


@click.group("sync", help="Run and follow syncs of a repository from its feed.")
def sync_group() -> None:
    pass


@sync_group.command("run", help="Triggers an immediate sync of a repository from its feed.")
@repo_id_option
@tasks.background_option
@click.pass_obj
def run(ctx: ClientContext, repo_id: str, background: bool) -> None:
    try:
        report = ctx.connection.post(f"repositories/{repo_id}/actions/sync/", json={"override_config": {}})
    except ServerError as exc:
        raise missing_repo(exc, repo_id) from exc
    [task_id] = tasks.spawned_task_ids(report)[:1] or [None]
    if task_id is None:
        raise ClientError("the server queued no sync task", ExitCode.SERVER)
    if background:
        tasks.report_background([task_id])
        return
    click.echo(f"Synchronizing repository [{repo_id}]")
    display = StepDisplay()
    try:
        task = tasks.wait(ctx, task_id, on_poll=display.update)
    finally:
        display.close()
    if (reason := tasks.failure(task)) is not None:
        raise ClientError(reason, ExitCode.TASK_FAILED)
    _print_summary(task)


@sync_group.command("status", help="Displays the status of a repository's sync tasks.")
@repo_id_option
@click.pass_obj
def status(ctx: ClientContext, repo_id: str) -> None:
    found = ctx.connection.get("tasks/", params={"tag": f"pulp:repository:{repo_id}"})
    syncs = [t for t in found if "pulp:action:sync" in (t.get("tags") or [])]
    if not syncs:
        click.echo(f"No sync tasks for repository [{repo_id}]")
        return
    for task in syncs[-5:]:
        click.echo(f"Task {task.get('task_id')}: {task.get('state')}")
        for step in _steps(task):
            click.echo(f"  {step.get('description')}: {step.get('state')} "
                       f"({step.get('num_processed')}/{step.get('items_total')})")
