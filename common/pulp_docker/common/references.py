"""The reference grammars of the distribution spec: digests, tags and repository names, in one place.

Every module that checks a digest, a tag or a repository name uses these, so the server, the
registry API and pulp-admin agree on what is valid. The content store (``pulp_platform.storage``)
keeps its own sha256 check: the platform knows nothing of docker and cannot import this module.

Each grammar ends in ``\\Z``, not ``$``: Python's ``$`` also matches before a final newline, so
``1.0\\n`` would pass for a tag (and ``sha256:<hex>\\n`` for a digest) that no client could name.
"""

from __future__ import annotations

import base64
import re

# The only algorithm the content store addresses files by.
SHA256_HEX = r"[0-9a-f]{64}"
SHA256_DIGEST = re.compile(rf"^sha256:({SHA256_HEX})\Z")
# Any algorithm the OCI image spec allows in a descriptor (``algorithm:encoded``).
ANY_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+\Z")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
REPOSITORY_NAME = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*\Z")
REPOSITORY_NAME_MAX = 255


def is_sha256_digest(value: object) -> bool:
    """True for ``sha256:`` followed by 64 lowercase hex digits."""
    return isinstance(value, str) and bool(SHA256_DIGEST.match(value))


def is_tag(value: object) -> bool:
    """True for a tag the distribution spec allows."""
    return isinstance(value, str) and bool(TAG.match(value))


def is_repository_name(value: object) -> bool:
    """True for a repository name in the distribution grammar (``ns/name``), at most 255 characters."""
    return isinstance(value, str) and len(value) <= REPOSITORY_NAME_MAX and bool(REPOSITORY_NAME.match(value))


def sha256_hex(digest: str) -> str:
    """The hex part of a sha256 digest; ValueError for anything else."""
    match = SHA256_DIGEST.match(digest) if isinstance(digest, str) else None
    if not match:
        raise ValueError(f"not a sha256 digest: {digest!r}")
    return match.group(1)


def tag_of(reference: str) -> str:
    """The tag part of a reference as archives name images: ``docker.io/library/app:1.0`` -> ``1.0``.

    A bare word (OCI's ``org.opencontainers.image.ref.name`` is usually just the tag) is the tag
    itself; a name with a path and no tag (``quay.io/app``) means ``latest``, as docker reads it.
    """
    if "@" in reference:
        reference = reference.split("@", 1)[0]
    last = reference.rsplit("/", 1)[-1]
    if ":" in last:
        return last.rsplit(":", 1)[1]
    return "latest" if "/" in reference else last


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url (JOSE's encoding, used by schema 1 signatures and tokens)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data: bytes) -> str:
    """Encode as unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
