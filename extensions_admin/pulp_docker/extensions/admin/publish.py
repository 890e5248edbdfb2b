"""``docker repo publish run|status``: publish with the web distributor, as Pulp 2's pulp-admin did."""

from __future__ import annotations

import click

from pulp_admin_client import tasks
from pulp_admin_client.context import ClientContext
from pulp_admin_client.failures import ServerError
from pulp_admin_client.output import emit_json
from pulp_docker.common import constants
from pulp_docker.extensions.admin.options import json_option, repo_id_option
from pulp_docker.extensions.admin.repos import missing_repo


@click.group("publish", help="Publish a docker repository.")
def publish_group() -> None:
    pass


@publish_group.command("run", help="Publish the repository so the registry API serves its current content.")
@repo_id_option
@tasks.background_option
@click.pass_obj
def run(ctx: ClientContext, repo_id: str, background: bool) -> None:
    try:
        report = ctx.connection.post(f"repositories/{repo_id}/actions/publish/",
                                     json={"id": constants.CLI_WEB_DISTRIBUTOR_ID})
    except ServerError as exc:
        raise missing_repo(exc, repo_id) from exc
    if tasks.follow(ctx, report, background) is not None:
        click.echo(f"Repository [{repo_id}] successfully published")


@publish_group.command("status", help="Show publish tasks of the repository that are waiting or running.")
@repo_id_option
@json_option
@click.pass_obj
def status(ctx: ClientContext, repo_id: str, as_json: bool) -> None:
    found = ctx.connection.get("tasks/", params={"tag": [f"pulp:repository:{repo_id}", "pulp:action:publish"]}) or []
    active = [t for t in found if t.get("state") in tasks.ACTIVE_STATES]
    if as_json:
        emit_json(active)
        return
    if not active:
        click.echo(f"The repository [{repo_id}] is not performing any operations")
        return
    for task in active:
        click.echo(f"Publish task {task.get('task_id')}: {task.get('state')}")
