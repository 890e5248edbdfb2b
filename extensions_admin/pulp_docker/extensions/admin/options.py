"""Option types shared by the docker commands, parsing values the way Pulp 2's pulp-admin did."""

from __future__ import annotations

from typing import Any

import click

from pulp_admin_client.config import parse_bool
from pulp_admin_client.failures import ClientError


class PulpBool(click.ParamType):
    """``true``/``false`` (any case), as Pulp 2's ``parse_boolean``."""

    name = "true|false"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> bool:
        if isinstance(value, bool):
            return value
        try:
            return parse_bool(str(value), param.name if param else "value")
        except ClientError:
            self.fail(f"{value!r} is not true or false", param, ctx)


class KeyValue(click.ParamType):
    """``key=value``; an empty value is kept as None (on update it removes the key, as in Pulp 2)."""

    name = "key=value"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, Any]:
        if isinstance(value, tuple):
            return value
        key, sep, text = str(value).partition("=")
        if not sep or not key:
            self.fail(f"{value!r} is not in the form key=value", param, ctx)
        return key, (text if text else None)


BOOL = PulpBool()
KEY_VALUE = KeyValue()

repo_id_option = click.option("--repo-id", required=True, help="Unique identifier of the repository.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
