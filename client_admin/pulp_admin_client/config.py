"""``admin.conf``: the client's INI settings, read the way Pulp 2's pulp-admin read them.

``/etc/pulp/admin/admin.conf`` is read first; ``--config FILE`` (else ``~/.pulp/admin.conf``) is laid
over it, key by key. Keys this client does not use are ignored, so a Pulp 2 ``admin.conf`` loads as is.

Keys::

    [server]  host, port, scheme (http|https, ours), api_prefix, verify_ssl, ca_path, upload_chunk_size
    [auth]    username, password
    [filesystem] upload_working_dir, id_cert_dir
    [output]  poll_frequency_in_seconds
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, replace
from pathlib import Path

from pulp_admin_client.failures import ClientError, ExitCode

SYSTEM_CONFIG = Path("/etc/pulp/admin/admin.conf")
USER_CONFIG = Path("~/.pulp/admin.conf")

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def parse_bool(value: str, name: str = "value", exit_code: int = ExitCode.USAGE) -> bool:
    """Pulp 2's boolean parsing: true/false (and yes/no, on/off, 1/0), any case."""
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ClientError(f"{name} must be true or false, not {value!r}", exit_code)


@dataclass(frozen=True)
class ClientConfig:
    """Where the server is and how to talk to it."""

    host: str = "localhost"
    port: int = 443
    scheme: str = "https"
    api_prefix: str = "/pulp/api"
    verify_ssl: bool = True
    ca_path: str = ""
    # Pulp 2 sent 1 MiB per request. Each request ends with a wait while the server drains what the
    # socket buffers hold: 8 MiB took uploads on loopback from about 85 to 225 MiB/s, and 32 MiB a 1 GiB
    # upload+import from 2.44 to 2.00 s (devel/bench). The server writes a body as it arrives, so a
    # resume still restarts at its exact size; a directory's tar is buffered one request at a time.
    upload_chunk_size: int = 32 * 1024 * 1024
    username: str = ""
    password: str = ""
    upload_working_dir: Path = Path("~/.pulp/uploads")
    id_cert_dir: Path = Path("~/.pulp")
    poll_frequency_in_seconds: float = 0.5

    @property
    def base_url(self) -> str:
        """The server's root URL, e.g. ``http://127.0.0.1:24817``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        """The REST API v2 root, ending in ``/``."""
        return f"{self.base_url}/{self.api_prefix.strip('/')}/v2/"

    @property
    def verify(self) -> bool | str:
        """The ``verify`` argument for requests: False, True (system CAs) or a CA file/directory."""
        if not self.verify_ssl:
            return False
        return self.ca_path or True


def _expand(path: str) -> Path:
    return Path(os.path.expandvars(path)).expanduser()


def _read(parser: configparser.ConfigParser, path: Path) -> None:
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle, source=str(path))
    except OSError as exc:
        raise ClientError(f"cannot read config file {path}: {exc.strerror}", ExitCode.CONFIG) from exc
    except configparser.Error as exc:
        first_line = str(exc).splitlines()[0]
        raise ClientError(f"bad config file {path}: {first_line}", ExitCode.CONFIG) from exc


def load(config_file: str | os.PathLike | None = None, system_file: Path = SYSTEM_CONFIG) -> ClientConfig:
    """Read the system file, then ``config_file`` or the user's file, into a ClientConfig."""
    parser = configparser.ConfigParser(interpolation=None)
    if system_file.exists():
        _read(parser, system_file)
    if config_file is not None:
        path = _expand(str(config_file))
        if not path.exists():
            raise ClientError(f"config file not found: {path}", ExitCode.CONFIG)
        _read(parser, path)
    elif _expand(str(USER_CONFIG)).exists():
        _read(parser, _expand(str(USER_CONFIG)))
    return _from_parser(parser)


def _from_parser(parser: configparser.ConfigParser) -> ClientConfig:
    def get(section: str, key: str) -> str | None:
        if parser.has_option(section, key):
            return parser.get(section, key).strip()
        return None

    values: dict[str, object] = {}
    try:
        for key in ("host", "scheme", "api_prefix", "ca_path"):
            if (raw := get("server", key)) is not None:
                values[key] = raw
        if (raw := get("server", "port")) is not None:
            values["port"] = int(raw)
        if (raw := get("server", "upload_chunk_size")) is not None:
            values["upload_chunk_size"] = int(raw)
        if (raw := get("output", "poll_frequency_in_seconds")) is not None:
            values["poll_frequency_in_seconds"] = float(raw)
    except ValueError as exc:
        raise ClientError(f"bad number in admin.conf: {exc}", ExitCode.CONFIG) from exc
    if (raw := get("server", "verify_ssl")) is not None:
        values["verify_ssl"] = parse_bool(raw, "[server] verify_ssl", ExitCode.CONFIG)
    for key in ("username", "password"):
        if (raw := get("auth", key)) is not None:
            values[key] = raw
    for key in ("upload_working_dir", "id_cert_dir"):
        if (raw := get("filesystem", key)) is not None:
            values[key] = Path(raw)
    config = ClientConfig(**values)  # type: ignore[arg-type]
    return _checked(config)


def _checked(config: ClientConfig) -> ClientConfig:
    if config.scheme not in ("http", "https"):
        raise ClientError(f"[server] scheme must be http or https, not {config.scheme!r}", ExitCode.CONFIG)
    if not 0 < config.port < 65536:
        raise ClientError(f"[server] port out of range: {config.port}", ExitCode.CONFIG)
    if config.upload_chunk_size <= 0:
        raise ClientError("[server] upload_chunk_size must be positive", ExitCode.CONFIG)
    if config.verify_ssl and config.ca_path and not _expand(config.ca_path).exists():
        # Pulp 2's default ca_path is a RHEL path; a missing default falls back to the system CAs.
        if config.ca_path != "/etc/pki/tls/certs/ca-bundle.crt":
            raise ClientError(f"[server] ca_path not found: {config.ca_path}", ExitCode.CONFIG)
        config = replace(config, ca_path="")
    return replace(
        config,
        upload_working_dir=_expand(str(config.upload_working_dir)),
        id_cert_dir=_expand(str(config.id_cert_dir)),
        ca_path=str(_expand(config.ca_path)) if config.ca_path else "",
    )
