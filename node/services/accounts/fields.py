"""Checking the account requests: shape (``malformed``) and values (``schema``).

A wrong key or type is ``malformed`` (400); a value out of its bounds, such
as a short password or a login with spaces, is ``schema`` (422).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from contextlib import suppress
from typing import Any
from uuid import UUID

from node.errors import NotFoundError
from node.storage.private import ROLES
from protocol import JsonValue, MalformedError, SchemaViolationError

__all__ = [
    "PASSWORD_MAX",
    "PASSWORD_MIN",
    "account_id",
    "bounded",
    "display_name",
    "fields",
    "login",
    "password",
    "role",
]

PASSWORD_MIN, PASSWORD_MAX, NAME_MAX = 10, 1_000, 100
_LOGIN = re.compile(r"[a-z0-9][a-z0-9._-]{2,39}")
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def fields(
    request: JsonValue,
    required: Mapping[str, type],
    optional: Mapping[str, type] | None = None,
) -> dict[str, Any]:
    """The request's fields, each of its kind (``str`` or ``int``).

    Raises:
        MalformedError: Not an object, an unknown or missing field, or a
            field of the wrong kind.
    """
    kinds = {**required, **(optional or {})}
    if not isinstance(request, dict):
        raise MalformedError("send a JSON object")
    for name in request:
        if name not in kinds:
            raise MalformedError(f"unknown field {name!r}", field_path=name)
    for name, kind in kinds.items():
        if name not in request:
            if name in required:
                raise MalformedError(f"{name} is required", field_path=name)
            continue
        value = request[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            what = "text" if kind is str else "an integer"
            raise MalformedError(f"{name} must be {what}", field_path=name)
    return dict(request)


def bounded(
    values: Mapping[str, Any], name: str, default: int, low: int, high: int
) -> int:
    """An integer field from ``low`` to ``high``, ``default`` when absent.

    Raises:
        SchemaViolationError: Out of bounds.
    """
    value: int = values.get(name, default)
    if not low <= value <= high:
        raise SchemaViolationError(
            f"{name} must be from {low} to {high}", field_path=name
        )
    return value


def login(text: str) -> str:
    """A login name, in lower case.

    Raises:
        SchemaViolationError: Not 3 to 40 of a-z, 0-9, '.', '_', '-'.
    """
    value = text.lower()
    if not _LOGIN.fullmatch(value):
        raise SchemaViolationError(
            "a login is 3 to 40 letters a-z, digits, '.', '_' or '-', "
            "starting with a letter or digit",
            field_path="login",
        )
    return value


def password(text: str, *, minimum: int = PASSWORD_MIN) -> str:
    """A password of ``minimum`` to 1,000 characters.

    Raises:
        SchemaViolationError: Too short or too long.
    """
    if not minimum <= len(text) <= PASSWORD_MAX:
        raise SchemaViolationError(
            f"a password is {minimum} to {PASSWORD_MAX} characters",
            field_path="password",
        )
    return text


def display_name(text: str) -> str:
    """A display name, trimmed: 1 to 100 characters, no controls.

    Raises:
        SchemaViolationError: Empty, too long, or holding control characters
            or text-direction overrides (which can disguise a name).
    """
    name = text.strip()
    if not 1 <= len(name) <= NAME_MAX or any(
        unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in _BIDI_CONTROLS
        for c in name
    ):
        raise SchemaViolationError(
            f"a display name is 1 to {NAME_MAX} printable characters",
            field_path="display_name",
        )
    return name


def role(text: str) -> str:
    """A role, "organiser" or "member".

    Raises:
        SchemaViolationError: Any other text.
    """
    if text not in ROLES:
        raise SchemaViolationError("role is organiser or member", field_path="role")
    return text


def account_id(text: str) -> UUID:
    """An account id from a path, in the form ids are listed in.

    Raises:
        NotFoundError: Not an account id, so no such member.
    """
    if len(text) == 36:
        with suppress(ValueError):
            return UUID(text)
    raise NotFoundError("no such member")
