"""Bearer tokens for the registry: HS256 JWTs signed with a server secret kept in the database.

The secret lives in the database (not a data dir) so every API process of a deployment, on any
machine, signs and verifies the same tokens. It is created on first use by an upsert that only
inserts, so two processes starting at once agree on one secret.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import secrets
import time
from functools import cache
from typing import Any

from pulp_docker.common.references import b64url_decode as _unb64
from pulp_docker.common.references import b64url_encode as _b64
from pulp_platform import db

SECRETS_COLLECTION = "docker_registry_secrets"
TOKEN_SECRET_ID = "token_signing_key"
ISSUER = "pulp_docker"
_HEADER = {"alg": "HS256", "typ": "JWT"}


class InvalidToken(ValueError):
    """A token that is malformed, wrongly signed or expired."""


@cache
def signing_key() -> bytes:
    """This deployment's token key, created once and shared through the database."""
    collection = db.database()[SECRETS_COLLECTION]
    collection.update_one({"_id": TOKEN_SECRET_ID}, {"$setOnInsert": {"value": secrets.token_hex(32)}},
                          upsert=True)
    return bytes.fromhex(collection.find_one({"_id": TOKEN_SECRET_ID})["value"])


def _sign(message: bytes) -> bytes:
    return hmac.new(signing_key(), message, hashlib.sha256).digest()


def issue(subject: str, audience: str, access: list[dict[str, Any]], ttl: int) -> tuple[str, int]:
    """A token granting ``access`` (``[{"type", "name", "actions"}]``) to ``subject``; returns (token, iat)."""
    issued = int(time.time())
    claims = {"iss": ISSUER, "sub": subject, "aud": audience, "iat": issued, "nbf": issued - 5,
              "exp": issued + ttl, "jti": secrets.token_hex(8), "access": access}
    signing_input = f"{_b64(json.dumps(_HEADER).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(_sign(signing_input.encode()))}", issued


def verify(token: str) -> dict[str, Any]:
    """The claims of a token this server signed and that has not expired; else InvalidToken."""
    try:
        header, payload, signature = token.split(".")
        signed = hmac.compare_digest(_sign(f"{header}.{payload}".encode()), _unb64(signature))
        claims = json.loads(_unb64(payload)) if signed else None
    except (ValueError, binascii.Error) as exc:
        raise InvalidToken(f"malformed token ({exc})") from None
    if not signed:
        raise InvalidToken("bad signature")
    if not isinstance(claims, dict) or claims.get("iss") != ISSUER:
        raise InvalidToken("not issued by this registry")
    if int(claims.get("exp", 0)) < time.time():
        raise InvalidToken("expired")
    return claims
