"""The read models' recorder on PostgreSQL: model tables and tracking together.

The PostgreSQL twin of :class:`~node.projections.recorder.ReadModelRecorder`:
eventsourcing's ``PostgresTrackingRecorder`` (table ``readmodels_tracking``)
with every model's tables beside it in the node's schema. The models' SQL
runs through :class:`~node.storage.pgcursor.PgCursor` (translated from
SQLite's dialect; the search model has its own PostgreSQL statements).

Several workers may share these tables. Only the worker holding the leader
lock follows the log in the normal run, but a batch also takes a transaction
advisory lock before it reads the tracked position, so two projectors can
never apply the same events twice: the second waits, then finds them applied.
The schema version lives in a one-row table (``PRAGMA user_version`` on
SQLite), read and written through the cursor.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from eventsourcing.persistence import PersistenceError, Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from psycopg import sql as pgsql

from node.projections import search, search_pg
from node.projections.model import APPLICATION_NAME, SCHEMA_VERSION, Projected
from node.projections.recorder import MODELS
from node.storage.pgrecorders import PostgresSetup

if TYPE_CHECKING:
    from node.storage.pgcursor import PgCursor

__all__ = ["PostgresReadModelRecorder"]

#: The advisory lock a batch holds while it applies (any constant; ASCII
#: "readmods").
APPLY_LOCK = 0x726561646D6F6473
#: The models in the same order, with PostgreSQL's full-text search model in
#: place of the FTS5 one.
PG_MODELS = tuple(search_pg if model is search else model for model in MODELS)


class PostgresReadModelRecorder(PostgresSetup, PostgresTrackingRecorder):
    """A tracking recorder that also owns and writes the read-model tables."""

    checkpoint_pending = False

    def is_set_up(self) -> bool:
        """True when the tables exist and were made by this schema version."""
        if not super().is_set_up():
            return False
        try:
            with self.transaction(commit=False) as cursor:
                cursor.execute("PRAGMA user_version")
                row = cursor.fetchone()
                return row is not None and int(row[0]) == SCHEMA_VERSION
        except PersistenceError:
            return False

    def create_own_tables(self) -> None:
        """Create every model's tables (those missing)."""
        with self.transaction(commit=True) as cursor:
            # Tables of another schema version may lack columns that this
            # version's indexes name: drop them first (``upgrade`` then
            # forgets the tracked position, so they are rebuilt).
            cursor.execute("PRAGMA user_version")
            row = cursor.fetchone()
            is_other_version = row is None or int(row[0]) != SCHEMA_VERSION
            for model in PG_MODELS:
                if is_other_version:
                    model.reset(cursor)
                else:
                    model.create(cursor)

    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[PgCursor]:
        """A transaction with a translating cursor, for the models' SQL."""
        with self.datastore.transaction(commit=commit) as c:
            from node.storage.pgcursor import PgCursor

            yield PgCursor(c.connection)

    def tracked(self) -> int:
        """The position of the last event applied, 0 when none."""
        return self.max_tracking_id(APPLICATION_NAME) or 0

    def apply_batch(self, items: Sequence[Projected]) -> int:
        """Apply events to every model and track the last, in one transaction.

        Args:
            items: Events in position order.

        Returns:
            How many were applied: those after the tracked position.
        """
        with self.datastore.transaction(commit=True) as c:
            c.execute("SELECT pg_advisory_xact_lock(%s)", (APPLY_LOCK,))
            tracked = self._max_tracking_id(APPLICATION_NAME, c) or 0
            fresh = [item for item in items if item.position > tracked]
            if not fresh:
                return 0
            from node.storage.pgcursor import PgCursor

            cursor = PgCursor(c.connection)
            for item in fresh:
                for model in PG_MODELS:
                    model.apply(cursor, item)
            for model in PG_MODELS:
                model.finish(cursor, fresh)
            self._insert_tracking(c, Tracking(APPLICATION_NAME, fresh[-1].position))
        return len(fresh)

    def reset(self) -> None:
        """Empty every model and forget the tracked position, in one transaction."""
        with self.datastore.transaction(commit=True) as c:
            c.execute("SELECT pg_advisory_xact_lock(%s)", (APPLY_LOCK,))
            from node.storage.pgcursor import PgCursor

            cursor = PgCursor(c.connection)
            for model in PG_MODELS:
                model.reset(cursor)
            c.execute(
                pgsql.SQL("DELETE FROM {} WHERE application_name = %s").format(
                    pgsql.Identifier(self.tracking_table_name)
                ),
                (APPLICATION_NAME,),
            )

    def upgrade(self, version: int) -> bool:
        """Empty the models when they were made by another schema version.

        Args:
            version: The version these models are (``SCHEMA_VERSION``).

        Returns:
            True when the models were emptied and must be rebuilt.
        """
        with self.transaction(commit=True) as cursor:
            cursor.execute("PRAGMA user_version")
            row = cursor.fetchone()
            found = int(row[0]) if row is not None else 0
        if found == version:
            return False
        is_stale = self.tracked() > 0
        if is_stale:
            self.reset()
        with self.transaction(commit=True) as cursor:
            cursor.execute(f"PRAGMA user_version = {int(version)}")
        return is_stale

    def tidy(self) -> None:
        """Nothing to fold: PostgreSQL vacuums deleted rows itself."""
