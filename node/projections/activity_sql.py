"""Every SQL statement of the activity read model (SQLite, ``readmodels.db``).

One table, ``activity_reports``: a row per valid, unredacted
``group.activity_reported``, keyed by its own event id. The latest report of
a feed for a period (the highest ``seq`` among those held for the same
``starts_at`` and ``ends_at``) is chosen when a query reads them, so a
redacted report gives way to the one before it. Blocked feeds are left out
by the caller.
"""

from __future__ import annotations

from typing import Final

CREATE: Final = (
    "CREATE TABLE IF NOT EXISTS activity_reports ("
    "id TEXT PRIMARY KEY, "
    "position INTEGER NOT NULL, "
    "feed TEXT NOT NULL, "
    "seq INTEGER NOT NULL, "
    "ts INTEGER NOT NULL, "
    "starts_at INTEGER NOT NULL, "
    "ends_at INTEGER NOT NULL, "
    "counts TEXT NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS activity_reports_period "
    "ON activity_reports (feed, starts_at, ends_at, seq)",
)
DROP: Final = ("DROP TABLE IF EXISTS activity_reports",)
INSERT: Final = (
    "INSERT OR REPLACE INTO activity_reports VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
DELETE: Final = "DELETE FROM activity_reports WHERE id = ? AND feed = ?"
#: A feed's latest report per period, latest period first, after a cursor
#: ``(:starts_at, :ends_at)`` (the first page passes ones past every period).
LATEST: Final = (
    "SELECT id, seq, ts, starts_at, ends_at, counts FROM activity_reports AS a "
    "WHERE feed = :feed AND (starts_at, ends_at) < (:starts_at, :ends_at) "
    "AND seq = (SELECT MAX(seq) FROM activity_reports AS b WHERE b.feed = a.feed "
    "AND b.starts_at = a.starts_at AND b.ends_at = a.ends_at) "
    "ORDER BY starts_at DESC, ends_at DESC LIMIT :limit"
)
