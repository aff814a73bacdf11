"""The SQL of the meetings and tours read models, for SQLite (``readmodels.db``).

Every row that refers to a meeting (an update, a cancellation, a change of
one occurrence, an agenda item, a count, minutes) or a tour is kept under
the referenced id, whether or not the referenced event is held yet: who may
refer to what is decided when the model is read, so events arriving by sync
in any order give the same answers. ``meetings`` holds each meeting as its
latest version by its own feed: written from the scheduling, replaced by each
later update of its own feed, and rebuilt from ``meeting_versions`` only when
a redaction removes a version. Coordinates are integer micro-degrees in
columns (``lat_e6``, ``lon_e6``, on meetings and on occurrence changes) so a
"near" listing narrows by a box in SQL.
Statements use sqlite3 parameters; nothing here is built from user input.
"""

from __future__ import annotations

from typing import Final

#: Tables holding rows keyed by the event that made them, in the order
#: a redaction looks them up.
REFERRING_TABLES: Final = (
    "meeting_cancellations",
    "meeting_changes",
    "meeting_agenda",
    "meeting_counts",
    "meeting_minutes",
)

CREATE: Final = (
    "CREATE TABLE IF NOT EXISTS meeting_versions ("
    "event_id TEXT PRIMARY KEY, meeting TEXT NOT NULL, feed TEXT NOT NULL, "
    "seq INTEGER NOT NULL, ts INTEGER NOT NULL, body TEXT NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS meeting_versions_meeting "
    "ON meeting_versions (meeting, seq)",
    "CREATE TABLE IF NOT EXISTS meetings ("
    "id TEXT PRIMARY KEY, feed TEXT NOT NULL, seq INTEGER NOT NULL, "
    "ts INTEGER NOT NULL, created_ts INTEGER NOT NULL, revision INTEGER NOT NULL, "
    "body TEXT NOT NULL, kind TEXT NOT NULL, starts_at INTEGER NOT NULL, "
    "last_ends_at INTEGER, tour TEXT, network TEXT, campaign TEXT, "
    "lat_e6 INTEGER, lon_e6 INTEGER, tags TEXT NOT NULL, cohosts TEXT NOT NULL, "
    "match_text TEXT NOT NULL) WITHOUT ROWID",
    # Listings walk meetings by (start, id) from this index, and a "near"
    # listing tests its box on the index's coordinates.
    "CREATE INDEX IF NOT EXISTS meetings_starts_at "
    "ON meetings (starts_at, id, lat_e6, lon_e6)",
    "CREATE INDEX IF NOT EXISTS meetings_tour ON meetings (tour)",
    "CREATE INDEX IF NOT EXISTS meetings_feed ON meetings (feed)",
    "CREATE TABLE IF NOT EXISTS meeting_cancellations ("
    "event_id TEXT PRIMARY KEY, meeting TEXT NOT NULL, feed TEXT NOT NULL, "
    "seq INTEGER NOT NULL, reason TEXT) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS meeting_cancellations_meeting "
    "ON meeting_cancellations (meeting)",
    "CREATE TABLE IF NOT EXISTS meeting_changes ("
    "event_id TEXT PRIMARY KEY, meeting TEXT NOT NULL, feed TEXT NOT NULL, "
    "seq INTEGER NOT NULL, occurrence INTEGER NOT NULL, change TEXT NOT NULL, "
    "starts_at INTEGER, ends_at INTEGER, body TEXT NOT NULL, "
    "lat_e6 INTEGER, lon_e6 INTEGER) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS meeting_changes_meeting ON meeting_changes (meeting)",
    "CREATE INDEX IF NOT EXISTS meeting_changes_starts ON meeting_changes (starts_at)",
    "CREATE INDEX IF NOT EXISTS meeting_changes_at ON meeting_changes (lat_e6, lon_e6)",
    "CREATE TABLE IF NOT EXISTS meeting_agenda ("
    "event_id TEXT PRIMARY KEY, meeting TEXT NOT NULL, feed TEXT NOT NULL, "
    "seq INTEGER NOT NULL, ts INTEGER NOT NULL, occurrence INTEGER, "
    "title TEXT NOT NULL, text TEXT, duration_minutes INTEGER) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS meeting_agenda_meeting ON meeting_agenda (meeting)",
    "CREATE TABLE IF NOT EXISTS meeting_counts ("
    "event_id TEXT PRIMARY KEY, meeting TEXT NOT NULL, feed TEXT NOT NULL, "
    "seq INTEGER NOT NULL, occurrence INTEGER, yes INTEGER NOT NULL, "
    "maybe INTEGER NOT NULL, no INTEGER NOT NULL, attended INTEGER) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS meeting_counts_meeting ON meeting_counts (meeting)",
    "CREATE TABLE IF NOT EXISTS meeting_minutes ("
    "event_id TEXT PRIMARY KEY, meeting TEXT NOT NULL, feed TEXT NOT NULL, "
    "seq INTEGER NOT NULL, occurrence INTEGER, text TEXT NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS meeting_minutes_meeting ON meeting_minutes (meeting)",
)
DROP: Final = tuple(
    f"DROP TABLE IF EXISTS {table}"
    for table in ("meeting_versions", "meetings", *REFERRING_TABLES)
)

