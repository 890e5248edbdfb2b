"""The importer options of ``docker repo create|update``: Pulp 2's feed, docker and generic sync options.

Each option maps to one key of the docker importer config (see docs/sync.md). File options
(``--feed-ca-cert``, ``--feed-cert``, ``--feed-key``) take a path and send the file's text, as Pulp 2's
client did. On update, an empty value (``--feed ""``) removes the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from pulp_admin_client.failures import ClientError, ExitCode
from pulp_docker.extensions.admin.options import BOOL

# (option, config key, click type, help, reads a file)
FEED_OPTIONS: list[tuple[str, str, Any, str, bool]] = [
    ("--feed", "feed", str, "URL of the external source registry to import from (no repository name).", False),
    ("--upstream-name", "upstream_name", str, "The name of the repository to import from the upstream registry.",
     False),
    ("--tags", "tags", str, "Comma-separated list of tags to sync; all tags when not given.", False),
    ("--enable-v1", "enable_v1", BOOL, "Use the Docker registry API v1 (not supported: only false is taken).",
     False),
    ("--enable-v2", "enable_v2", BOOL, "Use the Docker registry API v2 (true, the default).", False),
    ("--feed-ca-cert", "ssl_ca_cert", click.Path(), "Full path to the CA certificate that verifies the feed's "
     "server (PEM).", True),
    ("--verify-feed-ssl", "ssl_validation", BOOL, "If true, the feed's TLS certificate is verified (default true).",
     False),
    ("--feed-cert", "ssl_client_cert", click.Path(), "Full path to the certificate presented to the feed (PEM).",
     True),
    ("--feed-key", "ssl_client_key", click.Path(), "Full path to the private key of --feed-cert (PEM).", True),
    ("--basicauth-user", "basic_auth_username", str, "Username for the feed's authentication.", False),
    ("--basicauth-pass", "basic_auth_password", str, "Password for the feed's authentication.", False),
    ("--proxy-host", "proxy_host", str, "Proxy server URL, e.g. http://proxy.example.com.", False),
    ("--proxy-port", "proxy_port", str, "Port on the proxy server.", False),
    ("--proxy-user", "proxy_username", str, "Username for the proxy.", False),
    ("--proxy-pass", "proxy_password", str, "Password for the proxy.", False),
    ("--max-downloads", "max_downloads", str, "Number of blobs downloaded at once (default 5).", False),
    ("--remove-missing", "remove_missing", BOOL, "If true, tags removed upstream are removed here at sync "
     "(default false).", False),
]
_INTEGERS = {"proxy_port", "max_downloads"}


def _param(option: str) -> str:
    return "feed_" + option.lstrip("-").replace("-", "_")


def with_feed_options(command: Any) -> Any:
    """Add every feed option to a click command (values arrive as ``feed_<name>`` keyword arguments)."""
    for option, _key, kind, help_text, _is_file in reversed(FEED_OPTIONS):
        command = click.option(option, _param(option), type=kind, default=None, help=help_text)(command)
    return command


def importer_config(values: dict[str, Any], *, update: bool) -> dict[str, Any]:
    """The importer config the given options say; on update, ``""`` becomes None (the key is removed)."""
    config: dict[str, Any] = {}
    for option, key, _kind, _help, is_file in FEED_OPTIONS:
        value = values.pop(_param(option), None)
        if value is None:
            continue
        if value == "":
            if update:
                config[key] = None
            continue
        if is_file:
            try:
                value = Path(value).expanduser().read_text()
            except OSError as exc:
                raise ClientError(f"{option}: cannot read {value}: {exc.strerror}", ExitCode.USAGE) from None
        elif key == "tags":
            value = [t.strip() for t in value.split(",") if t.strip()]
        elif key in _INTEGERS:
            try:
                value = int(value)
            except ValueError:
                raise ClientError(f"{option} must be an integer, not {value!r}", ExitCode.USAGE) from None
        config[key] = value
    return config
