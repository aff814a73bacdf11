"""The leader lock: which worker process of a node runs its background duties.

Several worker processes may serve one node from one PostgreSQL database
(``docs/operating.md#several-workers``). Each of them answers HTTP and
publishes (the own feed stays gap-free and fork-free through the table's
primary key, see :mod:`node.storage.writer`), but exactly one, the *leader*,
syncs with peers and makes the node's automatic decisions. This module only
decides who that is; :mod:`node.services.leadership` starts and stops the
duties.

* **An advisory lock.** The leader holds a PostgreSQL session-level advisory
  lock on a connection of its own (autocommit, nothing else runs on it). The
  key is a stable 63-bit hash of the database and schema names, so nodes
  that share a database never take each other's lock.
* **Takeover.** A worker that dies, even by ``kill -9``, closes its socket;
  the server ends that session and the lock is free at once. The others try
  for it every second or so, and one of them takes it.
* **Stepping down.** :meth:`AdvisoryLeaderLock.is_held` asks the server
  whether this session still holds the lock. A broken connection means the
  lock is gone (the server released it with the session): the worker must
  stop its duties before another worker starts them.
* **Signals.** The same connection carries short messages between workers
  (``LISTEN``/``NOTIFY`` on a channel named after the key): a worker that is
  not the leader passes on what the leader must act on (a peer's notify, its
  own publishes to push); the leader waits for them between its checks.

On SQLite one process owns the data directory (:mod:`node.storage.lock`), so
:class:`SoleLeader` always leads. Everything here blocks: callers run it in a
thread.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Protocol

import psycopg
from psycopg import sql

from node.config import Settings
from node.errors import StorageUnavailableError
from node.storage.backend import PostgresTarget, is_postgres, postgres_target

__all__ = [
    "AdvisoryLeaderLock",
    "LeaderLock",
    "SoleLeader",
    "leader_key",
    "open_leader_lock",
]

logger = logging.getLogger(__name__)

#: Seconds to wait for the server when connecting.
CONNECT_TIMEOUT = 5


class LeaderLock(Protocol):
    """Who leads the node's workers (blocking calls)."""

    #: Whether other processes may serve the node too (PostgreSQL).
    is_shared: bool

    def try_acquire(self) -> bool:
        """Take the lock if it is free; whether this worker now holds it."""
        ...

    def is_held(self) -> bool:
        """Whether this worker still holds the lock."""
        ...

    def release(self) -> None:
        """Give the lock up (another worker may take it)."""
        ...

    def close(self) -> None:
        """Release the lock and drop the connection."""
        ...

    def send(self, message: str) -> None:
        """Pass a short message to the leader."""
        ...

    def receive(self, timeout: float) -> list[str]:
        """The leader's messages, waiting at most ``timeout`` s for the first."""
        ...


def leader_key(target: PostgresTarget) -> int:
    """The advisory lock key of the node stored at ``target`` (0 … 2**63-1).

    Args:
        target: Where the node keeps its tables.

    Returns:
        A stable key from the database and schema names.
    """
    named = f"tredegar-leader\n{target.dbname}\n{target.schema}".encode()
    return int.from_bytes(hashlib.sha256(named).digest()[:8], "big") >> 1


class SoleLeader:
    """The only process of a SQLite node: it always leads."""

    is_shared = False

    def try_acquire(self) -> bool:
        """Always True."""
        return True

    def is_held(self) -> bool:
        """Always True."""
        return True

    def release(self) -> None:
        """Nothing to release."""

    def close(self) -> None:
        """Nothing to close."""

    def send(self, message: str) -> None:
        """Nobody else to tell (the caller is the leader)."""

    def receive(self, timeout: float) -> list[str]:
        """No other worker sends anything."""
        return []


