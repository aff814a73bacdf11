"""Moving a node from its SQLite files to PostgreSQL (``tredegar migrate``).

A copy that proves itself, in this order (``docs/operating.md#moving-to-postgresql``):

1. **Checks first, nothing copied.** The node must be on SQLite, the target
   URL must parse, and the target schema must hold no node (its tables are
   created, empty, when missing). Then every stored event is re-verified
   exactly as ``tredegar verify`` does (signature, body hash, canonical
   header, chain, redactions): an event that fails stops the migration with
   the event named, before anything is copied.
2. **Events, in the order this node stored them**, in batches through
   :meth:`PostgresFeedStore.append`, which checks contiguity and ``prev``
   again and applies redactions in the same transaction. A redacted event
   travels without its body, and the redaction it names is recorded again,
   so a body a redaction deleted can never come back. Afterwards the heads
   and counts of both sides must agree.
3. **Private data verbatim**: eventsourcing's stored events of
   ``PrivateData`` (same ids, versions, topics and encrypted state, so the
   same ``private.key`` opens them) and the ``member_keys`` and
   ``casework_keys`` rows.
4. **Federation state**: peers, blocks, fork proofs and ``meta``. The epoch
   (part of every heads cursor peers hold) is kept only when every event kept
   its log position; otherwise a new one makes peers ask for every head once,
   rather than skip changes after a stale position.
5. **Read models**, rebuilt on PostgreSQL from the copied log, as
   ``tredegar reindex`` does.

The source is only read. If anything fails after the target was written to,
the tables filled here are emptied again, so a retry finds an empty target.
The caller holds the data directory's lock, so no node runs meanwhile.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Protocol

from eventsourcing.persistence import StoredEvent

from node.config import Settings
from node.errors import (
    ConfigError,
    ConflictError,
    NodeError,
    NotFoundError,
    StorageUnavailableError,
)
from node.projections import Projector, ReadModels
from node.services.setup import FEEDS_DB
from node.services.validation import body_validator
from node.services.verification import Problem, verify_store
from node.storage.backend import is_postgres, postgres_target
from node.storage.feeds import Logged, SqliteFeedStore
from node.storage.feeds_pg import PostgresFeedStore
from node.storage.private import PrivateData
from node.storage.private.app import open_application
from node.storage.private.casework_keys import RecordKeys
from node.storage.private.vault import Vault
from node.storage.sqldb import SqlAccess
from protocol import ProtocolError

__all__ = [
    "MigrationCounts",
    "Progress",
    "UnverifiedSourceError",
    "check_source",
    "migrate",
]

logger = logging.getLogger(__name__)

#: Events per append (one transaction each), and private events per insert.
BATCH = 1000
#: Our tables beside the feed store's events, copied or filled by the copy.
FEED_TABLES = ("bodies", "event_ids", "redactions")
FEDERATION_TABLES = ("peers", "blocks", "forks", "meta")
KEY_TABLES = ("member_keys", "casework_keys")
#: eventsourcing's table of private data on PostgreSQL.
PRIVATE_EVENTS = "privatedata_events"
#: Problems named in the error when the source fails verification.
NAMED_PROBLEMS = 10


@dataclass(frozen=True, slots=True)
class MigrationCounts:
    """What was copied, and how long it took."""

    events: int
    bodies: int
    redactions: int
    private_records: int
    member_keys: int
    casework_keys: int
    peers: int
    blocks: int
    forks: int
    seconds: float


class Progress(Protocol):
    """Where the copy reports its stages and progress (a progress bar)."""

    def stage(self, name: str, total: int | None) -> None:
        """A new stage begins, of ``total`` items when known."""

    def advance(self, count: int) -> None:
        """``count`` more items of the current stage are done."""


class _Quiet:
    def stage(self, name: str, total: int | None) -> None:
        """Report nothing."""

    def advance(self, count: int) -> None:
        """Report nothing."""


class UnverifiedSourceError(NodeError):
    """A stored event of the SQLite node fails verification; nothing was copied."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        """Name the problems found (feed, seq, code and message of each)."""
        super().__init__(message)
        self.problems = list(problems)


def check_source(settings: Settings) -> None:
    """Refuse a data directory that holds no SQLite node.

    Raises:
        ConflictError: The node is on PostgreSQL already.
        NotFoundError: There is no node in the data directory.
    """
    if is_postgres(settings):
        raise ConflictError(
            f"the node in {settings.data_dir} is on PostgreSQL already "
            "(database_url is set in tredegar.toml or TREDEGAR_DATABASE_URL)"
        )
    if not settings.key_path.exists() or not settings.path(FEEDS_DB).exists():
        raise NotFoundError(f"no node in {settings.data_dir}")


def migrate(
    settings: Settings, url: str, progress: Progress | None = None
) -> MigrationCounts:
    """Copy the SQLite node of ``settings`` into the PostgreSQL database at ``url``.

    The caller holds the data directory's lock; ``tredegar.toml`` is left to it.

    Args:
        settings: The node's settings (on SQLite).
        url: ``postgresql://user:password@host:port/dbname[?schema=NAME]``.
        progress: Where to report progress (nowhere by default).

    Returns:
        The counts of what was copied.

    Raises:
        ConfigError: ``url`` is not a usable PostgreSQL URL.
        ConflictError: The node is on PostgreSQL already, or the target
            already holds a node.
        NotFoundError: There is no node in the data directory.
        UnverifiedSourceError: A stored event fails verification.
        StorageUnavailableError: A database cannot be opened or written.
    """
    check_source(settings)
    postgres_target(url)  # a bad URL stops here, before anything is opened
    started = time.monotonic()
    target_settings = dataclasses.replace(settings, database_url=url)
    with ExitStack() as stack:
        copy = _Copy(settings, target_settings, progress or _Quiet(), stack)
        copy.verify_source()
        counts = copy.run()
    return dataclasses.replace(counts, seconds=round(time.monotonic() - started, 2))


class _Copy:
    """The open source and target stores, and each stage of the copy."""

    def __init__(
        self,
        source: Settings,
        target: Settings,
        progress: Progress,
        stack: ExitStack,
    ) -> None:
        self.progress = progress
        self.target_settings = target
        self.where = postgres_target(target.database_url).describe()
        self.source = SqliteFeedStore(source.path(FEEDS_DB))
        stack.callback(self.source.close)
        self.source_private, _ = open_application(source)
        stack.callback(self.source_private.close)
        self.source_keys = _sql(self.source_private)
        with self._opening():
            self.target = PostgresFeedStore(target)
        stack.callback(self.target.close)
        self._refuse_held(
            self.target.sql,
            (self.target.EVENTS_TABLE, *FEED_TABLES, *FEDERATION_TABLES),
        )
        with self._opening():
            self.target_private, node_key = open_application(target)
        stack.callback(self.target_private.close)
        Vault(self.target_private, node_key)  # creates member_keys
        RecordKeys(self.target_private, node_key)  # creates casework_keys
        self.target_keys = _sql(self.target_private)
        self._refuse_held(self.target_keys, (PRIVATE_EVENTS, *KEY_TABLES))

    @contextmanager
    def _opening(self) -> Iterator[None]:
        """Name the target in a failure to open it; refuse another node's data."""
        try:
            yield
        except StorageUnavailableError as error:
            raise StorageUnavailableError(f"{self.where}: {error.message}") from error
        except ConfigError as error:  # the same key opened the source's data
            raise ConflictError(
                f"{self.where} already holds another node's private data: "
                "migrate into an empty schema (?schema=NAME) or database"
            ) from error

    def _refuse_held(self, sql: SqlAccess, tables: Sequence[str]) -> None:
        """Refuse a target whose tables hold rows.

        Raises:
            ConflictError: Some table holds rows.
        """
        held = [table for table in tables if _has_rows(sql, table)]
        if held:
            raise ConflictError(
                f"{self.where} already holds a node's data (in {', '.join(held)}): "
                "migrate into an empty schema (?schema=NAME) or database"
            )

    def verify_source(self) -> None:
        """Re-verify every stored event as ``tredegar verify`` does.

        Raises:
            UnverifiedSourceError: Any event fails; the message names the
                first few.
        """
        self.progress.stage("verifying", self.source.max_position())
        problems: list[Problem] = []
        checked = 0
        for item in verify_store(self.source):
            if isinstance(item, Problem):
                problems.append(item)
            else:
                self.progress.advance(item - checked)
                checked = item
        if problems:
            named = [
                f"feed {p.feed} seq {p.seq}: {p.code}: {p.message}"
                for p in problems[:NAMED_PROBLEMS]
            ]
            count = (
                "1 stored event fails"
                if len(problems) == 1
                else f"{len(problems)} stored events fail"
            )
            raise UnverifiedSourceError(
                f"{count} verification, so nothing was copied ('tredegar verify' "
                "lists every problem):\n" + "\n".join(named),
                problems,
            )

    def run(self) -> MigrationCounts:
        """Copy everything; on any failure, empty the target again."""
        try:
            events, positions_kept = self._copy_events()
            private = self._copy_private()
            keys = {
                t: _copy_table(self.source_keys, self.target_keys, t)
                for t in KEY_TABLES
            }
            federation = self._copy_federation(keep_epoch=positions_kept)
            self._rebuild_read_models()
        except BaseException:
            self._empty_target()
            raise
        return MigrationCounts(
            events=events,
            bodies=_count(self.target.sql, "bodies"),
            redactions=_count(self.target.sql, "redactions"),
            private_records=private,
            member_keys=keys["member_keys"],
            casework_keys=keys["casework_keys"],
            peers=federation["peers"],
            blocks=federation["blocks"],
            forks=federation["forks"],
            seconds=0.0,
        )

    def _copy_events(self) -> tuple[int, bool]:
        """Append every event in log order.

        Returns:
            How many events, and whether each kept its log position.
        """
        self.progress.stage("copying events", self.source.max_position())
        copied, positions_kept, after = 0, True, 0
        while page := self.source.log(after, BATCH):
            positions_kept &= self._append(page)
            copied += len(page)
            after = page[-1].position
            self.progress.advance(len(page))
        self._check_events_copied(copied)
        return copied, positions_kept

    def _append(self, page: list[Logged]) -> bool:
        try:
            stored = self.target.append([logged.event for logged in page])
        except ProtocolError as error:
            raise UnverifiedSourceError(
                f"the log after position {page[0].position - 1} does not chain: "
                f"{error.code}: {error.message}"
                + (f" (event {error.event_id})" if error.event_id else "")
            ) from error
        if len(stored) != len(page):
            raise ConflictError(f"{self.where} held some events already")
        return all(
            new.position == old.position for new, old in zip(stored, page, strict=True)
        )

    def _check_events_copied(self, copied: int) -> None:
        heads = self.source.heads()
        if self.target.heads() != heads or copied != _count(
            self.source.sql, "stored_events"
        ):
            raise ConflictError(f"the copy in {self.where} differs from the source")
        kept = _kept_bodies(self.source.sql)
        if _count(self.target.sql, "bodies") != kept:
            raise ConflictError(f"the bodies in {self.where} differ from the source")

    def _copy_private(self) -> int:
        """Insert every stored event of ``PrivateData`` as it is."""
        source = self.source_private.recorder
        self.progress.stage("copying private data", source.max_notification_id())
        copied, after = 0, 0
        while page := source.select_notifications(
            after, BATCH, inclusive_of_start=False
        ):
            self.target_private.recorder.insert_events(
                [
                    StoredEvent(n.originator_id, n.originator_version, n.topic, n.state)
                    for n in page
                ]
            )
            copied += len(page)
            after = page[-1].id
            self.progress.advance(len(page))
        held = _count(self.target_keys, PRIVATE_EVENTS)
        if held != copied or copied != _count(self.source_keys, "stored_events"):
            raise ConflictError(f"the private data in {self.where} differs")
        return copied

    def _copy_federation(self, *, keep_epoch: bool) -> dict[str, int]:
        copied = {
            table: _copy_table(self.source.sql, self.target.sql, table)
            for table in FEDERATION_TABLES
        }
        if not keep_epoch:
            self.target.sql.write("DELETE FROM meta WHERE key = 'epoch'")
            logger.info("log positions changed: the heads cursor epoch is renewed")
        return copied

    def _rebuild_read_models(self) -> None:
        readmodels = ReadModels.open(self.target_settings)
        try:
            readmodels.reset()
            projector = Projector(self.target, readmodels, body_validator())
            self.progress.stage("rebuilding read models", self.target.max_position())
            while count := projector.run_once():
                self.progress.advance(count)
        finally:
            readmodels.close()

    def _empty_target(self) -> None:
        """Empty what the copy wrote, so a retry finds an empty target.

        ``RESTART IDENTITY`` starts positions at 1 again: a retry then gives
        every event its old position, and peers' cursors stay valid.
        """
        feeds = (self.target.EVENTS_TABLE, *FEED_TABLES, *FEDERATION_TABLES)
        try:
            for sql, tables in (
                (self.target.sql, feeds),
                (self.target_keys, (PRIVATE_EVENTS, *KEY_TABLES)),
            ):
                sql.write(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
        except Exception:
            logger.exception(
                "could not empty %s after the failed copy: drop its schema (or "
                "its tables) before trying again",
                self.where,
            )


def _sql(app: PrivateData) -> SqlAccess:
    return SqlAccess(app.recorder.datastore)  # type: ignore[attr-defined]


def _has_rows(sql: SqlAccess, table: str) -> bool:
    return bool(sql.rows(f"SELECT 1 FROM {table} LIMIT 1"))  # noqa: S608


def _count(sql: SqlAccess, table: str) -> int:
    return int(sql.rows(f"SELECT COUNT(*) FROM {table}")[0][0])  # noqa: S608


def _kept_bodies(sql: SqlAccess) -> int:
    """Bodies of the source that no redaction names (the target keeps only those)."""
    rows = sql.rows(  # every join on a primary key: no scan per body
        "SELECT COUNT(*) FROM redactions r JOIN event_ids i ON i.id = r.target "
        "AND i.feed = r.feed JOIN bodies b ON b.feed = i.feed AND b.seq = i.seq"
    )
    return _count(sql, "bodies") - int(rows[0][0])


def _copy_table(source: SqlAccess, target: SqlAccess, table: str) -> int:
    """Copy every row of one of our tables as it is; return how many."""
    if not source.rows(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ):
        return 0  # an older node never made this table
    rows = source.rows(f"SELECT * FROM {table}")  # noqa: S608
    if not rows:
        return 0
    columns = list(rows[0].keys())
    statement = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    with target.transaction(commit=True) as c:
        c.executemany(statement, [tuple(row) for row in rows])
    return len(rows)
