"""The shapes the API accepts for ids, texts, notes, logins and passwords; each check raises ``InvalidValue``.

Ids follow Pulp 2's rule (``^[.\\-_A-Za-z0-9]+$`` in ``pulp.server.managers.repo.cud``) with what it
missed: a length limit (255), ``.`` and ``..`` (a URL path segment that clients and proxies resolve away),
and a trailing newline (Pulp 2's ``$`` matched before one, and the ``Location`` header then broke).
These functions only judge values; where they are applied: ``webapi.endpoint`` (request bodies) and the
models' ``clean()`` (every new document).
"""

from __future__ import annotations

import json
import re
from typing import Any

from pulp_platform.errors import InvalidValue

MAX_ID_LENGTH = 255
MAX_DISPLAY_NAME = 1024
MAX_DESCRIPTION = 64 * 1024
# Notes as a whole, JSON-encoded: they are shown with every repository.
MAX_NOTES_BYTES = 64 * 1024
# bcrypt looks at the first 72 bytes only, and bcrypt 5 refuses longer passwords outright.
MAX_PASSWORD_BYTES = 72

_ID = re.compile(rf"[A-Za-z0-9_.\-]{{1,{MAX_ID_LENGTH}}}")
ID_RULE = f"1 to {MAX_ID_LENGTH} letters, digits, '_', '-' and '.', and not '.' or '..'"


def is_valid_id(value: object) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None and value not in (".", "..")


def check_id(value: object, name: str) -> str:
    """``value`` when it is a valid id (repository, distributor, importer or plugin type id, login)."""
    if not is_valid_id(value):
        raise InvalidValue(name, reason=ID_RULE)
    return value  # type: ignore[return-value]


def check_login(value: object) -> str:
    """A user login: the id rule (Pulp 2 had the same for logins)."""
    return check_id(value, "login")


def check_text(value: object, name: str, limit: int) -> None:
    """An optional string of at most ``limit`` characters."""
    if value is None:
        return
    if not isinstance(value, str):
        raise InvalidValue(name, reason="must be a string")
    if len(value) > limit:
        raise InvalidValue(name, reason=f"longer than {limit} characters ({len(value)})")


def check_notes(notes: object, name: str = "notes") -> None:
    """Notes: an object whose keys MongoDB can store, at most ``MAX_NOTES_BYTES`` as JSON."""
    if notes is None:
        return
    if not isinstance(notes, dict):
        raise InvalidValue(name, reason="must be an object")
    for key in notes:
        if not isinstance(key, str) or not 0 < len(key) <= MAX_ID_LENGTH:
            raise InvalidValue(name, reason=f"keys are 1 to {MAX_ID_LENGTH} characters")
        if key.startswith("$") or "." in key or "\0" in key:
            raise InvalidValue(name, reason=f"key {key!r}: no '.', NUL or leading '$' (MongoDB field names)")
    size = len(json.dumps(notes, allow_nan=False, default=str).encode())
    if size > MAX_NOTES_BYTES:
        raise InvalidValue(name, reason=f"larger than {MAX_NOTES_BYTES} bytes as JSON ({size})")


def check_password(password: object) -> str:
    """A password that bcrypt can hash whole."""
    if not isinstance(password, str):
        raise InvalidValue("password", reason="must be a string")
    size = len(password.encode())
    if size > MAX_PASSWORD_BYTES:
        raise InvalidValue("password", reason=f"{size} bytes; bcrypt takes at most {MAX_PASSWORD_BYTES}")
    return password


def merged_update(current: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """Notes or a plugin config after an update (Pulp 2's rule: given keys replace, keys given as null
    are removed)."""
    merged = dict(current)
    for key, value in change.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _optional_id(body: dict[str, Any], key: str) -> None:
    if body.get(key) not in (None, ""):
        check_id(body[key], key)


def check_repository_create(body: dict[str, Any]) -> None:
    """A ``POST repositories/`` body: ids, texts, notes and distributor ids (a missing id is the handler's)."""
    _optional_id(body, "id")
    _optional_id(body, "importer_type_id")
    check_text(body.get("display_name"), "display_name", MAX_DISPLAY_NAME)
    check_text(body.get("description"), "description", MAX_DESCRIPTION)
    check_notes(body.get("notes"))
    distributors = body.get("distributors")
    if isinstance(distributors, list):
        for entry in distributors:
            if isinstance(entry, dict):
                _optional_id(entry, "distributor_id")
                _optional_id(entry, "distributor_type_id")


def check_repository_update(body: dict[str, Any], current_notes: dict[str, Any] | None) -> None:
    """A ``PUT repositories/<id>/`` body; the notes are judged as they would be after the update."""
    delta = body.get("delta")
    if not isinstance(delta, dict):
        return  # the handler says what is wrong with it
    check_text(delta.get("display_name"), "display_name", MAX_DISPLAY_NAME)
    check_text(delta.get("description"), "description", MAX_DESCRIPTION)
    change = delta.get("notes")
    if isinstance(change, dict):
        check_notes(change)
        check_notes(merged_update(current_notes or {}, change))
