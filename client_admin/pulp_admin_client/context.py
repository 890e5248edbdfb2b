"""The object every command receives (``click.pass_obj``): settings, credentials and a lazy connection."""

from __future__ import annotations

from dataclasses import dataclass, field

import click

from pulp_admin_client import credentials
from pulp_admin_client.config import ClientConfig
from pulp_admin_client.connection import Connection
from pulp_admin_client.failures import ClientError, ExitCode


@dataclass
class ClientContext:
    config: ClientConfig
    username: str | None = None
    password: str | None = None
    _connection: Connection | None = field(default=None, repr=False)

    def auth(self) -> tuple[str, str] | credentials.BearerAuth | None:
        """Credentials by precedence: -u/-p, then the stored login, then admin.conf's ``[auth]``."""
        if self.username:
            if self.password is None:
                if not click.get_text_stream("stdin").isatty():
                    raise ClientError("-u given without -p and no terminal to ask for the password",
                                      ExitCode.USAGE)
                self.password = click.prompt("Enter password", hide_input=True, err=True)
            return self.username, self.password or ""
        if self.password is not None:
            raise ClientError("-p/--password needs -u/--username", ExitCode.USAGE)
        stored = credentials.load(self.config.id_cert_dir)
        if stored is not None:
            return credentials.BearerAuth(stored)
        if self.config.username:
            return self.config.username, self.config.password
        return None

    @property
    def connection(self) -> Connection:
        """The connection to the server, opened on first use."""
        if self._connection is None:
            self._connection = Connection(self.config, self.auth())
        return self._connection
