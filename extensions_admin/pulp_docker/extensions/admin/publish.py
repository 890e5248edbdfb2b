"""``docker repo publish run|status`` and ``docker repo export run|status``, as Pulp 2's pulp-admin had them.

``publish`` publishes with the web distributor, ``export`` with the export distributor (Pulp 2 wrote a
tarball for an offline crane; ``--export-file`` names it). Ours refuses to export, in its task's error,
so ``export run`` ends with that one line.
"""

from __future__ import annotations

from typing import Any

import click

from pulp_admin_client import tasks
from pulp_admin_client.context import ClientContext
from pulp_admin_client.failures import ServerError
from pulp_admin_client.output import emit_json
from pulp_docker.common import constants
from pulp_docker.extensions.admin.options import json_option, repo_id_option
from pulp_docker.extensions.admin.repos import missing_repo


def _run(ctx: ClientContext, repo_id: str, distributor_id: str, override_config: dict[str, Any],
         background: bool) -> None:
    try:
        report = ctx.connection.post(f"repositories/{repo_id}/actions/publish/",
                                     json={"id": distributor_id, "override_config": override_config})
    except ServerError as exc:
        raise missing_repo(exc, repo_id) from exc
    if tasks.follow(ctx, report, background) is not None:
        click.echo(f"Repository [{repo_id}] successfully published")


def _status_command() -> click.Command:
    @click.command("status", help="Show publish tasks of the repository that are waiting or running.")
    @repo_id_option
    @json_option
    @click.pass_obj
    def status(ctx: ClientContext, repo_id: str, as_json: bool) -> None:
        found = ctx.connection.get("tasks/", params={"tag": [f"pulp:repository:{repo_id}",
                                                             "pulp:action:publish"]}) or []
        active = [t for t in found if t.get("state") in tasks.ACTIVE_STATES]
        if as_json:
            emit_json(active)
            return
        if not active:
            click.echo(f"The repository [{repo_id}] is not performing any operations")
            return
        for task in active:
            click.echo(f"Publish task {task.get('task_id')}: {task.get('state')}")

    return status


@click.group("publish", help="Publish a docker repository.")
def publish_group() -> None:
    pass


@publish_group.command("run", help="Publish the repository so the registry API serves its current content.")
@repo_id_option
@tasks.background_option
@click.pass_obj
def run(ctx: ClientContext, repo_id: str, background: bool) -> None:
    _run(ctx, repo_id, constants.CLI_WEB_DISTRIBUTOR_ID, {}, background)


@click.group("export", help="export a docker repository")
def export_group() -> None:
    pass


@export_group.command("run", help="triggers an immediate export of a repository to a tar file")
@repo_id_option
@click.option("--export-file", help="the full path for an export file on the server")
@tasks.background_option
@click.pass_obj
def export_run(ctx: ClientContext, repo_id: str, export_file: str | None, background: bool) -> None:
    _run(ctx, repo_id, constants.CLI_EXPORT_DISTRIBUTOR_ID, {"export_file": export_file} if export_file else {},
         background)


publish_group.add_command(_status_command())
export_group.add_command(_status_command())
