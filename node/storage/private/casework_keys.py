"""The keys of 1-to-1 notes and cases, one per record, where deleting is real.

Each record of casework (``casework.py``) is sealed with a key of its own.
Events are append-only, so the keys are not events: they live in the
ordinary table ``casework_keys`` of ``private.db``. Deleting a record, or
erasing the member it is linked to, deletes its key with ``secure_delete``
on and then checkpoints the write-ahead log with TRUNCATE, so the key is left
nowhere in ``private.db`` or its ``-wal`` and every sealed version of the
record, in the whole stored history, is noise. With a node key
(``private.key``) the record keys are stored wrapped with it, so
``private.db`` alone opens nothing. (A backup taken before still holds them.)
"""

from __future__ import annotations

import logging
import os
from contextlib import AbstractContextManager
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from node import errors
from node.storage.private.app import PrivateData
from node.storage.sqldb import Cursor, SqlAccess

__all__ = ["RecordKeys"]

logger = logging.getLogger(__name__)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS casework_keys ("
    "record_id TEXT PRIMARY KEY, key BLOB NOT NULL)"
)
_WRAP_AAD = b"tredegar-casework-key-v1\n"
_NONCE = 12


class RecordKeys:
    """The record keys of one ``private.db`` (blocking; callers serialise writes)."""

    def __init__(self, app: PrivateData, node_key: bytes | None) -> None:
        self._sql = SqlAccess(app.recorder.datastore)  # type: ignore[attr-defined]
        self._node_key = node_key
        with self._transaction(commit=True) as cursor:
            cursor.execute(_SCHEMA)

    def create(self, record_id: UUID) -> bytes:
        """Make, store and return a new key for the record."""
        key = AESGCM.generate_key(bit_length=256)
        with self._transaction(commit=True) as cursor:
            cursor.execute(
                "INSERT INTO casework_keys VALUES (?, ?)",
                (record_id.hex, self._wrap(record_id, key)),
            )
        return key

    def key(self, record_id: UUID) -> bytes | None:
        """The record's key, or None (never had one, deleted or erased)."""
        with self._transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT key FROM casework_keys WHERE record_id = ?", (record_id.hex,)
            )
            row = cursor.fetchone()
        return None if row is None else self._unwrap(record_id, row["key"])

    def keys(self) -> dict[UUID, bytes]:
        """Every key held, by record."""
        with self._transaction(commit=False) as cursor:
            cursor.execute("SELECT record_id, key FROM casework_keys")
            rows = cursor.fetchall()
        found = {}
        for row in rows:
            record_id = UUID(row["record_id"])
            found[record_id] = self._unwrap(record_id, row["key"])
        return found

    def destroy(self, *record_ids: UUID) -> None:
        """Delete the records' keys for good."""
        if not record_ids:
            return
        with self._transaction(commit=True) as cursor:
            for record_id in record_ids:
                cursor.execute(
                    "DELETE FROM casework_keys WHERE record_id = ?", (record_id.hex,)
                )
        # SQLite: the old pages (with the keys) may still sit in the -wal
        # file, so empty the log; PostgreSQL: vacuum the dead rows.
        if not self._sql.tidy(("casework_keys",)):
            logger.warning("casework: the deleted keys could not be tidied yet")

    def _transaction(self, *, commit: bool) -> AbstractContextManager[Cursor]:
        return self._sql.transaction(commit=commit)

    def _wrap(self, record_id: UUID, key: bytes) -> bytes:
        if self._node_key is None:
            return key
        nonce = os.urandom(_NONCE)
        aad = _WRAP_AAD + record_id.bytes
        return nonce + AESGCM(self._node_key).encrypt(nonce, key, aad)

    def _unwrap(self, record_id: UUID, stored: Any) -> bytes:
        data = bytes(stored)
        if self._node_key is None:
            return data
        aad = _WRAP_AAD + record_id.bytes
        try:
            return AESGCM(self._node_key).decrypt(data[:_NONCE], data[_NONCE:], aad)
        except InvalidTag as e:
            raise errors.ConfigError(
                "a casework key does not open with the node key"
            ) from e
