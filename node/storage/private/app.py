"""The eventsourcing application ``PrivateData``: opening, keys and reading.

Configured from Settings alone (eventsourcing would let a ``PRIVATEDATA_*``
variable in ``os.environ`` move or decrypt it), with no aggregate cache: every
call reads SQLite, so a revocation made by another process counts at once.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing import persistence
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.utils import Environment, EnvType

from node import errors
from node.config import Settings
from node.storage.backend import is_postgres, storage_environment
from node.storage.eventsourcing_env import explicit_environment
from node.storage.private.aggregates import TOKEN_CREATED, ApiToken

__all__ = [
    "DB_FILE",
    "PrivateData",
    "create_encryption_key",
    "open_application",
    "storage_errors",
]

DB_FILE = "private.db"
PAGE = 500  # notifications per read, and the log's section size
KEY_BYTES = 32
_A = TypeVar("_A", bound=Aggregate)


class PrivateData(Application[UUID]):
    """The private-data application, configured only by the keys it is given."""

    log_section_size = PAGE

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """Exactly ``env``, prefixed: never ``os.environ`` or class defaults."""
        return explicit_environment(name, env or {})

    def get(self, kind: type[_A], aggregate_id: UUID) -> _A | None:
        """The aggregate of ``kind`` with the id, or None."""
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None

    def created(
        self, topic: str, after: int = 0
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield (notification id, event attributes) of every ``topic`` event.

        Decodes the events without loading their aggregates, in log order.
        """
        while page := self.notification_log.select(
            after, PAGE, topics=(topic,), inclusive_of_start=False
        ):
            for notification in page:
                yield notification.id, vars(self.mapper.to_domain_event(notification))
            after = page[-1].id

    def loaded(self, kind: type[_A], topic: str, after: int = 0) -> Iterator[_A]:
        """Yield every aggregate of ``kind`` whose creation event has ``topic``."""
        for _, created in self.created(topic, after):
            aggregate = self.get(kind, created["originator_id"])
            if aggregate is not None:
                yield aggregate

    def tokens(self) -> Iterator[ApiToken]:
        """Every API token ever issued, oldest first."""
        return self.loaded(ApiToken, TOKEN_CREATED)


@contextmanager
def storage_errors(action: str) -> Iterator[None]:
    """Turn eventsourcing's errors into the node's, naming ``action``."""
    message = f"private data: cannot {action}"
    try:
        yield
    except persistence.IntegrityError as e:  # callers catch the conflicts they expect
        raise errors.ConflictError(f"{message}: {e}") from e
    except persistence.MapperDeserialisationError as e:
        raise errors.ConfigError(message) from e
    except (persistence.PersistenceError, persistence.ConnectionPoolClosedError) as e:
        raise errors.StorageUnavailableError(f"{message}: {e}") from e


def create_encryption_key(path: Path) -> None:
    """Write a fresh base64 AES-256 key to ``path``, mode 0600 from the start.

    Raises:
        ConflictError: The file exists; it is never overwritten.
        StorageUnavailableError: The file could not be written.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise errors.ConflictError(f"{path}: refusing to overwrite a key") from None
    except OSError as e:
        raise errors.StorageUnavailableError(f"{path}: cannot create key: {e}") from e
    with os.fdopen(fd, "wb") as file:
        file.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)) + b"\n")
        file.flush()
        os.fsync(file.fileno())


def open_application(settings: Settings) -> tuple[PrivateData, bytes | None]:
    """Open ``private.db`` and return it with the node's AES key (if any).

    Raises:
        ConfigError: The key file is not a base64 AES-256 key, or the
            database cannot be decoded with the key (or lack of one).
        StorageUnavailableError: The database could not be opened.
    """
    path = settings.path(DB_FILE)
    keys = storage_environment(settings, DB_FILE, text_ids=False)
    node_key = _read_key(settings.encryption_key_path)
    if node_key is not None:
        keys["CIPHER_TOPIC"] = "eventsourcing.cryptography:AESCipher"
        keys["CIPHER_KEY"] = base64.b64encode(node_key).decode("ascii")
    if is_postgres(settings):
        keys["APPLICATION_RECORDER_TOPIC"] = "node.storage.pgrecorders:PrivateRecorder"
    else:
        _create_private_file(path)
    with storage_errors("open the database"):
        app = PrivateData(keys)
    key = "the configured key" if node_key else "no encryption key"
    try:  # a wrong or missing key shows on the first event: fail now
        with storage_errors(f"decode {path} with {key}"):
            for notification in app.notification_log.select(1, 1):
                app.mapper.to_domain_event(notification)
    except errors.NodeError:
        app.close()
        raise
    return app, node_key


def _create_private_file(path: Path) -> None:
    try:  # SQLite gives -wal and -shm files the database's mode: make it 0600
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    except OSError as e:
        raise errors.StorageUnavailableError(f"{path}: cannot create: {e}") from e


def _read_key(key_path: Path) -> bytes | None:
    try:
        key = base64.b64decode(key_path.read_bytes().strip(), validate=True)
    except FileNotFoundError:
        return None
    except (OSError, binascii.Error) as e:
        raise errors.ConfigError(f"{key_path}: unreadable key: {e}") from e
    if len(key) != KEY_BYTES:
        raise errors.ConfigError(f"{key_path}: not a base64 {KEY_BYTES}-byte AES key")
    return key