INSERT_VERSION: Final = (
    "INSERT OR IGNORE INTO meeting_versions VALUES (?, ?, ?, ?, ?, ?)"
)
#: The versions of a meeting: its own scheduling first, then by seq.
SELECT_VERSIONS: Final = (
    "SELECT event_id, feed, seq, ts, body FROM meeting_versions "
    "WHERE meeting = ? ORDER BY seq"
)
REDACT_VERSION: Final = (
    "DELETE FROM meeting_versions WHERE event_id = ? AND feed = ? RETURNING meeting"
)
UPSERT_MEETING: Final = (
    "INSERT OR REPLACE INTO meetings VALUES (:id, :feed, :seq, :ts, :created_ts, "
    ":revision, :body, :kind, :starts_at, :last_ends_at, :tour, :network, "
    ":campaign, :lat_e6, :lon_e6, :tags, :cohosts, :match_text)"
)
#: A later version by the meeting's own feed replaces its row. A feed stores
#: its events in seq order and an update names its meeting's id (a hash of
#: the scheduling), so a feed's updates of a meeting arrive after it, in seq
#: order; the ``seq`` condition keeps a replay from counting twice.
UPDATE_MEETING: Final = (
    "UPDATE meetings SET seq = :seq, ts = :ts, revision = revision + 1, "
    "body = :body, kind = :kind, starts_at = :starts_at, "
    "last_ends_at = :last_ends_at, tour = :tour, network = :network, "
    "campaign = :campaign, lat_e6 = :lat_e6, lon_e6 = :lon_e6, tags = :tags, "
    "cohosts = :cohosts, match_text = :match_text "
    "WHERE id = :id AND feed = :feed AND seq < :seq"
)
DELETE_MEETING: Final = "DELETE FROM meetings WHERE id = ?"

INSERT_CANCELLATION: Final = (
    "INSERT OR IGNORE INTO meeting_cancellations VALUES (?, ?, ?, ?, ?)"
)
INSERT_CHANGE: Final = (
    "INSERT OR IGNORE INTO meeting_changes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_AGENDA: Final = (
    "INSERT OR IGNORE INTO meeting_agenda VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_COUNT: Final = (
    "INSERT OR IGNORE INTO meeting_counts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_MINUTES: Final = (
    "INSERT OR IGNORE INTO meeting_minutes VALUES (?, ?, ?, ?, ?, ?)"
)
#: Redacting a referring row: one statement per table of REFERRING_TABLES.
REDACT_REFERRING: Final = (
    "DELETE FROM meeting_cancellations WHERE event_id = ? AND feed = ?",
    "DELETE FROM meeting_changes WHERE event_id = ? AND feed = ?",
    "DELETE FROM meeting_agenda WHERE event_id = ? AND feed = ?",
    "DELETE FROM meeting_counts WHERE event_id = ? AND feed = ?",
    "DELETE FROM meeting_minutes WHERE event_id = ? AND feed = ?",
)

# -- queries -------------------------------------------------------------------

