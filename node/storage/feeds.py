"""Feeds on eventsourcing: every feed, ours and replicas, as one stream each.

Mapping (``docs/architecture.md#storage``): originator id = feed id (text),
originator version = ``seq``, state = the canonical signed header (the event
without its body). The recorder's primary key on (originator id, version) is
what makes a second event for one (feed, seq) impossible, whatever our Python
checks do. Bodies live in their own table so a redaction deletes them for real
(``PRAGMA secure_delete`` zeroes the freed pages, and the WAL is checkpointed
and truncated), while the header, which still verifies, stays. A third table
maps event ids to (feed, seq); a fourth remembers redactions, so a body named
by a redaction is never stored again.

All four are written by :class:`FeedRecorder` in the transaction that inserts
the stored events, so an event, its body, its id and the effect of a redaction
commit together or not at all. The application's notification log (SQLite
rowid order) is the order in which this node stored events: projections follow
it, and it is the node's local position of each event.

Everything here blocks; only :mod:`node.storage.writer` and the read pool call it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import (
    IntegrityError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from eventsourcing.utils import Environment

from node.errors import ConflictError, StorageUnavailableError
from node.storage.eventsourcing_env import explicit_environment, sqlite_environment
from node.storage.federation import FEDERATION_TABLES, FederationState
from node.storage.pgrecorders import PostgresFeedRecorder
from node.storage.sqldb import Cursor, SqlAccess
from protocol import (
    Event,
    EventId,
    FeedId,
    ForkError,
    canonical,
    verify_link,
)
from protocol.event import event_from_stored

__all__ = [
    "EVENT_TOPIC",
    "FeedRecorder",
    "FeedStore",
    "FeedsApplication",
    "Logged",
    "SqliteFeedStore",
    "StoredRow",
    "wire_line",
]

#: The topic of every stored feed event.
EVENT_TOPIC = "tredegar.event/v1"
REDACTION_TYPE = "event.redacted"


@dataclass(frozen=True, slots=True)
class Logged:
    """An event with its position in this node's log (the order it was stored)."""

    position: int
    event: Event


class FeedStore(Protocol):
    """The storage port for feeds (the node's own and every replica)."""

    def append(self, events: Sequence[Event]) -> list[Logged]:
        """Store verified events in one transaction; return those newly stored."""
        ...

    def head(self, feed: FeedId) -> Event | None:
        """The last event held of a feed (without body), or None."""
        ...

    def read(self, feed: FeedId, after: int = 0, limit: int = 1000) -> list[Event]:
        """Events of a feed with ``seq > after``, in order, bodies included."""
        ...

    def heads(self) -> dict[FeedId, int]:
        """The head seq of every feed held."""
        ...

    def log(self, after: int, limit: int) -> list[Logged]:
        """Events in the order this node stored them, after a position."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


#: Our tables beside eventsourcing's stored events, in SQLite's dialect (the
#: PostgreSQL recorder runs them translated).
FEED_TABLES = (
    "CREATE TABLE IF NOT EXISTS bodies (feed TEXT, seq INTEGER, "
    "body BLOB NOT NULL, PRIMARY KEY (feed, seq)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS event_ids (id TEXT PRIMARY KEY, "
    "feed TEXT NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS redactions (target TEXT, feed TEXT, "
    "PRIMARY KEY (target, feed)) WITHOUT ROWID",
    *FEDERATION_TABLES,
)


class FeedRecorder(SQLiteApplicationRecorder):
    """The application recorder, plus bodies, ids and redactions in the same file."""

    def construct_create_table_statements(self) -> list[str]:
        """Add our tables beside eventsourcing's ``stored_events``."""
        return [*super().construct_create_table_statements(), *FEED_TABLES]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events)
        after = kwargs.get("after_insert")
        if after is not None:
            after(c)
        return positions


def record_extras(c: Cursor, events: Sequence[Event]) -> None:
    """Store events' ids and bodies, and apply their redactions (same transaction).

    A body named by a redaction in its own feed is deleted, and never stored
    again when it arrives later (``redactions`` remembers it).
    """
    c.executemany(
        "INSERT INTO event_ids VALUES (?, ?, ?)",
        [(e.id, e.feed, e.seq) for e in events],
    )
    redactions = [(t, e.feed) for e in events if (t := redaction_target(e))]
    if redactions:
        c.executemany("INSERT OR IGNORE INTO redactions VALUES (?, ?)", redactions)
        c.executemany(
            "DELETE FROM bodies WHERE (feed, seq) IN "
            "(SELECT feed, seq FROM event_ids WHERE id = ? AND feed = ?)",
            redactions,
        )
    c.executemany(
        "INSERT INTO bodies SELECT ?, ?, ? WHERE NOT EXISTS "
        "(SELECT 1 FROM redactions WHERE target = ? AND feed = ?)",
        [
            (e.feed, e.seq, canonical.dump(e.body), e.id, e.feed)
            for e in events
            if e.body is not None
        ],
    )


