"""``docker repo search manifest|manifest-list|tag|blob``: a repository's units of one type."""

from __future__ import annotations

import json
from typing import Any

import click

from pulp_admin_client.context import ClientContext
from pulp_admin_client.failures import ClientError, ExitCode, ServerError
from pulp_admin_client.output import emit_json, print_documents
from pulp_docker.common import constants
from pulp_docker.extensions.admin.copy_remove import v1_refused
from pulp_docker.extensions.admin.options import KEY_VALUE, json_option, repo_id_option
from pulp_docker.extensions.admin.repos import missing_repo

# What each listing shows by default, most telling first.
DISPLAY_FIELDS = {
    constants.MANIFEST_TYPE_ID: ["digest", "schema_version", "config_layer", "fs_layers"],
    constants.MANIFEST_LIST_TYPE_ID: ["digest", "schema_version", "manifests", "amd64_digest"],
    constants.TAG_TYPE_ID: ["name", "manifest_digest", "schema_version", "manifest_type"],
    constants.BLOB_TYPE_ID: ["digest", "size"],
}


def criteria(type_id: str, str_eq: tuple[tuple[str, Any], ...], filters: str | None, fields: str | None,
             limit: int | None, skip: int | None, sort: str | None) -> dict[str, Any]:
    """Pulp 2's unit search criteria for the command's options."""
    unit_filters: dict[str, Any] = {}
    if filters:
        try:
            unit_filters = json.loads(filters)
        except ValueError as exc:
            raise ClientError(f"--filters is not JSON: {exc}", ExitCode.USAGE) from exc
        if not isinstance(unit_filters, dict):
            raise ClientError("--filters must be a JSON object", ExitCode.USAGE)
    for key, value in str_eq:
        unit_filters[key] = value or ""
    found: dict[str, Any] = {"type_ids": [type_id]}
    if unit_filters:
        found["filters"] = {"unit": unit_filters}
    if fields:
        found["fields"] = {"unit": [f.strip() for f in fields.split(",") if f.strip()]}
    if limit is not None:
        found["limit"] = limit
    if skip is not None:
        found["skip"] = skip
    if sort:
        name, _, direction = sort.partition(",")
        found["sort"] = {"unit": [[name, "descending" if direction.startswith("desc") else "ascending"]]}
    return {"criteria": found}


def _display(unit: dict[str, Any], type_id: str) -> dict[str, Any]:
    metadata = unit.get("metadata") or {}
    shown = {k: metadata.get(k) for k in DISPLAY_FIELDS[type_id] if k in metadata}
    return shown or {k: v for k, v in metadata.items() if not k.startswith("_")}


def _search_command(type_id: str, name: str, title: str) -> click.Command:
    @click.command(name, help=f"Search for {title.lower()} in a repository.")
    @repo_id_option
    @click.option("--str-eq", type=KEY_VALUE, multiple=True, help="Match units whose FIELD equals VALUE, as "
                                                                  "FIELD=VALUE; repeatable.")
    @click.option("--filters", help="A JSON object of unit filters, in Pulp's criteria syntax.")
    @click.option("--fields", help="Comma-separated unit fields to return.")
    @click.option("--limit", type=click.IntRange(min=1), help="Return at most this many units.")
    @click.option("--skip", type=click.IntRange(min=0), help="Skip this many units first.")
    @click.option("--sort", help="FIELD[,ascending|descending].")
    @click.option("--details", is_flag=True, help="Show every field of each unit and its association.")
    @json_option
    @click.pass_obj
    def search(ctx: ClientContext, repo_id: str, str_eq: tuple[tuple[str, Any], ...], filters: str | None,
               fields: str | None, limit: int | None, skip: int | None, sort: str | None, details: bool,
               as_json: bool) -> None:
        body = criteria(type_id, str_eq, filters, fields, limit, skip, sort)
        try:
            units = ctx.connection.post(f"repositories/{repo_id}/search/units/", json=body) or []
        except ServerError as exc:
            raise missing_repo(exc, repo_id) from exc
        if as_json:
            emit_json(units)
            return
        if not units:
            click.echo(f"No {title.lower()} found")
            return
        print_documents(title, units if details else [_display(u, type_id) for u in units])

    return search


@click.group("search", help="Search for units in a docker repository.")
def search_group() -> None:
    pass


search_group.add_command(v1_refused("image", "Search for images in a repository."))
search_group.add_command(_search_command(constants.MANIFEST_TYPE_ID, "manifest", "Manifests"))
search_group.add_command(_search_command(constants.MANIFEST_LIST_TYPE_ID, "manifest-list", "Manifest Lists"))
search_group.add_command(_search_command(constants.TAG_TYPE_ID, "tag", "Tags"))
search_group.add_command(_search_command(constants.BLOB_TYPE_ID, "blob", "Blobs"))
