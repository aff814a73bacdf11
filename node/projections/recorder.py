"""The read models' recorder: model tables and tracking in one SQLite file.

:class:`ReadModelRecorder` is eventsourcing's ``SQLiteTrackingRecorder`` with
the read-model tables beside its ``tracking`` table. :meth:`apply_batch`
writes a batch into every model and records the batch's last position
(``Tracking("ReadModels", position)``) in one transaction, so the tables and
the position commit together or not at all. It first reads the tracked
position inside that transaction and skips what is already applied, so
replaying a batch is a no-op, never a double count.

After a batch holding a redaction, the search index is merged (``finish``)
and the WAL checkpointed and truncated: with ``secure_delete`` on, the
redacted text is then gone from the database file and its WAL. A checkpoint
that a reader blocks is retried after the next batch (:meth:`tidy`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteCursor, SQLiteTrackingRecorder

from node.projections import (
    activity,
    campaigns,
    delegates,
    events,
    groups,
    ideas,
    knowhow,
    meetings,
    mutualaid,
    networks,
    pledges,
    search,
    sql,
    tours,
)
from node.projections.model import (
    APPLICATION_NAME,
    SCHEMA_VERSION,
    Projected,
    ReadModel,
)
from node.storage.feeds import redaction_target

__all__ = ["MODELS", "ReadModelRecorder"]

#: Every read model, in the order each batch is applied. ``events`` comes
#: first: the others find a redaction's target in its table. The domain work
#: adds its models (meetings, campaigns, needs and offers …) to this tuple,
#: each a module like these with ``create``, ``apply``, ``finish`` and
#: ``reset`` and its statements in :mod:`node.projections.sql`.
MODELS: tuple[ReadModel, ...] = (
    events,
    groups,
    search,
    networks,
    meetings,
    tours,
    campaigns,
    ideas,
    delegates,
    knowhow,
    mutualaid,
    pledges,
    activity,
)


#: A commit of the read models waits for the WAL write, not for the disk:
#: after a power cut the models and their tracked position roll back
#: together to an earlier commit and the log is projected again from there,
#: so nothing is missed or counted twice (DESIGN §4), while a batch costs no
#: fsync. Checkpoints still sync, so what a redaction deletes leaves the file.
SYNCHRONOUS = "PRAGMA synchronous = NORMAL"


class ReadModelRecorder(SQLiteTrackingRecorder):
    """A tracking recorder that also owns and writes the read-model tables."""

    checkpoint_pending = False

    def _create_table(self, c: SQLiteCursor) -> None:
        super()._create_table(c)
        # Tables of another schema version may lack columns that this
        # version's indexes name: drop them before creating (``upgrade``
        # then forgets the tracked position, so they are rebuilt).
        c.execute("PRAGMA user_version")
        is_other_version = int(c.fetchone()[0]) != SCHEMA_VERSION
        for model in MODELS:
            if is_other_version:
                model.reset(c)
            else:
                model.create(c)

    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[SQLiteCursor]:
        """A transaction on the read models' file, for the models' queries."""
        with self.datastore.transaction(commit=commit) as cursor:
            yield cursor

    def tracked(self) -> int:
        """The position of the last event applied, 0 when none.

        Returns:
            The tracked position.
        """
        return self.max_tracking_id(APPLICATION_NAME) or 0

    def apply_batch(self, items: Sequence[Projected]) -> int:
        """Apply events to every model and track the last, in one transaction.

        Args:
            items: Events in position order.

        Returns:
            How many were applied: those after the tracked position.
        """
        with self.datastore.get_connection(commit=True) as connection:
            # Outside the transaction: SQLite refuses it inside one.
            connection.cursor().execute(SYNCHRONOUS)
            with connection.transaction(commit=True) as c:
                c.execute(sql.SECURE_DELETE)
                tracked = self._max_tracking_id(APPLICATION_NAME, c) or 0
                fresh = [item for item in items if item.position > tracked]
                if not fresh:
                    return 0
                for item in fresh:
                    for model in MODELS:
                        model.apply(c, item)
                for model in MODELS:
                    model.finish(c, fresh)
                self._insert_tracking(c, Tracking(APPLICATION_NAME, fresh[-1].position))
        if any(redaction_target(item.event) for item in fresh):
            self.checkpoint_pending = True
        self.tidy()
        return len(fresh)

    def reset(self) -> None:
        """Empty every model and forget the tracked position, in one transaction."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(sql.SECURE_DELETE)
            for model in MODELS:
                model.reset(c)
            c.execute(sql.DELETE_TRACKING, (APPLICATION_NAME,))
        self.checkpoint_pending = True
        self.tidy()

    def upgrade(self, version: int) -> bool:
        """Empty the models when they were made by another schema version.

        The version lives in SQLite's ``user_version``; a new file (nothing
        tracked yet) is simply stamped.

        Args:
            version: The version these models are (``SCHEMA_VERSION``).

        Returns:
            True when the models were emptied and must be rebuilt.
        """
        with self.datastore.get_connection(commit=True) as connection:
            cursor = connection.cursor()
            cursor.execute("PRAGMA user_version")
            found = int(cursor.fetchone()[0])
        if found == version:
            return False
        is_stale = self.tracked() > 0
        if is_stale:
            self.reset()
        with self.datastore.get_connection(commit=True) as connection:
            connection.cursor().execute(f"PRAGMA user_version = {int(version)}")
        return is_stale

    def tidy(self) -> None:
        """Checkpoint and truncate the WAL if a redaction or reset asked for it."""
        if not self.checkpoint_pending:
            return
        with self.datastore.get_connection(commit=True) as connection:
            cursor = connection.cursor()
            cursor.execute(sql.CHECKPOINT)
            is_busy = bool(cursor.fetchone()[0])
        self.checkpoint_pending = is_busy
