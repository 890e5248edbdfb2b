"""The ``docker`` command group pulp-admin loads through the ``pulp.extensions.admin`` entry point."""

from __future__ import annotations

import click

from pulp_docker.extensions.admin import repos
from pulp_docker.extensions.admin.copy_remove import copy_group, remove_group
from pulp_docker.extensions.admin.publish import export_group, publish_group
from pulp_docker.extensions.admin.search import search_group
from pulp_docker.extensions.admin.sync import sync_group
from pulp_docker.extensions.admin.tag import tag
from pulp_docker.extensions.admin.uploads import uploads_group


@click.group("docker", help="Docker repositories, images and tags.")
def docker_group() -> None:
    pass


@docker_group.group("repo", help="Repository lifecycle, content, uploads and publishing.")
def repo_group() -> None:
    pass


for command in (repos.create, repos.update, repos.delete, repos.list_repos, search_group, copy_group, remove_group,
                uploads_group, tag, publish_group, export_group, sync_group):
    repo_group.add_command(command)
