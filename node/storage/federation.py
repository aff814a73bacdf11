"""What a node keeps about the network: peers, blocks and fork proofs.

These tables live in ``feeds.db`` beside the feeds (created by
``FeedRecorder``): they are operational state, public at most, never private
data. The command line writes them while the node runs (``tredegar peers
add``, ``block``), and the sync loop reads them every round, so a change takes
effect without a restart.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from protocol import Event, FeedId, ForkProof, canonical, event_from_wire

if TYPE_CHECKING:
    from node.storage.sqldb import SqlAccess

__all__ = ["FEDERATION_TABLES", "Block", "FederationState", "PeerState"]

FEDERATION_TABLES = (
    "CREATE TABLE IF NOT EXISTS peers (url TEXT PRIMARY KEY, feed TEXT, "
    "origin TEXT NOT NULL, added_at INTEGER NOT NULL, last_seen INTEGER, "
    "last_error TEXT, failures INTEGER NOT NULL DEFAULT 0, "
    "next_attempt INTEGER NOT NULL DEFAULT 0, cursor TEXT) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS blocks (value TEXT PRIMARY KEY, kind TEXT NOT NULL, "
    "at INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) "
    "WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS forks (feed TEXT, seq INTEGER, first BLOB NOT NULL, "
    "second BLOB NOT NULL, found_at INTEGER NOT NULL, PRIMARY KEY (feed, seq)) "
    "WITHOUT ROWID",
)

#: Who added a peer: the operator (always tried, never forgotten) or the network.
OPERATOR = "operator"
LEARNED = "learned"


@dataclass(frozen=True, slots=True)
class PeerState:
    """One peer as this node knows it."""

    url: str
    feed: str | None
    origin: str
    added_at: int
    last_seen: int | None
    last_error: str | None
    failures: int
    next_attempt: int
    cursor: str | None


@dataclass(frozen=True, slots=True)
class Block:
    """A feed or a peer URL the operator blocked."""

    value: str
    kind: str
    at: int


class FederationState:
    """Reads and writes the federation tables (blocking; call from a thread)."""

    def __init__(self, sql: SqlAccess) -> None:
        """Use the feed store's database (same file, same connections)."""
        self._sql = sql

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        return self._sql.rows(sql, params)

    def _write(self, sql: str, params: Sequence[object] = ()) -> int:
        return self._sql.write(sql, params)

    def epoch(self) -> str:
        """A random name for this database, made once: part of every heads cursor.

        A cursor from another database (a restored or replaced node) is then
        recognised as foreign and answered with every head.
        """
        rows = self._rows("SELECT value FROM meta WHERE key = 'epoch'")
        if rows:
            return str(rows[0][0])
        self._write(
            "INSERT OR IGNORE INTO meta VALUES ('epoch', ?)",
            (secrets.token_hex(6),),
        )
        return str(self._rows("SELECT value FROM meta WHERE key = 'epoch'")[0][0])

    def renew_epoch(self) -> str:
        """Give the database a new epoch (after a restore), voiding old cursors.

        A restored log starts again from an older position; a peer's cursor
        from the original database could otherwise become valid again and
        skip what changed in between.
        """
        self._write("DELETE FROM meta WHERE key = 'epoch'")
        return self.epoch()

    # --- peers -------------------------------------------------------------

    def add_peer(self, url: str, *, origin: str, now: int) -> bool:
        """Remember a peer; an operator's add also revives a learned one.

        Returns:
            True when the peer is new.
        """
        if origin == OPERATOR:
            changed = self._write(
                "UPDATE peers SET origin = ?, failures = 0, next_attempt = 0 "
                "WHERE url = ?",
                (OPERATOR, url),
            )
            if changed:
                return False
        return bool(
            self._write(
                "INSERT OR IGNORE INTO peers (url, origin, added_at) VALUES (?, ?, ?)",
                (url, origin, now),
            )
        )

    def remove_peer(self, url: str) -> bool:
        """Forget a peer."""
        return bool(self._write("DELETE FROM peers WHERE url = ?", (url,)))

    def peers(self) -> list[PeerState]:
        """Every peer, operator's first."""
        rows = self._rows("SELECT * FROM peers ORDER BY origin DESC, url")
        return [PeerState(**dict(row)) for row in rows]

    def peer(self, url: str) -> PeerState | None:
        """One peer by URL."""
        rows = self._rows("SELECT * FROM peers WHERE url = ?", (url,))
        return PeerState(**dict(rows[0])) if rows else None

    def count_learned(self) -> int:
        """How many peers the network taught us."""
        return int(
            self._rows("SELECT COUNT(*) FROM peers WHERE origin = ?", (LEARNED,))[0][0]
        )

    def peer_succeeded(
        self, url: str, *, now: int, feed: str | None = None, cursor: str | None = None
    ) -> None:
        """Record a good round: reset failures, keep the cursor and feed."""
        self._write(
            "UPDATE peers SET last_seen = ?, failures = 0, next_attempt = 0, "
            "last_error = NULL, cursor = COALESCE(?, cursor), feed = COALESCE(?, feed) "
            "WHERE url = ?",
            (now, cursor, feed, url),
        )

    def peer_failed(self, url: str, *, error: str, next_attempt: int) -> int:
        """Record a failed round; return the number of failures in a row."""
        self._write(
            "UPDATE peers SET failures = failures + 1, last_error = ?, "
            "next_attempt = ? WHERE url = ?",
            (error[:500], next_attempt, url),
        )
        state = self.peer(url)
        return state.failures if state else 0

    def reset_cursor(self, url: str) -> None:
        """Make the next round ask a peer for every head again."""
        self._write("UPDATE peers SET cursor = NULL WHERE url = ?", (url,))

    # --- blocks ------------------------------------------------------------

    def block(self, value: str, kind: str, *, now: int) -> bool:
        """Block a feed or a peer URL (kept across restarts)."""
        return bool(
            self._write(
                "INSERT OR IGNORE INTO blocks VALUES (?, ?, ?)", (value, kind, now)
            )
        )

    def unblock(self, value: str) -> bool:
        """Undo a block; every peer is then asked for all its heads again.

        While a feed was blocked its changes were skipped but the peers'
        cursors moved on, so only a full heads answer names it again.
        """
        removed = bool(self._write("DELETE FROM blocks WHERE value = ?", (value,)))
        if removed:
            self._write("UPDATE peers SET cursor = NULL")
        return removed

    def blocks(self) -> list[Block]:
        """Every block."""
        return [Block(**dict(row)) for row in self._rows("SELECT * FROM blocks")]

    def blocked(self) -> frozenset[str]:
        """The blocked feeds and URLs."""
        return frozenset(row[0] for row in self._rows("SELECT value FROM blocks"))

    # --- forks -------------------------------------------------------------

    def record_fork(self, first: Event, second: Event, *, now: int) -> bool:
        """Keep a fork proof (both events whole); return True when new."""
        return bool(
            self._write(
                "INSERT OR IGNORE INTO forks VALUES (?, ?, ?, ?, ?)",
                (first.feed, first.seq, first.wire_bytes(), second.wire_bytes(), now),
            )
        )

    def forks(self) -> list[ForkProof]:
        """Every fork proof held."""
        proofs = []
        for row in self._rows("SELECT first, second FROM forks ORDER BY feed, seq"):
            first = event_from_wire(canonical.decode(row[0]))
            second = event_from_wire(canonical.decode(row[1]))
            proofs.append(ForkProof(first.feed, first.seq, first, second))
        return proofs

    def frozen_feeds(self) -> dict[FeedId, int]:
        """Feeds with a fork proof, and the seq each is frozen before."""
        rows = self._rows("SELECT feed, MIN(seq) FROM forks GROUP BY feed")
        return {FeedId(row[0]): int(row[1]) for row in rows}
