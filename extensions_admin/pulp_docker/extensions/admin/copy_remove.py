"""``docker repo copy|remove image|manifest|manifest-list|tag``: Pulp 2's docker unit copy and remove.

Each command takes Pulp 2's criteria options and prints the units the task reports, a tag by its name
and anything else by its digest. What a copy brings along (a manifest its blobs, a tag its manifest)
and what a removal takes with it is the importer's business, as in Pulp 2. ``image`` (Docker v1) is
kept so a Pulp 2 script fails with one line instead of a usage error.
"""

from __future__ import annotations

from typing import Any

import click

from pulp_admin_client import tasks, units
from pulp_admin_client.criteria import Criteria, with_criteria_options
from pulp_admin_client.failures import ClientError, ExitCode
from pulp_docker.common import constants
from pulp_docker.extensions.admin.options import json_option, repo_id_option

V1_REFUSAL = ("Docker v1 images (docker_image) are not supported by this server; use the manifest, manifest-list "
              "and tag commands for v2 content")

# subcommand, type, plural for the help texts
UNIT_COMMANDS = [
    ("manifest", constants.MANIFEST_TYPE_ID, "manifests"),
    ("manifest-list", constants.MANIFEST_LIST_TYPE_ID, "manifest lists"),
    ("tag", constants.TAG_TYPE_ID, "tags"),
]


def unit_text(type_id: str, unit_key: dict[str, Any]) -> str:
    """A unit as Pulp 2's docker formatters showed it: a tag by name, the rest by digest."""
    if type_id == constants.TAG_TYPE_ID and "name" in unit_key:
        return str(unit_key["name"])
    if "digest" in unit_key:
        return str(unit_key["digest"])
    return ", ".join(f"{k}={v}" for k, v in sorted(unit_key.items()))


def v1_refused(name: str, help_text: str) -> click.Command:
    """A Pulp 2 v1 command that takes any options and fails with one line."""

    @click.command(name, help=f"{help_text} (Docker v1: not supported)", add_help_option=False,
                   context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
    def refused() -> None:
        raise ClientError(V1_REFUSAL, ExitCode.DATA)

    return refused


def _copy_command(name: str, type_id: str, plural: str) -> click.Command:
    @click.command(name, help=f"copies {plural} from one repository into another")
    @click.option("--from-repo-id", "-f", required=True, help="source repository from which units will be copied")
    @click.option("--to-repo-id", "-t", required=True, help="destination repository to copy units into")
    @with_criteria_options
    @tasks.background_option
    @json_option
    @click.pass_obj
    def copy(ctx: Any, from_repo_id: str, to_repo_id: str, background: bool, as_json: bool, **criteria: Any) -> None:
        task = units.copy(ctx, type_id, from_repo_id, to_repo_id, Criteria.of(criteria), background=background)
        units.print_outcome(task, "Copied:", unit_text, as_json)

    return copy


def _remove_command(name: str, type_id: str, plural: str) -> click.Command:
    @click.command(name, help=f"remove {plural} from a repository")
    @repo_id_option
    @with_criteria_options
    @tasks.background_option
    @json_option
    @click.pass_obj
    def remove(ctx: Any, repo_id: str, background: bool, as_json: bool, **criteria: Any) -> None:
        task = units.remove(ctx, type_id, repo_id, Criteria.of(criteria), background=background)
        units.print_outcome(task, "Units Removed:", unit_text, as_json)

    return remove


@click.group("copy", help="content copy commands")
def copy_group() -> None:
    pass


@click.group("remove", help="content removal commands")
def remove_group() -> None:
    pass


copy_group.add_command(v1_refused("image", "copies images from one repository into another"))
remove_group.add_command(v1_refused("image", "remove images from a repository"))
for _name, _type_id, _plural in UNIT_COMMANDS:
    copy_group.add_command(_copy_command(_name, _type_id, _plural))
    remove_group.add_command(_remove_command(_name, _type_id, _plural))
