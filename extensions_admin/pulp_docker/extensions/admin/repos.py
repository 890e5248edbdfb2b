"""``docker repo create|update|delete|list``: repositories with the docker importer and distributors.

The bodies are those Pulp 2's docker extension sent: importer ``docker_importer``, the note
``_repo-type: docker-repo``, a web distributor (auto-published unless told otherwise) and an export
distributor (never auto-published), both carrying ``repo-registry-id``/``protected`` when given.
"""

from __future__ import annotations

from typing import Any

import click

from pulp_admin_client import tasks, uploads
from pulp_admin_client.context import ClientContext
from pulp_admin_client.failures import ClientError, ExitCode, ServerError
from pulp_admin_client.repositories import list_options, list_repositories
from pulp_docker.common import constants
from pulp_docker.extensions.admin import repo_tags
from pulp_docker.extensions.admin.feed_options import importer_config, with_feed_options
from pulp_docker.extensions.admin.options import BOOL, KEY_VALUE, repo_id_option

REPO_TYPE_NOTE, REPO_TYPE = next(iter(constants.REPO_NOTE_TYPE.items()))


def _distributor_config(repo_registry_id: str | None, protected: bool | None) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if protected is not None:
        config[constants.CONFIG_KEY_PROTECTED] = protected
    if repo_registry_id is not None:
        config[constants.CONFIG_KEY_REPO_REGISTRY_ID] = repo_registry_id
    return config


def create_body(repo_id: str, display_name: str | None, description: str | None, notes: dict[str, Any],
                repo_registry_id: str | None, auto_publish: bool | None, protected: bool | None) -> dict[str, Any]:
    """The ``POST repositories/`` body of Pulp 2's ``docker repo create``."""
    config = _distributor_config(repo_registry_id, protected)
    body: dict[str, Any] = {"id": repo_id}
    if display_name is not None:
        body["display_name"] = display_name
    if description is not None:
        body["description"] = description
    body.update({
        "notes": {**{k: v for k, v in notes.items() if v is not None}, **constants.REPO_NOTE_TYPE},
        "importer_type_id": constants.IMPORTER_TYPE_ID,
        "importer_config": {},
        "distributors": [
            {"distributor_id": constants.CLI_WEB_DISTRIBUTOR_ID,
             "distributor_type_id": constants.DISTRIBUTOR_WEB_TYPE_ID,
             "distributor_config": dict(config),
             "auto_publish": True if auto_publish is None else auto_publish},
            {"distributor_id": constants.CLI_EXPORT_DISTRIBUTOR_ID,
             "distributor_type_id": constants.DISTRIBUTOR_EXPORT_TYPE_ID,
             "distributor_config": dict(config),
             "auto_publish": False},
        ],
    })
    return body


def update_body(display_name: str | None, description: str | None, notes: dict[str, Any],
                repo_registry_id: str | None, auto_publish: bool | None, protected: bool | None) -> dict[str, Any]:
    """The ``PUT repositories/<id>/`` body of Pulp 2's ``docker repo update``."""
    delta: dict[str, Any] = {}
    if display_name is not None:
        delta["display_name"] = display_name
    if description is not None:
        delta["description"] = description
    if notes:
        delta["notes"] = notes  # a None value removes the note
    body: dict[str, Any] = {"delta": delta}
    export_config = _distributor_config(repo_registry_id, protected)
    web_config = dict(export_config)
    if auto_publish is not None:
        web_config["auto_publish"] = auto_publish
    configs = {}
    if web_config:
        configs[constants.CLI_WEB_DISTRIBUTOR_ID] = web_config
    if export_config:
        configs[constants.CLI_EXPORT_DISTRIBUTOR_ID] = export_config
    if configs:
        body["distributor_configs"] = configs
    return body


def missing_repo(exc: ServerError, repo_id: str) -> ClientError:
    """A 404 on a repository path, said plainly; other errors unchanged."""
    if exc.http_status == 404:
        return ClientError(f"repository {repo_id!r} does not exist", ExitCode.DATA)
    return exc


_common_options = [
    click.option("--display-name", help="User-readable display name (may contain i18n characters)."),
    click.option("--description", help="User-readable description (may contain i18n characters)."),
    click.option("--note", "notes", type=KEY_VALUE, multiple=True,
                 help="Adds a metadata note to the repository, as key=value; repeatable."),
    click.option("--repo-registry-id",
                 help="Name of the repository when served by the registry API, e.g. NS/NAME; defaults to "
                      "the repo id."),
    click.option("--auto-publish", type=BOOL, default=None,
                 help="If true, the repository is published after each change; defaults to true."),
    click.option("--protected", type=BOOL, default=None,
                 help="If true, the published repository is served only to authorised users."),
    click.option("--redirect-url", callback=lambda _ctx, _param, value: _refuse_redirect(value), expose_value=False,
                 help="Pulp 2's crane redirect (not supported: the server serves the registry API itself)."),
]


