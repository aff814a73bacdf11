"""Every SQL statement of the pledges read model (SQLite, ``readmodels.db``).

Two tables. ``pledge_targets`` holds one row per valid, unredacted
``pledge.target_set`` (its event id is the target's id). ``pledge_reports``
holds every valid ``pledge.totals_reported``, keyed by its own event id and
indexed by the target it names, whether or not that target is held yet; the
latest report of each feed (by ``seq``: one feed's own order) is found when a
query reads them, so arrival order never matters and a redacted report lets
the one before it count again. Blocked feeds arrive as a JSON array parameter
(``:blocked``), the time as ``:now``. Some statements are put together from
the constant fragments beside them (hence ``noqa: S608``); none from input.
"""

from __future__ import annotations

from typing import Final

CREATE: Final = (
    "CREATE TABLE IF NOT EXISTS pledge_targets ("
    "id TEXT PRIMARY KEY, "
    "position INTEGER NOT NULL, "
    "feed TEXT NOT NULL, "
    "ts INTEGER NOT NULL, "
    "title TEXT NOT NULL, "
    "kind TEXT NOT NULL, "
    "subject TEXT, "
    "text TEXT, "
    "target_pence INTEGER, "
    "target_hours INTEGER, "
    "skills TEXT NOT NULL, "
    "closes_at INTEGER, "
    "replaces TEXT, "
    "match_text TEXT NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS pledge_targets_order ON pledge_targets (ts, id)",
    "CREATE INDEX IF NOT EXISTS pledge_targets_replaces ON pledge_targets (replaces)",
    "CREATE INDEX IF NOT EXISTS pledge_targets_subject ON pledge_targets (subject)",
    "CREATE TABLE IF NOT EXISTS pledge_reports ("
    "id TEXT PRIMARY KEY, "
    "position INTEGER NOT NULL, "
    "feed TEXT NOT NULL, "
    "seq INTEGER NOT NULL, "
    "target TEXT NOT NULL, "
    "ts INTEGER NOT NULL, "
    "pledgers INTEGER NOT NULL, "
    "total_pence INTEGER, "
    "total_hours INTEGER, "
    "skills TEXT) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS pledge_reports_target "
    "ON pledge_reports (target, feed, seq)",
)
DROP: Final = (
    "DROP TABLE IF EXISTS pledge_targets",
    "DROP TABLE IF EXISTS pledge_reports",
)
INSERT_TARGET: Final = (
    "INSERT OR REPLACE INTO pledge_targets VALUES (:id, :position, :feed, :ts, "
    ":title, :kind, :subject, :text, :target_pence, :target_hours, :skills, "
    ":closes_at, :replaces, :match_text)"
)
INSERT_REPORT: Final = (
    "INSERT OR REPLACE INTO pledge_reports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
DELETE_TARGET: Final = "DELETE FROM pledge_targets WHERE id = ? AND feed = ?"
DELETE_REPORT: Final = "DELETE FROM pledge_reports WHERE id = ? AND feed = ?"

_NOT_BLOCKED = "NOT IN (SELECT value FROM json_each(:blocked))"
#: The latest target of the same feed that replaces target ``t``.
_REPLACED_BY = (
    "(SELECT r.id FROM pledge_targets AS r WHERE r.replaces = t.id "
    "AND r.feed = t.feed ORDER BY r.ts DESC, r.id DESC LIMIT 1)"
)
_TARGETS = (
    f"SELECT t.*, {_REPLACED_BY} AS replaced_by, "  # noqa: S608
    "g.name AS group_name FROM pledge_targets AS t "
    f"LEFT JOIN groups AS g ON g.feed = t.feed WHERE t.feed {_NOT_BLOCKED}"
)
#: A target is closed once replaced or once ``closes_at`` has come.
_STATUS = (
    "CASE WHEN replaced_by IS NOT NULL "
    "OR (closes_at IS NOT NULL AND closes_at <= :now) THEN 'closed' ELSE 'open' END"
)
#: A page of targets, newest first (``ts``, then ``id``, both descending).
LIST_TARGETS: Final = (
    f"SELECT * FROM (SELECT *, {_STATUS} AS status FROM ({_TARGETS} "  # noqa: S608
    "AND (t.ts < :after_ts OR (t.ts = :after_ts AND t.id < :after_id)) "
    "AND (:feed IS NULL OR t.feed = :feed) "
    "AND (:subject IS NULL OR t.subject = :subject) "
    "AND (:kind IS NULL OR t.kind = :kind) "
    "AND NOT EXISTS (SELECT 1 FROM json_each(:words) AS w "
    "WHERE instr(t.match_text, w.value) = 0))) "
    "WHERE (:status IS NULL OR status = :status) "
    "ORDER BY ts DESC, id DESC LIMIT :limit"
)
GET_TARGET: Final = f"SELECT *, {_STATUS} AS status FROM ({_TARGETS} AND t.id = :id)"  # noqa: S608
#: The latest report of each feed towards a target, none of a blocked feed,
#: with the group's name; by feed.
LATEST_REPORTS: Final = (
    "SELECT r.*, g.name AS group_name FROM pledge_reports AS r "  # noqa: S608
    "LEFT JOIN groups AS g ON g.feed = r.feed "
    f"WHERE r.target = :target AND r.feed {_NOT_BLOCKED} "
    "AND r.seq = (SELECT MAX(l.seq) FROM pledge_reports AS l "
    "WHERE l.target = r.target AND l.feed = r.feed) ORDER BY r.feed"
)
#: What a target's subject is: its type, feed and title, when held and
#: projected (not redacted, valid), and not of a blocked feed.
SUBJECT: Final = (
    "SELECT type, feed, json_extract(wire, '$.body.title') AS title "  # noqa: S608
    f"FROM events WHERE id = :id AND is_projected = 1 AND feed {_NOT_BLOCKED}"
)