def redaction_target(event: Event) -> EventId | None:
    """The id an ``event.redacted`` names, when its body names one."""
    if event.type != REDACTION_TYPE or event.body is None:
        return None
    target = event.body.get("id")
    return EventId(target) if isinstance(target, str) else None


class FeedsApplication(Application[Any]):
    """The eventsourcing application holding every feed (name ``Feeds``)."""

    name = "Feeds"

    def construct_env(self, name: str, env: Any = None) -> Environment:
        """Use only the keys we pass: never ``os.environ`` (see eventsourcing_env)."""
        return Environment(name, dict(env or {}))


_SELECT = (
    "SELECT e.rowid AS position, e.state AS header, b.body AS body "
    "FROM stored_events e LEFT JOIN bodies b "
    "ON b.feed = e.originator_id AND b.seq = e.originator_version "
)


class SqliteFeedStore:
    """:class:`FeedStore` on eventsourcing's SQLite recorder, one file.

    :class:`PostgresFeedStore` is the same store on PostgreSQL; the queries
    name eventsourcing's table and position column through the two class
    attributes below.
    """

    #: eventsourcing's table of stored events.
    EVENTS_TABLE = "stored_events"
    #: Its column holding each event's log position.
    POSITION_COLUMN = "rowid"
    #: Whether the writer may remember feed heads between appends: only when
    #: it is the only process appending (SQLite's lock file makes it so).
    REMEMBERS_HEADS = True

    def __init__(self, path: Path) -> None:
        """Open (creating if needed) the feeds database at ``path``."""
        keys = sqlite_environment(path, text_ids=True)
        keys["APPLICATION_RECORDER_TOPIC"] = "node.storage.feeds:FeedRecorder"
        try:
            self.app = FeedsApplication(explicit_environment("Feeds", keys))
        except PersistenceError as error:
            raise StorageUnavailableError(f"cannot open {path}: {error}") from error
        recorder = self.app.recorder
        if not isinstance(recorder, FeedRecorder):  # the topic names our class
            raise StorageUnavailableError(f"unexpected recorder {type(recorder)}")
        _make_commits_durable(recorder)
        self._open(recorder)

    def _open(self, recorder: FeedRecorder | PostgresFeedRecorder) -> None:
        self.recorder = recorder
        self.sql = SqlAccess(recorder.datastore)
        # The writer thread's view of each feed's head; only append() fills it.
        self._heads: dict[FeedId, Event] = {}
        self._needs_checkpoint = False
        #: Peers, blocks and fork proofs, in the same database.
        self.federation = FederationState(self.sql)
        self._frozen = self.federation.frozen_feeds()

    def _rows(self, sql: str, params: Sequence[object]) -> list[Any]:
        """Run a query, naming eventsourcing's table and position column."""
        return self.sql.rows(
            sql.replace("stored_events", self.EVENTS_TABLE).replace(
                "rowid", self.POSITION_COLUMN
            ),
            params,
        )

    def append(self, events: Sequence[Event]) -> list[Logged]:
        """Store verified events of any feeds, in order, in one transaction.

        Events already held (same id) are skipped, so re-sending is harmless.

        Args:
            events: Events whose signature and body hash were verified.

        Returns:
            The events newly stored, with their positions.

        Raises:
            SeqGapError, PrevMismatchError: An event does not continue its feed
                (nothing is stored).
            ForkError: A different event is held at an event's (feed, seq).
            ConflictError: Another writer stored at the same (feed, seq) first.
        """
        heads = dict(self._heads)
        fresh: list[Event] = []
        for event in events:
            self._check_not_frozen(event)
            head = heads.get(event.feed) or self._cached_head(event.feed)
            if head is not None and event.seq <= head.seq:
                self._check_duplicate(event)
                continue
            verify_link(head, event)
            fresh.append(event)
            heads[event.feed] = event.without_body()
        if not fresh:
            return []
        positions = self._insert(fresh)
        if self.REMEMBERS_HEADS:
            self._heads.update(heads)
        if self._needs_checkpoint or any(redaction_target(e) for e in fresh):
            # Old pages holding a redacted body may sit in the WAL: fold it in
            # and truncate it, or try again after the next append.
            self._needs_checkpoint = not self.sql.tidy(("bodies",))
        return [Logged(p, e) for p, e in zip(positions, fresh, strict=True)]

    def _check_not_frozen(self, event: Event) -> None:
        frozen_at = self._frozen.get(event.feed)
        if frozen_at is not None and event.seq >= frozen_at:
            raise ForkError(
                f"{event.feed} is frozen at seq {frozen_at - 1}: its key signed two "
                f"events for seq {frozen_at}",
                event_id=event.id,
            )

    def record_fork(self, first: Event, second: Event, *, now: int) -> bool:
        """Keep two events for one (feed, seq) as a proof and freeze the feed.

        Returns:
            True when the proof is new.
        """
        is_new = self.federation.record_fork(first, second, now=now)
        self._frozen = self.federation.frozen_feeds()
        return is_new

    def event_at(self, feed: FeedId, seq: int) -> Event | None:
        """The event held at (feed, seq), if any."""
        held = self.read(feed, seq - 1, 1)
        return held[0] if held and held[0].seq == seq else None

    def heads_since(self, position: int) -> tuple[dict[FeedId, int], int]:
        """Heads of the feeds that changed after a log position, and the new position.

        A peer that passes back the position it was given learns only what
        changed since, which is what keeps an in-sync round small.
        """
        rows = self._rows(
            "SELECT originator_id AS feed, MAX(originator_version) AS seq, "
            "MAX(rowid) AS position FROM stored_events WHERE rowid > ? "
            "GROUP BY originator_id",
            (position,),
        )
        if not rows:
            return {}, position
        latest = max(row["position"] for row in rows)
        return {FeedId(row["feed"]): row["seq"] for row in rows}, latest

    def feed_bytes(self, feed: FeedId) -> int:
        """Bytes held for a feed (headers and bodies), for replication limits."""
        rows = self._rows(
            "SELECT COALESCE(SUM(LENGTH(e.state) + COALESCE(LENGTH(b.body), 0)), 0) "
            "AS size FROM stored_events e LEFT JOIN bodies b ON b.feed = "
            "e.originator_id AND b.seq = e.originator_version "
            "WHERE e.originator_id = ?",
            (feed,),
        )
        return int(rows[0]["size"])

    def _insert(self, events: list[Event]) -> Sequence[int]:
        stored = [
            StoredEvent(e.feed, e.seq, EVENT_TOPIC, e.signed_header_bytes())
            for e in events
        ]
        try:
            positions = self.recorder.insert_events(
                stored, after_insert=lambda c: record_extras(c, events)
            )
        except IntegrityError as error:
            self._heads.clear()
            raise ConflictError(f"another writer stored first: {error}") from error
        except PersistenceError as error:
            raise StorageUnavailableError(f"cannot store events: {error}") from error
        return positions or []

    def _check_duplicate(self, event: Event) -> None:
        held = self.read(event.feed, event.seq - 1, 1)
        if held and held[0].id != event.id:
            raise ForkError(
                f"a second event for {event.feed} seq {event.seq}", event_id=event.id
            )

    def _stored_head(self, feed: FeedId) -> Event | None:
        rows = self.recorder.select_events(feed, desc=True, limit=1)
        return _decode(rows[0].state, None) if rows else None

    def _cached_head(self, feed: FeedId) -> Event | None:
        head = self._stored_head(feed)
        if head is not None and self.REMEMBERS_HEADS:
            self._heads[feed] = head
        return head

    def head(self, feed: FeedId) -> Event | None:
        """The last event held of a feed (without its body), or None.

        Safe from any thread: it never writes the writer's cache.
        """
        return self._heads.get(feed) or self._stored_head(feed)

    def read(self, feed: FeedId, after: int = 0, limit: int = 1000) -> list[Event]:
        """Events of a feed with ``seq > after``, bodies included where held."""
        rows = self._rows(
            _SELECT + "WHERE e.originator_id = ? AND e.originator_version > ? "
            "ORDER BY e.originator_version LIMIT ?",
            (feed, after, limit),
        )
        return [_decode(row["header"], row["body"]) for row in rows]

    def read_lines(
        self, feed: FeedId, after: int = 0, limit: int = 1000
    ) -> list[bytes]:
        """Like :meth:`read`, as canonical wire text, without parsing."""
        rows = self._rows(
            "SELECT e.state AS header, b.body AS body FROM stored_events e "
            "LEFT JOIN bodies b ON b.feed = e.originator_id "
            "AND b.seq = e.originator_version WHERE e.originator_id = ? "
            "AND e.originator_version > ? ORDER BY e.originator_version LIMIT ?",
            (feed, after, limit),
        )
        return [wire_line(row["header"], row["body"]) for row in rows]

    def get(self, event_id: str) -> Event | None:
        """The event with this id, if held."""
        rows = self._rows(
            _SELECT + "JOIN event_ids i ON i.feed = e.originator_id "
            "AND i.seq = e.originator_version WHERE i.id = ?",
            (event_id,),
        )
        return _decode(rows[0]["header"], rows[0]["body"]) if rows else None

    def heads(self) -> dict[FeedId, int]:
        """The head seq of every feed held."""
        rows = self._rows(
            "SELECT originator_id, MAX(originator_version) AS seq "
            "FROM stored_events GROUP BY originator_id",
            (),
        )
        return {FeedId(row["originator_id"]): row["seq"] for row in rows}

    def log(self, after: int, limit: int) -> list[Logged]:
        """Events in the order this node stored them, after ``after``."""
        rows = self._rows(
            _SELECT + "WHERE e.rowid > ? ORDER BY e.rowid LIMIT ?", (after, limit)
        )
        return [
            Logged(row["position"], _decode(row["header"], row["body"])) for row in rows
        ]

    def max_position(self) -> int:
        """The position of the last event stored, 0 when none."""
        return self.recorder.max_notification_id() or 0

    def iter_all(self, batch: int = 1000) -> Iterator[Logged]:
        """Every event held, in log order (for export and verify)."""
        after = 0
        while page := self.log(after, batch):
            yield from page
            after = page[-1].position

    def iter_stored(self, batch: int = 1000) -> Iterator[StoredRow]:
        """Every stored row, by feed then seq, exactly as on disk (for ``verify``)."""
        feed, seq = "", 0
        while True:
            rows = self._rows(
                "SELECT e.originator_id AS feed, e.originator_version AS seq, "
                "e.state AS header, b.body AS body FROM stored_events e "
                "LEFT JOIN bodies b ON b.feed = e.originator_id "
                "AND b.seq = e.originator_version "
                "WHERE (e.originator_id, e.originator_version) > (?, ?) "
                "ORDER BY e.originator_id, e.originator_version LIMIT ?",
                (feed, seq, batch),
            )
            if not rows:
                return
            for row in rows:
                yield StoredRow(row["feed"], row["seq"], row["header"], row["body"])
            feed, seq = rows[-1]["feed"], rows[-1]["seq"]

    def redacted_ids(self) -> set[str]:
        """Ids of events whose bodies a redaction in their own feed removed."""
        rows = self._rows("SELECT target FROM redactions", ())
        return {row["target"] for row in rows}

    def close(self) -> None:
        """Close the database connections."""
        self.app.close()


