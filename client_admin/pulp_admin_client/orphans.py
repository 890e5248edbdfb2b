"""``orphan list|remove``: content units no repository holds, as Pulp 2's ``OrphanUnitListCommand`` and
``OrphanUnitRemoveCommand`` showed and removed them.

The server answers ``GET content/orphans/`` (counts per type) and ``GET content/orphans/<type>/``, and
removes all orphans (``DELETE content/orphans/``) or those of one type (``DELETE content/orphans/<type>/``).
Pulp 2 also removed a single orphan (``DELETE content/orphans/<type>/<id>/``); this client asks for that
and says plainly when the server does not do it.
"""

from __future__ import annotations

from typing import Any

import click

from pulp_admin_client import tasks
from pulp_admin_client.context import ClientContext
from pulp_admin_client.failures import ClientError, ExitCode, ServerError
from pulp_admin_client.output import emit_json, print_document, print_title


def _of_type(ctx: ClientContext, type_id: str) -> list[dict[str, Any]]:
    try:
        return ctx.connection.get(f"content/orphans/{type_id}/") or []
    except ServerError as exc:
        if exc.http_status == 404:
            raise ClientError(f"content type {type_id!r} does not exist on the server", ExitCode.DATA) from exc
        raise


@click.group("orphan", help="find and remove orphaned content units")
def orphan_group() -> None:
    pass


@orphan_group.command("list", help="display a list of orphaned units")
@click.option("--type", "type_id", help='restrict to one content type such as "docker_blob"')
@click.option("--details", is_flag=True, help="include a detailed list of the individual orphaned units, ignored "
                                              "when content type is not specified")
@click.option("--json", "as_json", is_flag=True, help="Print the counts (or, with --type, the units) as JSON.")
@click.pass_obj
def list_orphans(ctx: ClientContext, type_id: str | None, details: bool, as_json: bool) -> None:
    if type_id is not None:
        found = _of_type(ctx, type_id)
        if as_json:
            emit_json(found)
            return
        summary = {type_id: len(found)}
        if details:
            for orphan in found:
                # Pulp 2 showed the unit's id first, as "Id"; the database's "_id" is the same value.
                print_document({"id": orphan.get("id", orphan.get("_id")),
                                **{k: v for k, v in orphan.items() if k not in ("id", "_id")}})
                click.echo()
    else:
        counts = ctx.connection.get("content/orphans/") or {}
        if as_json:
            emit_json(counts)
            return
        if details:
            click.echo("no content type specified; details flag ignored")
        summary = {name: (value or {}).get("count", 0) for name, value in sorted(counts.items())}
    summary["total"] = sum(summary.values())
    print_title("Summary")
    print_document(summary)


def _remove_one(ctx: ClientContext, type_id: str, unit_id: str) -> Any:
    if not any(unit_id in (o.get("_id"), o.get("id")) for o in _of_type(ctx, type_id)):
        raise ClientError(f"no orphaned {type_id} unit has the id {unit_id!r}", ExitCode.DATA)
    try:
        return ctx.connection.delete(f"content/orphans/{type_id}/{unit_id}/")
    except ServerError as exc:
        if exc.http_status == 405:  # an older server: orphans by type or all at once only
            raise ClientError(f"this server cannot remove a single orphan (no DELETE content/orphans/{type_id}/"
                              f"<id>/); remove every orphaned {type_id} unit with --type {type_id}",
                              ExitCode.DATA) from exc
        raise


@orphan_group.command("remove", help="remove one or more orphaned units")
@click.option("--type", "type_id", help='restrict to one content type such as "docker_blob"')
@click.option("--unit-id", help="ID of a content unit; if specified, you must also specify a type")
@click.option("--all", "remove_all", is_flag=True, help="remove all orphaned units, ignoring other options")
@tasks.background_option
@click.pass_obj
def remove_orphans(ctx: ClientContext, type_id: str | None, unit_id: str | None, remove_all: bool,
                   background: bool) -> None:
    if unit_id and not type_id and not remove_all:
        raise ClientError("--unit-id needs --type", ExitCode.USAGE)
    if remove_all:
        report = ctx.connection.delete("content/orphans/")
    elif type_id and unit_id:
        report = _remove_one(ctx, type_id, unit_id)
    elif type_id:
        _of_type(ctx, type_id)  # an unknown type is said plainly
        report = ctx.connection.delete(f"content/orphans/{type_id}/")
    else:
        raise ClientError("say what to remove: --type TYPE, --type TYPE --unit-id ID, or --all", ExitCode.USAGE)
    done = tasks.follow(ctx, report, background)
    if done is None:
        return
    click.echo("Task Succeeded")
    removed = done[-1].get("result") or {}
    if isinstance(removed, dict) and removed:
        print_document({"removed": removed})
