"""eventsourcing's PostgreSQL recorders, set up the way a node needs them.

Every recorder a node makes on PostgreSQL mixes in :class:`PostgresSetup`:

- each connection's ``search_path`` starts with the node's schema, so our own
  statements (which name tables unqualified) reach the node's tables;
- the schema is created when missing, and tables are created under an
  advisory lock, so several workers starting at once do not race each other
  into PostgreSQL's "duplicate key" on its catalogue.

:class:`PostgresFeedRecorder` is the feed store's recorder: it inserts a
batch's stored events and, in the same transaction, the bodies, ids and
redactions (:mod:`node.storage.feeds`), taking eventsourcing's table lock
first so log positions are handed out in commit order (NOTES-eventsourcing
§2: PostgreSQL positions may have gaps; nothing here assumes they do not).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresRecorder,
)
from psycopg import sql as pgsql

from node.storage.backend import apply_search_path

if TYPE_CHECKING:
    pass

__all__ = ["PostgresFeedRecorder", "PostgresSetup", "PrivateRecorder"]

#: The advisory lock key under which tables are created (any constant works;
#: this one spells "tredegar" in ASCII).
CREATE_LOCK = 0x7472656465676172
_TABLE_NAME = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)")


class PostgresSetup(PostgresRecorder):
    """Search path, schema and serialised table creation for a recorder."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        """Point the datastore's connections at its schema, then set up."""
        apply_search_path(datastore)
        super().__init__(datastore, **kwargs)

    def create_table(self) -> None:
        """Create the schema and tables, one process at a time.

        A database that already holds them (every start after the first, and
        every worker after the first) only registers eventsourcing's types:
        a start is one query instead of a hundred statements.
        """
        if self.is_set_up():
            self.datastore.register_type_adapters()
            return
        with self.datastore.get_connection() as connection:
            connection.execute("SELECT pg_advisory_lock(%s)", (CREATE_LOCK,))
            try:
                with contextlib.suppress(psycopg.errors.UniqueViolation):
                    connection.execute(
                        pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                            pgsql.Identifier(self.datastore.schema)
                        )
                    )
                super().create_table()
                self.create_own_tables()
            finally:
                connection.execute("SELECT pg_advisory_unlock(%s)", (CREATE_LOCK,))

    def create_own_tables(self) -> None:
        """Create tables of ours beside the recorder's (none by default)."""

    def expected_tables(self) -> list[str]:
        """The tables a set-up database holds for this recorder."""
        names = [
            getattr(self, "events_table_name", ""),
            getattr(self, "tracking_table_name", ""),
        ]
        return [name for name in names if name]

    def is_set_up(self) -> bool:
        """True when every expected table exists in the schema."""
        expected = self.expected_tables()
        with self.datastore.get_connection() as connection:
            row = connection.execute(
                "SELECT count(*) AS n FROM pg_tables "
                "WHERE schemaname = %s AND tablename = ANY(%s)",
                (self.datastore.schema, expected),
            ).fetchone()
        return row is not None and int(row["n"]) == len(expected)


class PrivateRecorder(PostgresSetup, PostgresApplicationRecorder):
    """The private data's recorder (``privatedata_events``)."""


class PostgresFeedRecorder(PostgresSetup, PostgresApplicationRecorder):
    """The feed store's recorder: stored events plus bodies, ids and redactions."""

    #: Our tables, in SQLite's dialect (translated); set by the feed store.
    own_tables: Sequence[str] = ()

    def expected_tables(self) -> list[str]:
        """eventsourcing's table and every one of ours."""
        ours = [_TABLE_NAME.search(statement) for statement in self.own_tables]
        return [*super().expected_tables(), *(m.group(1) for m in ours if m)]

    def create_own_tables(self) -> None:
        """Create the bodies, ids, redactions and federation tables."""
        with self.datastore.transaction(commit=True) as c:
            from node.storage.pgcursor import PgCursor

            cursor = PgCursor(c.connection)
            for statement in self.own_tables:
                cursor.execute(statement)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert events and their bodies in one transaction; return positions.

        Raises:
            IntegrityError: An event is already held at one (feed, seq).
        """
        if not stored_events:
            return []
        with self.datastore.get_connection() as connection, connection.transaction():
            with connection.cursor() as curs:
                # Locks the table (commit order = position order), then inserts.
                self._insert_stored_events(curs, stored_events)
                positions = [row["notification_id"] for row in curs.fetchall()]
            after = kwargs.get("after_insert")
            if after is not None:
                from node.storage.pgcursor import PgCursor

                after(PgCursor(connection))
        return positions

    def rows(self, sql: str, params: Sequence[object]) -> list[Any]:
        """Run a read-only query (SQLite dialect, translated) in a transaction."""
        with self.datastore.transaction(commit=False) as c:
            from node.storage.pgcursor import PgCursor

            cursor = PgCursor(c.connection)
            cursor.execute(sql, params)
            rows: list[Any] = cursor.fetchall()
            return rows
