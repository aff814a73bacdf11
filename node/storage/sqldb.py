"""Our own tables beside an eventsourcing recorder, on SQLite or PostgreSQL.

The feed store's bodies and ids, the federation tables and the private key
tables are plain SQL written once, in SQLite's dialect. :class:`SqlAccess`
runs them in the recorder's own database: on SQLite through eventsourcing's
cursor, on PostgreSQL through :class:`~node.storage.pgcursor.PgCursor`, which
translates each statement (:mod:`node.storage.dialect`). Both give rows that
answer to a column's name and position.

Deleting for real (DESIGN §4: nothing redacted or erased lingers) differs:
SQLite zeroes freed pages (``secure_delete``) and :meth:`SqlAccess.tidy` folds
and truncates the write-ahead log; PostgreSQL's :meth:`tidy` vacuums the
tables named, so the dead rows' space is reclaimed and reused
(``docs/operating.md#postgresql`` says what that does and does not promise).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg import sql as pgsql

if TYPE_CHECKING:
    pass

__all__ = ["Cursor", "SqlAccess"]

logger = logging.getLogger(__name__)


class Cursor(Protocol):
    """What our SQL needs of a cursor, on either backend."""

    def execute(self, sql: str, parameters: Any = ...) -> Any:
        """Run one statement."""

    def executemany(self, sql: str, parameters: Any) -> Any:
        """Run one statement for each set of parameters."""

    def fetchone(self) -> Any:
        """The next row, or None."""

    def fetchall(self) -> Any:
        """Every remaining row."""


class SqlAccess:
    """Transactions for our own statements in a recorder's database."""

    def __init__(self, datastore: SQLiteDatastore | PostgresDatastore) -> None:
        """Use the recorder's datastore (same database, same connections)."""
        self._datastore = datastore
        self.is_postgres = isinstance(datastore, PostgresDatastore)

    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[Cursor]:
        """A transaction, committed at the end when ``commit``, else rolled back."""
        if isinstance(self._datastore, PostgresDatastore):
            with self._datastore.transaction(commit=commit) as c:
                from node.storage.pgcursor import PgCursor

                yield PgCursor(c.connection)
            return
        with self._datastore.transaction(commit=commit) as cursor:
            if commit:
                cursor.execute("PRAGMA secure_delete = ON")
            yield cursor

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        """Run a query in a read transaction and return its rows."""
        with self.transaction(commit=False) as c:
            c.execute(sql, params)
            rows: list[Any] = c.fetchall()
            return rows

    def write(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run one statement in its own transaction; return the rows it changed."""
        with self.transaction(commit=True) as c:
            c.execute(sql, params)
            return rowcount(c)

    def tidy(self, tables: Sequence[str]) -> bool:
        """Make deleted rows go for real; False when it must be tried again.

        Args:
            tables: The tables rows were deleted from (PostgreSQL vacuums them).

        Returns:
            False when a reader kept SQLite's log from being emptied.
        """
        if isinstance(self._datastore, PostgresDatastore):
            with self._datastore.get_connection() as connection:
                for table in tables:  # VACUUM cannot run inside a transaction
                    connection.execute(
                        pgsql.SQL("VACUUM {}").format(pgsql.Identifier(table))
                    )
            return True
        with self._datastore.get_connection(commit=True) as connection:
            cursor = connection.cursor()
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            is_busy = bool(cursor.fetchone()[0])
        if is_busy:
            logger.warning("the write-ahead log could not be emptied yet")
        return not is_busy


def rowcount(cursor: Any) -> int:
    """The rows the last statement changed, on either backend's cursor."""
    inner = getattr(cursor, "sqlite_cursor", cursor)
    return int(inner.rowcount)
