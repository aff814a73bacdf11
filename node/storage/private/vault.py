"""Members' own keys, and sealing personal data with them (AES-256-GCM).

Every member's personal data (display name, login, contact fields) and
password hash enter events only *sealed* with a key of that member's own
(DESIGN §4). Events are append-only, so the keys are not events: they live in
the ordinary table ``member_keys`` of ``private.db``, where deleting a row is
real. Erasure deletes the row with ``secure_delete`` on (SQLite overwrites the
freed bytes) and then checkpoints the write-ahead log with TRUNCATE, so the
key is left nowhere in ``private.db`` or its ``-wal`` and the sealed history
is noise. (A backup taken before the erasure still holds the key.)

The table also maps a login to its account, by an HMAC of the login: deleting
the row frees the login and leaves no trace of it. With a node key
(``private.key``) the member keys are stored wrapped with it and the logins
are HMAC'd with it, so ``private.db`` alone reveals neither.

Writes here and event saves are separate transactions: callers write the key
first and delete it again if their save fails, so a failure leaves at most an
unused key, never an account without one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing import persistence

from node import errors
from node.storage.private.app import PrivateData
from node.storage.sqldb import Cursor, SqlAccess

__all__ = ["Vault", "seal", "unseal"]

logger = logging.getLogger(__name__)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS member_keys ("
    "account_id TEXT PRIMARY KEY, key BLOB NOT NULL, login TEXT UNIQUE)"
)
_LOGIN_KEY = b"tredegar-login-v1"  # without a node key: a hash, not a secret
_WRAP_AAD = b"tredegar-member-key-v1\n"
_NONCE = 12
_SEALED = "s1."


class Vault:
    """The member keys of one ``private.db`` (blocking; callers serialise writes)."""

    def __init__(self, app: PrivateData, node_key: bytes | None) -> None:
        self._sql = SqlAccess(app.recorder.datastore)  # type: ignore[attr-defined]
        self._node_key = node_key
        with self._transaction(commit=True) as cursor:
            cursor.execute(_SCHEMA)

    def create(self, account_id: UUID, login: str | None = None) -> bytes:
        """Make, store and return a new key for the account, claiming ``login``.

        Raises:
            ConflictError: The login is taken.
        """
        key = AESGCM.generate_key(bit_length=256)
        digest = self._digest(login) if login else None
        with self._claiming(login), self._transaction(commit=True) as cursor:
            cursor.execute(
                "INSERT INTO member_keys VALUES (?, ?, ?)",
                (account_id.hex, self._wrap(account_id, key), digest),
            )
        return key

    def set_login(self, account_id: UUID, login: str | None) -> None:
        """Claim ``login`` for the account (None frees it).

        Raises:
            ConflictError: The login is taken.
        """
        digest = self._digest(login) if login else None
        with self._claiming(login), self._transaction(commit=True) as cursor:
            cursor.execute(
                "UPDATE member_keys SET login = ? WHERE account_id = ?",
                (digest, account_id.hex),
            )

    def key(self, account_id: UUID) -> bytes | None:
        """The account's key, or None (never had one, or erased)."""
        with self._transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT key FROM member_keys WHERE account_id = ?", (account_id.hex,)
            )
            row = cursor.fetchone()
        return None if row is None else self._unwrap(account_id, row["key"])

    def find(self, login: str) -> tuple[UUID, bytes] | None:
        """The account holding ``login`` and its key, or None."""
        with self._transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT account_id, key FROM member_keys WHERE login = ?",
                (self._digest(login),),
            )
            row = cursor.fetchone()
        if row is None:
            return None
        account_id = UUID(row["account_id"])
        return account_id, self._unwrap(account_id, row["key"])

    def keys(self) -> dict[UUID, bytes]:
        """Every key held, by account."""
        with self._transaction(commit=False) as cursor:
            cursor.execute("SELECT account_id, key FROM member_keys")
            rows = cursor.fetchall()
        ids = [UUID(row["account_id"]) for row in rows]
        return {
            i: self._unwrap(i, row["key"]) for i, row in zip(ids, rows, strict=True)
        }

    def destroy(self, account_id: UUID) -> None:
        """Delete the account's key for good (erasure), login and all."""
        with self._transaction(commit=True) as cursor:
            cursor.execute(
                "DELETE FROM member_keys WHERE account_id = ?", (account_id.hex,)
            )
        self._checkpoint()

    def _checkpoint(self) -> None:
        # SQLite: the old pages (with the key) may still sit in the -wal file,
        # so empty the log; PostgreSQL: vacuum the dead row.
        if not self._sql.tidy(("member_keys",)):
            logger.warning("private data: the erased key could not be tidied yet")

    def _transaction(self, *, commit: bool) -> AbstractContextManager[Cursor]:
        return self._sql.transaction(commit=commit)

    @contextmanager
    def _claiming(self, login: str | None) -> Iterator[None]:
        try:
            yield
        except persistence.IntegrityError:
            raise errors.ConflictError(f"the login {login!r} is taken") from None

    def _digest(self, login: str) -> str:
        key = self._node_key or _LOGIN_KEY
        return hmac.new(key, login.encode("utf-8"), hashlib.sha256).hexdigest()

    def _wrap(self, account_id: UUID, key: bytes) -> bytes:
        if self._node_key is None:
            return key
        nonce = os.urandom(_NONCE)
        aad = _WRAP_AAD + account_id.bytes
        return nonce + AESGCM(self._node_key).encrypt(nonce, key, aad)

    def _unwrap(self, account_id: UUID, stored: Any) -> bytes:
        data = bytes(stored)
        if self._node_key is None:
            return data
        aad = _WRAP_AAD + account_id.bytes
        try:
            return AESGCM(self._node_key).decrypt(data[:_NONCE], data[_NONCE:], aad)
        except InvalidTag as e:
            raise errors.ConfigError(
                "a member key does not open with the node key"
            ) from e


def seal(key: bytes, account_id: UUID, purpose: str, plain: bytes) -> str:
    """Encrypt ``plain`` for the account, bound to it and to ``purpose``."""
    nonce = os.urandom(_NONCE)
    aad = purpose.encode("ascii") + b"\n" + account_id.bytes
    sealed = nonce + AESGCM(key).encrypt(nonce, plain, aad)
    return _SEALED + base64.urlsafe_b64encode(sealed).decode("ascii").rstrip("=")


def unseal(key: bytes, account_id: UUID, purpose: str, sealed: str) -> bytes:
    """Decrypt what :func:`seal` made.

    Raises:
        ConfigError: The text was not sealed with this key for this purpose.
    """
    aad = purpose.encode("ascii") + b"\n" + account_id.bytes
    try:
        body = sealed.removeprefix(_SEALED)
        data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        return AESGCM(key).decrypt(data[:_NONCE], data[_NONCE:], aad)
    except (InvalidTag, binascii.Error, ValueError) as e:
        raise errors.ConfigError("sealed private data does not open") from e
