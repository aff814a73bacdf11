"""The feed store on PostgreSQL, and opening whichever store the settings name.

:class:`PostgresFeedStore` is :class:`~node.storage.feeds.SqliteFeedStore`'s
logic over eventsourcing's PostgreSQL recorder: the same checks before every
append (contiguity, ``prev``, forks), the same queries (translated), and the
same one-transaction insert of headers, bodies, ids and redactions. Two things
differ because several worker processes may share the database:

- it never remembers a feed's head between appends: another worker may have
  appended since, so each append reads the heads it needs;
- two workers racing for the same (feed, seq) meet the table's primary key:
  one commits, the other gets :class:`~node.errors.ConflictError` and (for
  the own feed) the writer signs again on the new head. A fork is impossible.
"""

from __future__ import annotations

import psycopg
from eventsourcing.persistence import PersistenceError

from node.config import Settings
from node.errors import StorageUnavailableError
from node.storage.backend import is_postgres, postgres_target, storage_environment
from node.storage.eventsourcing_env import explicit_environment
from node.storage.feeds import FEED_TABLES, FeedsApplication, SqliteFeedStore
from node.storage.pgrecorders import PostgresFeedRecorder

__all__ = ["FEEDS_FILE", "PostgresFeedStore", "open_feed_store"]

#: The feed store's file in the data directory, on SQLite.
FEEDS_FILE = "feeds.db"


class PostgresFeedStore(SqliteFeedStore):
    """The feed store in PostgreSQL (table ``feeds_events`` and ours beside it)."""

    EVENTS_TABLE = "feeds_events"
    POSITION_COLUMN = "notification_id"
    REMEMBERS_HEADS = False

    def __init__(self, settings: Settings) -> None:
        keys = storage_environment(settings, FEEDS_FILE, text_ids=True)
        keys["APPLICATION_RECORDER_TOPIC"] = "node.storage.feeds_pg:_FeedRecorder"
        try:
            self.app = FeedsApplication(explicit_environment("Feeds", keys))
        except (PersistenceError, psycopg.Error) as error:
            where = postgres_target(settings.database_url).describe()
            raise StorageUnavailableError(
                f"cannot open the feeds in {where}: {error}"
            ) from error
        recorder = self.app.recorder
        if not isinstance(recorder, PostgresFeedRecorder):
            raise StorageUnavailableError(f"unexpected recorder {type(recorder)}")
        self._open(recorder)


class _FeedRecorder(PostgresFeedRecorder):
    own_tables = FEED_TABLES


def open_feed_store(settings: Settings) -> SqliteFeedStore:
    """Open the feed store the settings name (SQLite file or PostgreSQL).

    Raises:
        StorageUnavailableError: The database cannot be opened.
    """
    if is_postgres(settings):
        return PostgresFeedStore(settings)
    return SqliteFeedStore(settings.path(FEEDS_FILE))
