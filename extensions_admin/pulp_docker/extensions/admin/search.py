"""``docker repo search manifest|manifest-list|tag|blob``: a repository's units of one type.

The options are Pulp 2's (its ``DisplayUnitAssociationsCommand``): the criteria filters, ``--limit``,
``--skip``, ``--sort`` (repeatable) and ``--fields``. Pulp 2 sent ``fields`` and ``sort`` as
``{"unit": [...]}``; this server takes the bare lists, so that is what goes. ``image`` (Docker v1)
fails with one line.
"""

from __future__ import annotations

from typing import Any

import click

from pulp_admin_client.context import ClientContext
from pulp_admin_client.criteria import Criteria, with_criteria_options
from pulp_admin_client.failures import ClientError, ExitCode, ServerError
from pulp_admin_client.output import emit_json, print_documents
from pulp_docker.common import constants
from pulp_docker.extensions.admin.copy_remove import v1_refused
from pulp_docker.extensions.admin.options import json_option, repo_id_option
from pulp_docker.extensions.admin.repos import missing_repo

# What each listing shows by default, most telling first.
DISPLAY_FIELDS = {
    constants.MANIFEST_TYPE_ID: ["digest", "schema_version", "config_layer", "fs_layers"],
    constants.MANIFEST_LIST_TYPE_ID: ["digest", "schema_version", "manifests", "amd64_digest"],
    constants.TAG_TYPE_ID: ["name", "manifest_digest", "schema_version", "manifest_type"],
    constants.BLOB_TYPE_ID: ["digest", "size"],
}


def _sort_entry(text: str) -> list[str]:
    """Pulp 2's ``FIELD[,ascending|descending]`` (ascending when not said)."""
    name, _, direction = text.lower().partition(",")
    direction = direction or "ascending"
    if not name or direction not in ("ascending", "descending"):
        raise ClientError(f"--sort {text!r}: give FIELD, FIELD,ascending or FIELD,descending", ExitCode.USAGE)
    return [name, direction]


def criteria(type_id: str, found: Criteria, fields: str | None, limit: int | None, skip: int | None,
             sort: tuple[str, ...]) -> dict[str, Any]:
    """The ``search/units/`` body for the command's options."""
    document = found.document(type_id)
    if fields:
        document["fields"] = [f.strip() for f in fields.split(",") if f.strip()]
    if limit is not None:
        document["limit"] = limit
    if skip is not None:
        document["skip"] = skip
    if sort:
        document["sort"] = [_sort_entry(entry) for entry in sort]
    return {"criteria": document}


def _display(unit: dict[str, Any], type_id: str) -> dict[str, Any]:
    metadata = unit.get("metadata") or {}
    shown = {k: metadata.get(k) for k in DISPLAY_FIELDS[type_id] if k in metadata}
    return shown or {k: v for k, v in metadata.items() if not k.startswith("_")}


def _search_command(type_id: str, name: str, title: str) -> click.Command:
    @click.command(name, help=f"search for {title.lower()} in a repository")
    @repo_id_option
    @with_criteria_options
    @click.option("--fields", help="comma-separated list of unit fields to return, e.g. name,manifest_digest")
    @click.option("--limit", type=click.IntRange(min=1), help="max number of items to return")
    @click.option("--skip", type=click.IntRange(min=0), help="number of items to skip")
    @click.option("--sort", multiple=True, help="FIELD[,ascending|descending]; repeatable, applied in order")
    @click.option("--details", "-d", is_flag=True, help="show association details: every field of each unit")
    @json_option
    @click.pass_obj
    def search(ctx: ClientContext, repo_id: str, fields: str | None, limit: int | None, skip: int | None,
               sort: tuple[str, ...], details: bool, as_json: bool, **options: Any) -> None:
        found = Criteria.of(options)
        body = criteria(type_id, found, fields, limit, skip, sort)
        try:
            units = ctx.connection.post(f"repositories/{repo_id}/search/units/", json=body) or []
        except ServerError as exc:
            raise missing_repo(exc, repo_id) from exc
        # The server compares ``created`` as a date, which Pulp 2's ISO strings never match: filtered here.
        units = [u for u in units if found.added_in_range(u)]
        if as_json:
            emit_json(units)
            return
        if not units:
            click.echo(f"No {title.lower()} found")
            return
        print_documents(title, units if details else [_display(u, type_id) for u in units])

    return search


@click.group("search", help="content search commands")
def search_group() -> None:
    pass


search_group.add_command(v1_refused("image", "search for images in a repository"))
search_group.add_command(_search_command(constants.MANIFEST_TYPE_ID, "manifest", "Manifests"))
search_group.add_command(_search_command(constants.MANIFEST_LIST_TYPE_ID, "manifest-list", "Manifest Lists"))
search_group.add_command(_search_command(constants.TAG_TYPE_ID, "tag", "Tags"))
search_group.add_command(_search_command(constants.BLOB_TYPE_ID, "blob", "Blobs"))
