"""Server settings: built-in defaults < config file < ``PULP_*`` environment variables < command-line flags.

The config file is INI with a ``[server]`` section (Pulp 2 kept ``/etc/pulp/server.conf``); it is
read from ``--config FILE``, else ``$PULP_CONFIG``, else ``/etc/pulp/server.conf`` when it exists.
Every key below may be set in the file, or as ``PULP_<KEY>`` in the environment (``PULP_MONGO_URI``).

An empty ``mongo_uri`` or ``broker_url`` means the embedded default: ``pulp-server run`` starts a
SecantusDB server in the data dir, and celery uses a SQLite broker file there.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

DEFAULT_CONFIG_FILE = Path("/etc/pulp/server.conf")
DEFAULT_ADMIN_PASSWORD = "admin"


@dataclass(frozen=True)
class Settings:
    """Everything a server process needs to know; see docs/configuration.md."""

    data_dir: Path = Path.home() / ".local" / "share" / "pulp-server"
    bind: str = "127.0.0.1:24817"
    # Empty: the embedded SecantusDB started by ``pulp-server run``.
    mongo_uri: str = ""
    # Empty: SQLite files under data_dir/celery (kombu's SQLAlchemy transport).
    broker_url: str = ""
    result_backend: str = ""
    # Shared storage in a multi-machine deployment; default under data_dir.
    content_dir: str = ""
    upload_dir: str = ""
    workers: int = 1
    worker_concurrency: int = 4
    admin_username: str = "admin"
    admin_password: str = DEFAULT_ADMIN_PASSWORD
    # A file holding the admin password (its first line), so it need not be on a command line.
    admin_password_file: str = ""
    # Failed logins per client address and per user name within the window before a 429 (0: no limit).
    login_failures_per_client: int = 10
    login_failures_per_user: int = 20
    login_failure_window: float = 60.0
    # Largest JSON request body, in bytes (upload chunks are not JSON and not limited by it).
    max_json_body: int = 1024 * 1024
    # A worker whose heartbeat is older than this is dead: its running tasks are failed.
    worker_timeout: float = 30.0
    log_level: str = "INFO"
    # Registry blob upload sessions untouched this long (seconds) are purged with their files.
    push_session_ttl: float = 86400.0
    # WiredTiger cache of the embedded SecantusDB (its own default, 1G, lets it grow past the whole
    # server's memory budget); a real MongoDB is sized by its own configuration.
    embedded_db_cache: str = "64M"
    # Extra plugin modules (comma separated) imported at start-up, for plugins not installed as packages.
    plugin_modules: str = ""
    # What one uploaded tarball may cost (docs/limits.md): the bytes a compressed one may inflate to are
    # ratio x its size, at least the floor; its entries; its pax/GNU long-name headers, each and in all.
    upload_expansion_ratio: float = 20.0
    upload_expansion_floor: int = 64 * 1024 * 1024
    upload_max_members: int = 10_000
    upload_max_extended_header: int = 8 * 1024
    upload_max_extended_total: int = 1024 * 1024

    @property
    def content_path(self) -> Path:
        return Path(self.content_dir) if self.content_dir else self.data_dir / "content"

    @property
    def upload_path(self) -> Path:
        return Path(self.upload_dir) if self.upload_dir else self.data_dir / "uploads"

    @property
    def embedded_db(self) -> bool:
        return not self.mongo_uri

    @property
    def effective_broker_url(self) -> str:
        if self.broker_url:
            return self.broker_url
        return f"sqla+sqlite:///{self.data_dir / 'celery' / 'broker.sqlite'}"

    @property
    def effective_result_backend(self) -> str:
        if self.result_backend:
            return self.result_backend
        return f"db+sqlite:///{self.data_dir / 'celery' / 'results.sqlite'}"

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.bind.rpartition(":")
        return host.strip("[]") or "127.0.0.1", int(port)


def _coerce(name: str, value: str) -> object:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if kind == "Path":
        return Path(value).expanduser()
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    return value


def load(config_file: str | os.PathLike | None = None, **overrides: object) -> Settings:
    """Build settings from the config file, the environment and explicit overrides (None = unset)."""
    names = [f.name for f in fields(Settings)]
    values: dict[str, object] = {}
    path = config_file or os.environ.get("PULP_CONFIG")
    if path is None and DEFAULT_CONFIG_FILE.exists():
        path = DEFAULT_CONFIG_FILE
    if path:
        parser = configparser.ConfigParser()
        if not parser.read(path):
            raise FileNotFoundError(f"config file not found: {path}")
        if parser.has_section("server"):
            for key, raw in parser.items("server"):
                if key not in names:
                    raise ValueError(f"unknown setting {key!r} in {path}")
                values[key] = _coerce(key, raw)
    for name in names:
        raw = os.environ.get(f"PULP_{name.upper()}")
        if raw is not None:
            values[name] = _coerce(name, raw)
    for name, value in overrides.items():
        if value is not None:
            values[name] = _coerce(name, str(value)) if isinstance(value, str) else value
    settings = replace(Settings(), **values)
    return replace(settings, data_dir=Path(settings.data_dir).expanduser().resolve())


def to_environ(settings: Settings) -> dict[str, str]:
    """The settings as ``PULP_*`` variables, so child processes see exactly what the parent resolved."""
    return {f"PULP_{f.name.upper()}": str(getattr(settings, f.name)) for f in fields(Settings)}
