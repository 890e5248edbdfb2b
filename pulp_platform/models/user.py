"""Users and the login tokens handed out by ``actions/login/``; passwords and tokens are stored hashed."""

from __future__ import annotations

from typing import Any, ClassVar

import mongoengine as me

from pulp_platform import validation
from pulp_platform.models.content import now


class User(me.Document):
    login = me.StringField(required=True, unique=True)
    name = me.StringField()
    # bcrypt hash of the password.
    password = me.StringField(required=True)
    roles = me.ListField(me.StringField())

    meta: ClassVar[dict[str, Any]] = {"collection": "users"}

    def clean(self) -> None:
        validation.check_login(self.login)


class AuthToken(me.Document):
    """A login token; only its sha256 is kept, so a database dump does not leak usable tokens."""

    token_hash = me.StringField(primary_key=True)
    login = me.StringField(required=True)
    created = me.DateTimeField(default=now)
    expires = me.DateTimeField(required=True)

    meta: ClassVar[dict[str, Any]] = {"collection": "auth_tokens", "indexes": [{"fields": ["login"]}]}
