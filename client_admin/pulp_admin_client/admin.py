"""The ``pulp-admin`` entry point: global options, login/logout, tasks, and the plugins' command groups.

Plugins add command groups through the ``pulp.extensions.admin`` entry point group
(``docker = pulp_docker.extensions.admin.cli:docker_group``); they are imported only when invoked,
so a broken extension cannot break the others.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, entry_points, version
from typing import Any

import click

from pulp_admin_client import config as client_config
from pulp_admin_client import credentials
from pulp_admin_client.context import ClientContext
from pulp_admin_client.failures import ClientError, ExitCode
from pulp_admin_client.orphans import orphan_group
from pulp_admin_client.output import emit_json, print_document
from pulp_admin_client.repositories import repo_group
from pulp_admin_client.tasks import tasks_group

EXTENSION_GROUP = "pulp.extensions.admin"


def _version() -> str:
    """The installed client's version: its own distribution, or the whole project's."""
    for dist in ("pulp-admin-client", "pulp_docker"):
        try:
            return version(dist)
        except PackageNotFoundError:
            continue
    return "unknown"


def _extensions() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=EXTENSION_GROUP)}


class _RootGroup(click.Group):
    """The built-in commands plus one group per installed extension, loaded on demand."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_extensions()))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is not None:
            return command
        entry_point = _extensions().get(name)
        if entry_point is None:
            return None
        try:
            loaded = entry_point.load()
        except Exception as exc:  # any import failure of a plugin becomes one clear error line
            return _broken(name, f"{type(exc).__name__}: {exc}")
        if not isinstance(loaded, click.Command):
            return _broken(name, f"{entry_point.value} is not a click command")
        return loaded


def _broken(name: str, reason: str) -> click.Command:
    """A stand-in for an extension that cannot be loaded: listed in --help, failing with one line when run."""

    @click.command(name, help=f"(extension failed to load: {reason})",
                   context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
    def broken() -> None:
        raise ClientError(f"the {name!r} extension failed to load: {reason}", ExitCode.SERVER)

    return broken


@click.group(cls=_RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-u", "--username", help="Server user name; overrides the stored login and admin.conf.")
@click.option("-p", "--password", help="Password for --username (asked for when omitted on a terminal).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="admin.conf to use instead of ~/.pulp/admin.conf.")
@click.option("--debug", is_flag=True, hidden=True, help="Show tracebacks of unexpected errors.")
@click.version_option(version=_version(), prog_name="pulp-admin")
@click.pass_context
def root(ctx: click.Context, username: str | None, password: str | None, config_file: str | None,
         debug: bool) -> None:
    """Manage a Pulp server: repositories, uploads and tasks."""
    ctx.meta["debug"] = debug
    ctx.obj = ClientContext(client_config.load(config_file), username=username, password=password)


@root.command("login", help="Check a user name and password with the server and store them for later commands.")
@click.option("-u", "--username", "login_user", help="User name (default: the global -u).")
@click.option("-p", "--password", "login_password", help="Password (asked for when omitted).")
@click.pass_obj
def login(ctx: ClientContext, login_user: str | None, login_password: str | None) -> None:
    ctx.username = login_user or ctx.username
    ctx.password = login_password if login_password is not None else ctx.password
    if not ctx.username:
        raise ClientError("login needs -u/--username", ExitCode.USAGE)
    reply = ctx.connection.post("actions/login/")
    token = reply.get("key") if isinstance(reply, dict) else None
    if not token:
        raise ClientError("the server's login answer holds no key", ExitCode.SERVER)
    stored = credentials.StoredLogin(login=ctx.username, token=token, expires=reply.get("expires"))
    where = credentials.save(ctx.config.id_cert_dir, stored)
    until = f" until {stored.expires}" if stored.expires else ""
    click.echo(f"Successfully logged in as {stored.login}; session stored in {where}{until}.")


@root.command("logout", help="Forget the credential stored by login.")
@click.pass_obj
def logout(ctx: ClientContext) -> None:
    if credentials.remove(ctx.config.id_cert_dir):
        click.echo("Session certificate successfully removed.")
    else:
        click.echo("Not logged in.")


@root.command("status", help="Show the server's version and whether its database, broker and workers are up.")
@click.option("--json", "as_json", is_flag=True, help="Print the status report as JSON.")
@click.pass_obj
def status(ctx: ClientContext, as_json: bool) -> None:
    report = ctx.connection.get("status/")
    if as_json:
        emit_json(report)
        return
    print_document({
        "server": ctx.config.base_url,
        "api_version": report.get("api_version"),
        "platform_version": (report.get("versions") or {}).get("platform_version"),
        "database_connected": (report.get("database_connection") or {}).get("connected"),
        "messaging_connected": (report.get("messaging_connection") or {}).get("connected"),
        "known_workers": [w.get("name") for w in report.get("known_workers") or []] or "none",
    })


for group in (tasks_group, repo_group, orphan_group):
    root.add_command(group)


def _fail(message: str, exit_code: int) -> int:
    click.echo(f"error: {message}", err=True)
    return exit_code


def main(argv: Sequence[str] | None = None) -> int:
    """Run pulp-admin; every failure is one ``error:`` line on stderr and a non-zero exit code."""
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        result = root.main(args=list(argv) if argv is not None else None, prog_name="pulp-admin",
                           standalone_mode=False)
    except ClientError as exc:
        if debug:
            traceback.print_exc()
        return _fail(exc.message, exc.exit_code)
    except click.exceptions.NoArgsIsHelpError as exc:
        # A group given no command: its help, once, on stdout, as a click group does standalone.
        click.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
        return ExitCode.OK
    except click.exceptions.Abort:
        return _fail("interrupted", ExitCode.INTERRUPTED)
    except KeyboardInterrupt:
        return _fail("interrupted", ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        if exc.exit_code == 2 and isinstance(exc, click.UsageError) and exc.ctx is not None:
            click.echo(exc.ctx.get_usage(), err=True)
        return _fail(exc.format_message(), exc.exit_code)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: still one line, the traceback only with --debug
        if debug:
            traceback.print_exc()
        return _fail(f"unexpected {type(exc).__name__}: {exc} (run with --debug for a traceback)", ExitCode.SERVER)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
