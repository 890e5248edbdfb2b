"""``repo list`` and ``repo tasks list|details|cancel``: Pulp 2's commands for repositories of any type.

``list_repositories`` is also what a plugin's own ``repo list`` uses (Pulp 2's ``ListRepositoriesCommand``):
the repositories it is about under its title, and with ``--all`` the others under "Other Pulp
Repositories", in the default, ``--details``, ``--fields`` or ``--summary`` view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from pulp_admin_client import tasks
from pulp_admin_client.context import ClientContext
from pulp_admin_client.failures import ClientError, ExitCode
from pulp_admin_client.output import emit_json, print_documents
from pulp_admin_client.uploads import check_repository

DEFAULT_FIELDS = ["id", "display_name", "description", "content_unit_counts"]
DETAIL_FIELDS = ["notes", "importers", "distributors"]


def list_options(command: Any) -> Any:
    """Pulp 2's ``--summary``, ``--details`` and ``--fields``, and ``--json``."""
    for option in reversed([
        click.option("--summary", "-s", is_flag=True, help="if specified, a condensed view with just the "
                                                           "repository ID and name is displayed"),
        click.option("--details", is_flag=True, help="if specified, detailed configuration information is "
                                                     "displayed for each repository"),
        click.option("--fields", help="comma-separated list of repository fields; if specified, only the given "
                                      "fields will be displayed"),
        click.option("--json", "as_json", is_flag=True, help="Print the repositories as JSON."),
    ]):
        command = option(command)
    return command


def _shown(repo: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    shown = {}
    for field in fields:
        value = repo.get(field)
        if field in ("importers", "distributors"):
            value = [{k: v for k, v in item.items() if not k.startswith("_")} for item in value or []]
        shown[field] = value
    return shown


def _print_summary(repos: list[dict[str, Any]]) -> None:
    width = max((len(r.get("id") or "") for r in repos), default=0)
    for repo in repos:
        click.echo(f"{(repo.get('id') or '').ljust(width)}  {repo.get('display_name') or ''}".rstrip())


def list_repositories(ctx: ClientContext, title: str, wanted: Callable[[dict[str, Any]], bool], *,
                      summary: bool, details: bool, fields: str | None, show_all: bool, as_json: bool) -> None:
    """Print the repositories ``wanted`` picks (and with ``show_all`` the others) as Pulp 2 did."""
    if summary and details:
        raise ClientError("the summary and details views cannot be used together", ExitCode.USAGE)
    repos = ctx.connection.get("repositories/", params={"details": "true"} if details else None) or []
    picked = [r for r in repos if wanted(r)]
    others = [r for r in repos if not wanted(r)] if show_all else []
    if as_json:
        emit_json(picked + others)
        return
    if summary:
        _print_summary(picked + others)
        return
    if details:
        columns = DEFAULT_FIELDS + DETAIL_FIELDS
    elif fields:
        chosen = [f.strip() for f in fields.split(",") if f.strip()]
        columns = ["id"] + [f for f in chosen if f != "id"]
    else:
        columns = DEFAULT_FIELDS
    print_documents(title, [_shown(r, columns) for r in picked])
    if show_all:
        print_documents("Other Pulp Repositories", [_shown(r, ["id", "display_name"]) for r in others])


@click.group("repo", help="list repositories and manage repository tasks")
def repo_group() -> None:
    pass


@repo_group.command("list", help="lists repositories on the Pulp server")
@list_options
@click.pass_obj
def list_all(ctx: ClientContext, summary: bool, details: bool, fields: str | None, as_json: bool) -> None:
    list_repositories(ctx, "Repositories", lambda _repo: True, summary=summary, details=details, fields=fields,
                      show_all=False, as_json=as_json)


@repo_group.group("tasks", help="list and cancel tasks related to a specific repository")
def repo_tasks_group() -> None:
    pass


@repo_tasks_group.command("list", help="lists the tasks of a repository: running and waiting first, then the "
                                       "finished ones, oldest first")
@click.option("--repo-id", required=True, help="identifies the repository")
@click.option("--json", "as_json", is_flag=True, help="Print the task reports as JSON.")
@click.pass_obj
def list_repo_tasks(ctx: ClientContext, repo_id: str, as_json: bool) -> None:
    check_repository(ctx, repo_id)
    found = ctx.connection.get("tasks/", params={"tag": f"pulp:repository:{repo_id}"}) or []
    # The server filters by tag; Pulp 2 showed what is running or waiting first.
    found.sort(key=lambda t: t.get("state") not in tasks.ACTIVE_STATES)
    if as_json:
        emit_json(found)
        return
    if not found:
        click.echo(f"There are no tasks for repository [{repo_id}]")
        return
    print_documents("Tasks", [tasks.task_summary(t) for t in found])


repo_tasks_group.add_command(tasks.task_details)
repo_tasks_group.add_command(tasks.cancel_task)
