"""The read models of a node: one SQLite file, ``<data_dir>/readmodels.db``.

:class:`ReadModels` opens the file through eventsourcing's infrastructure
factory (configured from our keys only, never ``os.environ``), writes through
:class:`~node.projections.recorder.ReadModelRecorder` and answers the queries
the HTTP layer serves. Every call blocks: the HTTP layer calls it from a
thread pool, the projector from its own thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from eventsourcing.persistence import InfrastructureFactory, PersistenceError
from eventsourcing.sqlite import SQLiteCursor

from node.config import Settings
from node.errors import StorageUnavailableError
from node.projections import events, groups, search
from node.projections.events import EventsPage
from node.projections.groups import Group, GroupsPage
from node.projections.model import (
    APPLICATION_NAME,
    READMODELS_FILE,
    SCHEMA_VERSION,
    Projected,
)
from node.projections.recorder import ReadModelRecorder
from node.projections.search import SearchHit
from node.storage.eventsourcing_env import explicit_environment, sqlite_environment

__all__ = ["ReadModels"]

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


class ReadModels:
    """The read-model database: writes from the projector, queries for the API."""

    def __init__(self, path: Path) -> None:
        """Open (creating if needed) the read models at ``path``.

        Raises:
            StorageUnavailableError: The database cannot be opened.
        """
        env = explicit_environment(
            APPLICATION_NAME, sqlite_environment(path, text_ids=True)
        )
        try:
            self._factory = InfrastructureFactory.construct(env)
            recorder = self._factory.tracking_recorder(ReadModelRecorder)
        except PersistenceError as error:
            raise StorageUnavailableError(f"cannot open {path}: {error}") from error
        if not isinstance(recorder, ReadModelRecorder):  # pragma: no cover
            raise TypeError(type(recorder))
        self._recorder = recorder
        self.path = path
        if recorder.upgrade(SCHEMA_VERSION):
            logger.warning(
                "read models in %s were made by another version: rebuilding them "
                "from the log",
                path,
            )

    @classmethod
    def open(cls, settings: Settings) -> ReadModels:
        """Open the read models of a data directory.

        Args:
            settings: The node's settings.

        Returns:
            The read models in ``readmodels.db``.
        """
        return cls(settings.path(READMODELS_FILE))

    def position(self) -> int:
        """The log position of the last event applied, 0 when none."""
        return self._recorder.tracked()

    def apply(self, items: Sequence[Projected]) -> int:
        """Apply a batch and track it in one transaction (replays are no-ops).

        Args:
            items: Events in position order.

        Returns:
            How many were new.
        """
        return self._recorder.apply_batch(items)

    def reset(self) -> None:
        """Empty every read model and forget the position (for a reindex)."""
        self._recorder.reset()

    def tidy(self) -> None:
        """Finish a WAL checkpoint that a reader blocked after a redaction."""
        self._recorder.tidy()

    def list_events(
        self,
        feed: str | None = None,
        type: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> EventsPage:
        """List public events in log order (``GET /api/v1/events``).

        Args:
            feed: Only this feed's events, when given.
            type: Only events of this type, when given.
            after: Only events with a greater position (the previous ``next``).
            limit: The page size, brought into 1..500.

        Returns:
            The page.
        """
        with self._recorder.datastore.transaction(commit=False) as c:
            return events.list_events(c, feed, type, after, limit)

    def list_groups(
        self,
        q: str | None = None,
        tag: str | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> GroupsPage:
        """List the directory of groups by name.

        Args:
            q: Text the name or area must contain (any case), when given.
            tag: A tag the group must have, when given.
            limit: The page size, brought into 1..500.
            after: The previous page's ``next``, or None to start.

        Returns:
            The page.

        Raises:
            InvalidCursorError: ``after`` is not a cursor this node handed out.
        """
        with self._recorder.datastore.transaction(commit=False) as c:
            return groups.list_groups(c, q, tag, limit, after)

    def get_group(self, feed: str) -> Group | None:
        """Look one group up by its feed id; None when none is held."""
        with self._recorder.datastore.transaction(commit=False) as c:
            return groups.get_group(c, feed)

    def search(self, q: str, limit: int = 20) -> list[SearchHit]:
        """Search titles and texts (``GET /api/v1/search``).

        Args:
            q: The member's query, any text.
            limit: The most hits, brought into 1..100.

        Returns:
            The hits, best first; empty for a query without words.
        """
        with self._recorder.datastore.transaction(commit=False) as c:
            return search.search(c, q, limit)

    def query(
        self,
        fn: Callable[Concatenate[SQLiteCursor, P], R],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """Run one model's query function in a read transaction.

        The domain models (meetings, campaigns, networks …) each offer query
        functions taking a cursor first; this runs one of them.

        Args:
            fn: The query, e.g. ``meetings.list_meetings``.
            *args: Its arguments after the cursor.
            **kwargs: Its keyword arguments.

        Returns:
            What the query returns.
        """
        with self._recorder.datastore.transaction(commit=False) as c:
            return fn(c, *args, **kwargs)

    def close(self) -> None:
        """Close the database connections."""
        self._factory.close()