#: Meetings that may have an occurrence overlapping [:start, :end), not
#: cancelled by their own feed, with the filters that live in columns. Text,
#: feeds, tags and distance are checked in Python on these candidates. A NULL
#: filter matches everything.
_CANDIDATE_FILTERS = (
    "NOT EXISTS (SELECT 1 FROM meeting_cancellations AS c "
    "WHERE c.meeting = m.id AND c.feed = m.feed) "
    "AND ((m.starts_at < :end AND (m.last_ends_at IS NULL "
    "OR m.last_ends_at > :start)) OR EXISTS (SELECT 1 FROM meeting_changes AS x "
    "WHERE x.meeting = m.id AND x.feed = m.feed AND x.starts_at < :end "
    "AND x.ends_at > :start)) "
    "AND (:kind IS NULL OR m.kind = :kind) "
    "AND (:network IS NULL OR m.network = :network) "
    "AND (:tour IS NULL OR m.tour = :tour) "
    "AND (:campaign IS NULL OR m.campaign = :campaign) "
)
#: The candidates by (start, id) after a key, a chunk at a time; with
#: ``:near``, only those whose own place lies in the box (the caller checks
#: the radius). Every occurrence of such a meeting starts at or after its own
#: start unless a change moves it (:data:`SHIFTED`).
#: Joined from constants only (no input ever reaches SQL text), hence noqa.
CANDIDATES: Final = (
    "SELECT m.* FROM meetings AS m "  # noqa: S608
    "WHERE (m.starts_at, m.id) > (:after_start, :after_id) AND "
    + _CANDIDATE_FILTERS
    + "AND (:near = 0 OR (m.lat_e6 BETWEEN :min_lat AND :max_lat "
    "AND m.lon_e6 BETWEEN :min_lon AND :max_lon)) "
    "ORDER BY m.starts_at, m.id LIMIT :limit"
)
#: The candidates a change may list out of start order: a change moving an
#: occurrence into the window (perhaps before the meeting's own start), or
#: placing one in the box (an empty box when not ``:near``). Changes are few,
#: so these are read whole, from the changes' indexes.
SHIFTED: Final = (
    "SELECT m.* FROM meetings AS m WHERE "  # noqa: S608
    "(m.id IN (SELECT y.meeting FROM meeting_changes AS y WHERE y.starts_at < :end "
    "AND (y.ends_at > :start OR y.starts_at >= :start)) "
    "OR m.id IN (SELECT z.meeting FROM meeting_changes AS z "
    "WHERE z.lat_e6 BETWEEN :min_lat AND :max_lat "
    "AND z.lon_e6 BETWEEN :min_lon AND :max_lon)) AND "
    + _CANDIDATE_FILTERS
    + "ORDER BY m.starts_at, m.id LIMIT :limit"
)
GET_MEETING: Final = "SELECT * FROM meetings WHERE id = ?"
GET_CANCELLATION: Final = (
    "SELECT reason FROM meeting_cancellations WHERE meeting = ? AND feed = ? "
    "ORDER BY seq LIMIT 1"
)
#: The rows of a referring table for the meetings of a JSON array of ids.
IN_MEETINGS: Final = {
    table: f"SELECT * FROM {table} WHERE meeting IN "  # noqa: S608 (fixed names)
    "(SELECT value FROM json_each(?)) ORDER BY seq"
    for table in REFERRING_TABLES
}
#: The names of the groups of a JSON array of feed ids.
GROUP_NAMES: Final = (
    "SELECT feed, name FROM groups WHERE feed IN (SELECT value FROM json_each(?))"
)


# -- tours ---------------------------------------------------------------------

CREATE_TOURS: Final = (
    "CREATE TABLE IF NOT EXISTS tours ("
    "id TEXT PRIMARY KEY, feed TEXT NOT NULL, seq INTEGER NOT NULL, "
    "ts INTEGER NOT NULL, body TEXT NOT NULL, starts_at INTEGER NOT NULL, "
    "ends_at INTEGER NOT NULL, match_text TEXT NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS tours_starts ON tours (starts_at, id)",
)
DROP_TOURS: Final = ("DROP TABLE IF EXISTS tours",)
INSERT_TOUR: Final = "INSERT OR IGNORE INTO tours VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
REDACT_TOUR: Final = "DELETE FROM tours WHERE id = ? AND feed = ?"
GET_TOUR: Final = "SELECT * FROM tours WHERE id = ?"
#: Tours ending at or after :start, by start, after the (starts_at, id) cursor.
LIST_TOURS: Final = (
    "SELECT * FROM tours WHERE ends_at >= :start "
    "AND (starts_at, id) > (:after_start, :after_id) "
    "ORDER BY starts_at, id LIMIT :limit"
)