class AdvisoryLeaderLock:
    """The leader lock of a PostgreSQL node: an advisory lock on a session."""

    is_shared = True

    def __init__(self, target: PostgresTarget) -> None:
        """Prepare the lock of the node at ``target`` (connects on first use)."""
        self.target = target
        self.key = leader_key(target)
        self.channel = f"tredegar_leader_{self.key:016x}"
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._held = False
        self._guard = threading.Lock()

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        connection = self._connection
        if connection is not None and not connection.closed:
            return connection
        self._held = False
        try:
            connection = psycopg.connect(
                host=self.target.host,
                port=self.target.port,
                dbname=self.target.dbname,
                user=self.target.user,
                password=self.target.password,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT,
                application_name="tredegar-leader",
                # Keep-alives: a leader cut off from the server notices soon.
                keepalives=1,
                keepalives_idle=10,
                keepalives_interval=3,
                keepalives_count=3,
            )
        except psycopg.Error as error:
            raise StorageUnavailableError(
                f"cannot reach {self.target.describe()} for the leader lock: {error}"
            ) from error
        self._connection = connection
        return connection

    def _drop(self, error: psycopg.Error) -> StorageUnavailableError:
        """Forget a broken connection (the server released the lock with it)."""
        self._held = False
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
        return StorageUnavailableError(
            f"lost the leader lock's connection to {self.target.describe()}: {error}"
        )

    def try_acquire(self) -> bool:
        """Take the lock if no other session holds it.

        Returns:
            Whether this worker holds the lock now.

        Raises:
            StorageUnavailableError: The server cannot be reached.
        """
        with self._guard:
            if self._held:  # a second lock would need a second unlock
                return True
            connection = self._connect()
            try:
                row = connection.execute(
                    "SELECT pg_try_advisory_lock(%s)", (self.key,)
                ).fetchone()
                if row is not None and row[0] is True:
                    connection.execute(
                        sql.SQL("LISTEN {}").format(sql.Identifier(self.channel))
                    )
                    self._held = True
            except psycopg.Error as error:
                raise self._drop(error) from error
            return self._held

    def is_held(self) -> bool:
        """Whether the server still counts this session as the lock's holder.

        Returns:
            False when the lock was never taken or the connection broke.
        """
        with self._guard:
            connection = self._connection
            if not self._held or connection is None:
                return False
            try:
                row = connection.execute(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = "
                    "'advisory' AND pid = pg_backend_pid() AND granted AND "
                    "classid::bigint = %s AND objid::bigint = %s AND objsubid = 1)",
                    (self.key >> 32, self.key & 0xFFFF_FFFF),
                ).fetchone()
            except psycopg.Error as error:
                logger.warning("%s", self._drop(error).message)
                return False
            self._held = row is not None and row[0] is True
            return self._held

    def release(self) -> None:
        """Give the lock up; a broken connection has already lost it."""
        with self._guard:
            connection = self._connection
            if not self._held or connection is None:
                return
            self._held = False
            try:
                connection.execute(
                    sql.SQL("UNLISTEN {}").format(sql.Identifier(self.channel))
                )
                connection.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            except psycopg.Error as error:
                self._drop(error)

    def close(self) -> None:
        """Drop the connection: the server releases whatever it held."""
        with self._guard:
            self._held = False
            connection, self._connection = self._connection, None
            if connection is not None:
                connection.close()

    def send(self, message: str) -> None:
        """Pass ``message`` to whichever worker leads (lost if none does).

        Raises:
            StorageUnavailableError: The server cannot be reached.
        """
        with self._guard:
            connection = self._connect()
            try:
                connection.execute("SELECT pg_notify(%s, %s)", (self.channel, message))
            except psycopg.Error as error:
                raise self._drop(error) from error

    def receive(self, timeout: float) -> list[str]:
        """Messages sent to the leader, waiting at most ``timeout`` s for one.

        Returns:
            The messages (none when this worker does not lead).

        Raises:
            StorageUnavailableError: The connection broke.
        """
        with self._guard:
            connection = self._connection
            if not self._held or connection is None:
                return []
            try:
                return [
                    note.payload
                    for note in connection.notifies(timeout=timeout, stop_after=1)
                ]
            except psycopg.Error as error:
                raise self._drop(error) from error


def open_leader_lock(settings: Settings) -> LeaderLock:
    """The node's leader lock: advisory on PostgreSQL, always held on SQLite.

    Nothing connects until the lock is first used.
    """
    if is_postgres(settings):
        return AdvisoryLeaderLock(postgres_target(settings.database_url))
    return SoleLeader()
