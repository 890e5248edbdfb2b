"""The docker importer's sync config: Pulp 2's keys, validated, as one typed object.

Keys (Pulp 2's names): ``feed``, ``upstream_name``, ``tags`` (a whitelist: list, or CSV), ``enable_v1``
(refused when true: v1 registries are out of scope), ``enable_v2``, ``ssl_ca_cert``, ``ssl_client_cert``,
``ssl_client_key`` (PEM text), ``ssl_validation``, ``basic_auth_username``, ``basic_auth_password``,
``proxy_host``, ``proxy_port``, ``proxy_username``, ``proxy_password``, ``max_downloads``, and
``remove_missing`` (tags that disappeared upstream are removed here too; default false, as Pulp 2 kept them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pulp_docker.common.references import is_repository_name, is_tag
from pulp_platform.errors import InvalidValue

SECRET_KEYS = ("basic_auth_password", "proxy_password", "ssl_client_key")
BOOLEANS = ("enable_v1", "enable_v2", "ssl_validation", "remove_missing")
STRINGS = ("feed", "upstream_name", "ssl_ca_cert", "ssl_client_cert", "ssl_client_key", "basic_auth_username",
           "basic_auth_password", "proxy_host", "proxy_username", "proxy_password")
INTEGERS = ("proxy_port", "max_downloads")
DEFAULT_MAX_DOWNLOADS = 5


@dataclass(frozen=True)
class SyncConfig:
    feed: str
    upstream_name: str
    tags: tuple[str, ...] | None = None
    ssl_ca_cert: str | None = None
    ssl_client_cert: str | None = None
    ssl_client_key: str | None = None
    ssl_validation: bool = True
    basic_auth_username: str | None = None
    basic_auth_password: str | None = None
    proxy_url: str | None = None
    max_downloads: int = DEFAULT_MAX_DOWNLOADS
    remove_missing: bool = False


def _bool(config: dict[str, Any], key: str, default: bool) -> bool:
    value = config.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidValue(key, reason="must be true or false")


def _int(config: dict[str, Any], key: str) -> int | None:
    value = config.get(key)
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidValue(key, reason="must be an integer") from None
    if number <= 0:
        raise InvalidValue(key, reason="must be a positive integer")
    return number


def _tags(config: dict[str, Any]) -> tuple[str, ...] | None:
    value = config.get("tags")
    if value is None or value == "" or value == []:
        return None
    names = [t.strip() for t in value.split(",")] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(t, str) and is_tag(t) for t in names):
        raise InvalidValue("tags", reason="must be a list of tag names (or a comma-separated string)")
    return tuple(dict.fromkeys(names))


def validate(config: dict[str, Any]) -> None:
    """Raise InvalidValue (Pulp 2's PLP1008-style error) for any bad key; a config without a feed is fine."""
    for key in STRINGS:
        if config.get(key) is not None and not isinstance(config[key], str):
            raise InvalidValue(key, reason="must be a string")
    for key in BOOLEANS:
        _bool(config, key, False)
    for key in INTEGERS:
        _int(config, key)
    _tags(config)
    if _bool(config, "enable_v1", False):
        raise InvalidValue("enable_v1", reason="Docker registry API v1 is not supported; sync uses v2 only")
    if not _bool(config, "enable_v2", True):
        raise InvalidValue("enable_v2", reason="v2 is the only registry API this importer syncs from")
    feed = config.get("feed")
    if feed:
        parts = urlsplit(feed)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidValue("feed", reason=f"{feed!r} is not an http:// or https:// registry URL")
    name = config.get("upstream_name")
    if name and not is_repository_name(name):
        raise InvalidValue("upstream_name", reason=f"{name!r} is not a registry repository name")
    if bool(config.get("ssl_client_cert")) != bool(config.get("ssl_client_key")):
        raise InvalidValue("ssl_client_cert", reason="ssl_client_cert and ssl_client_key go together")
    if config.get("proxy_port") and not config.get("proxy_host"):
        raise InvalidValue("proxy_host", reason="proxy_port needs proxy_host")


def parse(config: dict[str, Any]) -> SyncConfig:
    """The sync config; InvalidValue when it lacks a feed or upstream_name, or has a bad key."""
    validate(config)
    for key in ("feed", "upstream_name"):
        if not config.get(key):
            raise InvalidValue(key, reason="a sync needs both feed and upstream_name in the importer config")
    proxy = None
    if config.get("proxy_host"):
        host = config["proxy_host"]
        if "://" not in host:
            host = f"http://{host}"
        parts = urlsplit(host)
        auth = ""
        if config.get("proxy_username"):
            auth = f"{config['proxy_username']}:{config.get('proxy_password') or ''}@"
        port = _int(config, "proxy_port")
        proxy = f"{parts.scheme}://{auth}{parts.hostname}{f':{port}' if port else ''}"
    return SyncConfig(
        feed=config["feed"].rstrip("/"),
        upstream_name=config["upstream_name"],
        tags=_tags(config),
        ssl_ca_cert=config.get("ssl_ca_cert") or None,
        ssl_client_cert=config.get("ssl_client_cert") or None,
        ssl_client_key=config.get("ssl_client_key") or None,
        ssl_validation=_bool(config, "ssl_validation", True),
        basic_auth_username=config.get("basic_auth_username") or None,
        basic_auth_password=config.get("basic_auth_password") or None,
        proxy_url=proxy,
        max_downloads=_int(config, "max_downloads") or DEFAULT_MAX_DOWNLOADS,
        remove_missing=_bool(config, "remove_missing", False),
    )