@dataclass(frozen=True, slots=True)
class StoredRow:
    """One stored event as on disk: its key, signed header and body bytes."""

    feed: str
    seq: int
    header: bytes
    body: bytes | None


def _make_commits_durable(recorder: FeedRecorder) -> None:
    """Open every connection with ``synchronous=FULL``.

    A publish is answered after its commit, so the commit must be on disk.
    eventsourcing keeps SQLite's compiled-in default, which may be lower, and
    the level cannot be changed inside a transaction: set it per connection.
    """
    pool = recorder.datastore.pool
    create = pool._create_connection

    def create_durable() -> Any:
        connection = create()
        connection._sqlite_conn.execute("PRAGMA synchronous = FULL")
        return connection

    pool._create_connection = create_durable  # type: ignore[method-assign]


def _decode(header: bytes, body: bytes | None) -> Event:
    # Stored headers were verified before they were stored: parse, don't re-check.
    return event_from_stored(
        orjson.loads(header), None if body is None else orjson.loads(body)
    )


def wire_line(header: bytes, body: bytes | None) -> bytes:
    """Splice a stored signed header and body into canonical wire text.

    ``body`` sorts before every header key, so the canonical wire object is
    ``{"body":`` + body + ``,`` + the header's members.
    """
    if body is None:
        return header
    return b'{"body":' + body + b"," + header[1:]


def positions_of(logged: Iterable[Logged]) -> list[int]:
    """The positions of logged events (a convenience for callers and tests)."""
    return [item.position for item in logged]