def _refuse_redirect(value: str | None) -> None:
    if value is not None:
        raise ClientError("--redirect-url told crane where Pulp 2 published the files; this server serves the "
                          "registry API itself (docs/registry.md), so there is nothing to redirect to",
                          ExitCode.DATA)


def _with_common_options(command: Any) -> Any:
    for option in reversed(_common_options):
        command = option(command)
    return command


@click.command("create", help="Creates a new docker repository.")
@repo_id_option
@_with_common_options
@with_feed_options
@click.pass_obj
def create(ctx: ClientContext, repo_id: str, display_name: str | None, description: str | None,
           notes: tuple[tuple[str, Any], ...], repo_registry_id: str | None, auto_publish: bool | None,
           protected: bool | None, **feed: Any) -> None:
    body = create_body(repo_id, display_name, description, dict(notes), repo_registry_id, auto_publish, protected)
    body["importer_config"] = importer_config(feed, update=False)
    try:
        ctx.connection.post("repositories/", json=body)
    except ServerError as exc:
        if exc.http_status == 409:
            raise ClientError(f"repository {repo_id!r} already exists", ExitCode.DATA) from exc
        raise
    click.echo(f"Repository [{repo_id}] successfully created")


@click.command("update", help="Changes one or more attributes of a docker repository.")
@repo_id_option
@_with_common_options
@with_feed_options
@click.option("--tag", "tags", type=repo_tags.TAG_DIGEST, multiple=True,
              help="Tag a manifest (or manifest list) in the repository, as NAME:DIGEST, e.g. latest:sha256:3e00…; "
                   f"at least {repo_tags.MIN_PREFIX} hex digits of the digest will do. Repeatable.")
@click.option("--remove-tag", "remove_tags", multiple=True,
              help="Remove the specified tag from the repository; the manifest it points at stays. Repeatable.")
@click.pass_obj
def update(ctx: ClientContext, repo_id: str, display_name: str | None, description: str | None,
           notes: tuple[tuple[str, Any], ...], repo_registry_id: str | None, auto_publish: bool | None,
           protected: bool | None, tags: tuple[tuple[str, str], ...], remove_tags: tuple[str, ...],
           **feed: Any) -> None:
    body = update_body(display_name, description, dict(notes), repo_registry_id, auto_publish, protected)
    if config := importer_config(feed, update=True):
        body["importer_config"] = config
    if tags or remove_tags:
        uploads.check_repository(ctx, repo_id)
    to_apply = repo_tags.resolve(ctx, repo_id, list(tags))  # a bad digest changes nothing
    try:
        reply = ctx.connection.put(f"repositories/{repo_id}/", json=body)
    except ServerError as exc:
        raise missing_repo(exc, repo_id) from exc
    if isinstance(reply, dict) and reply.get("spawned_tasks"):
        tasks.wait_all(ctx, reply)
    click.echo(f"Repository [{repo_id}] successfully updated")
    for name, digest in to_apply:
        applied = repo_tags.apply_tag(ctx, repo_id, name, digest)
        click.echo(f"Tag {applied.get('name')} -> {applied.get('manifest_digest')}")
    if remove_tags:
        removed = repo_tags.remove_tags(ctx, repo_id, list(remove_tags))
        for name in remove_tags:
            click.echo(f"Tag {name} removed" if name in removed else f"Tag {name} was not in the repository")


@click.command("delete", help="Deletes a docker repository and its associations (units stay until orphans are "
                              "removed).")
@repo_id_option
@tasks.background_option
@click.pass_obj
def delete(ctx: ClientContext, repo_id: str, background: bool) -> None:
    try:
        reply = ctx.connection.delete(f"repositories/{repo_id}/")
    except ServerError as exc:
        raise missing_repo(exc, repo_id) from exc
    if tasks.follow(ctx, reply, background) is not None:
        click.echo(f"Repository [{repo_id}] successfully deleted")


def is_docker_repo(repo: dict[str, Any]) -> bool:
    return (repo.get("notes") or {}).get(REPO_TYPE_NOTE) == REPO_TYPE


@click.command("list", help="Lists docker repositories on the Pulp server.")
@list_options
@click.option("--all", "-a", "show_all", is_flag=True, help="if specified, information on all Pulp repositories, "
                                                            "regardless of type, will be displayed")
@click.pass_obj
def list_repos(ctx: ClientContext, summary: bool, details: bool, fields: str | None, show_all: bool,
               as_json: bool) -> None:
    list_repositories(ctx, "Docker Repositories", is_docker_repo, summary=summary, details=details, fields=fields,
                      show_all=show_all, as_json=as_json)
