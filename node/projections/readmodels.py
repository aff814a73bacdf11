"""The read models of a node: one SQLite file, ``<data_dir>/readmodels.db``.

:class:`ReadModels` opens the file through eventsourcing's infrastructure
factory (configured from our keys only, never ``os.environ``), writes through
:class:`~node.projections.recorder.ReadModelRecorder` and answers the queries
the HTTP layer serves. Every call blocks: the HTTP layer calls it from a
thread pool, the projector from its own thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import psycopg
from eventsourcing.persistence import InfrastructureFactory, PersistenceError

from node.config import Settings
from node.errors import StorageUnavailableError
from node.projections import events, groups, search, search_pg
from node.projections.events import EventsPage
from node.projections.geo import Near
from node.projections.groups import Group, GroupsPage
from node.projections.model import (
    APPLICATION_NAME,
    READMODELS_FILE,
    SCHEMA_VERSION,
    Projected,
)
from node.projections.recorder import ReadModelRecorder
from node.projections.recorder_pg import PostgresReadModelRecorder
from node.projections.search import SearchHit, SearchPage, TypeFilter
from node.storage.backend import (
    PostgresTarget,
    is_postgres,
    postgres_environment,
    postgres_target,
)
from node.storage.eventsourcing_env import explicit_environment, sqlite_environment
from node.storage.pgcursor import PgCursor
from node.storage.sqldb import Cursor

__all__ = ["ReadModels"]

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


class ReadModels:
    """The read-model database: writes from the projector, queries for the API."""

    def __init__(self, where: Path | PostgresTarget) -> None:
        """Open (creating if needed) the read models in a file or in PostgreSQL.

        Args:
            where: The SQLite file, or the PostgreSQL database and schema.

        Raises:
            StorageUnavailableError: The database cannot be opened.
        """
        if isinstance(where, PostgresTarget):
            keys = postgres_environment(where, text_ids=True)
            recorder_class: type[Any] = PostgresReadModelRecorder
            self.path: Path | None = None
        else:
            keys = sqlite_environment(where, text_ids=True)
            recorder_class = ReadModelRecorder
            self.path = where
        env = explicit_environment(APPLICATION_NAME, keys)
        try:
            self._factory = InfrastructureFactory.construct(env)
            recorder = self._factory.tracking_recorder(recorder_class)
        except (PersistenceError, psycopg.Error) as error:
            raise StorageUnavailableError(f"cannot open {where}: {error}") from error
        if not isinstance(recorder, ReadModelRecorder | PostgresReadModelRecorder):
            raise TypeError(type(recorder))  # pragma: no cover
        self._recorder: ReadModelRecorder | PostgresReadModelRecorder = recorder
        if recorder.upgrade(SCHEMA_VERSION):
            logger.warning(
                "read models in %s were made by another version: rebuilding them "
                "from the log",
                where,
            )

    @classmethod
    def open(cls, settings: Settings) -> ReadModels:
        """Open the read models the settings name.

        Args:
            settings: The node's settings.

        Returns:
            The read models in ``readmodels.db``, or in PostgreSQL.
        """
        if is_postgres(settings):
            return cls(postgres_target(settings.database_url))
        return cls(settings.path(READMODELS_FILE))

    def _reading(self) -> AbstractContextManager[Cursor]:
        return self._recorder.transaction(commit=False)

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
        with self._reading() as c:
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
        with self._reading() as c:
            return groups.list_groups(c, q, tag, limit, after)

    def get_group(self, feed: str) -> Group | None:
        """Look one group up by its feed id; None when none is held."""
        with self._reading() as c:
            return groups.get_group(c, feed)

    def search(self, q: str, limit: int = 20) -> list[SearchHit]:
        """Search titles and texts (``GET /api/v1/search``).

        Args:
            q: The member's query, any text.
            limit: The most hits, brought into 1..100.

        Returns:
            The hits, best first; empty for a query without words.
        """
        with self._reading() as c:
            if isinstance(c, PgCursor):
                return search_pg.search(c, q, limit)
            return search.search(c, q, limit)

    def search_page(
        self,
        q: str,
        *,
        types: TypeFilter | None = None,
        near: Near | None = None,
        blocked: Collection[str] = (),
        limit: int = 20,
        after: str | None = None,
    ) -> SearchPage:
        """A page of search hits with filters (see :func:`.search.search_page`)."""
        with self._reading() as c:
            if isinstance(c, PgCursor):
                return search_pg.search_page(
                    c,
                    q,
                    types=types,
                    near=near,
                    blocked=blocked,
                    limit=limit,
                    after=after,
                )
            return search.search_page(
                c, q, types=types, near=near, blocked=blocked, limit=limit, after=after
            )

    def query(
        self,
        fn: Callable[Concatenate[Cursor, P], R],
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
        with self._reading() as c:
            return fn(c, *args, **kwargs)

    def close(self) -> None:
        """Close the database connections."""
        self._factory.close()
