"""Every SQL statement of the read models, for SQLite (``readmodels.db``).

The models' Python (:mod:`.events`, :mod:`.groups`, :mod:`.search`) holds no
SQL text: it runs these statements, so a PostgreSQL version of the read models
replaces this module (FTS5 becoming ``tsvector``) and keeps the rest. Statements
use sqlite3's ``?`` and ``:name`` parameters; nothing here is ever built from
user input.

The domain work adds its tables (meetings, campaigns, needs and offers …) in
the same style: a section of statements here and a model module beside the
others with ``create``, ``apply``, ``finish`` and ``reset``.
"""

from __future__ import annotations

from typing import Final

#: Zero deleted content in this connection's writes (DESIGN §4: nothing
#: redacted lingers on disk). A per-connection setting, so every write
#: transaction sets it again on whichever pooled connection it got.
SECURE_DELETE: Final = "PRAGMA secure_delete = ON"
#: Fold the WAL into the database and cut it to nothing; answers (busy, …).
CHECKPOINT: Final = "PRAGMA wal_checkpoint(TRUNCATE)"
DELETE_TRACKING: Final = "DELETE FROM tracking WHERE application_name = ?"

# -- events: every event held, in log order ----------------------------------

CREATE_EVENTS: Final = (
    "CREATE TABLE IF NOT EXISTS events ("
    "position INTEGER PRIMARY KEY, "
    "feed TEXT NOT NULL, "
    "seq INTEGER NOT NULL, "
    "id TEXT NOT NULL UNIQUE, "
    "type TEXT NOT NULL, "
    "ts INTEGER NOT NULL, "
    "wire TEXT NOT NULL, "
    "is_redacted INTEGER NOT NULL, "
    "is_projected INTEGER NOT NULL)",
    # Each index ends in the rowid (= position), so a filtered page is read
    # in position order straight from the index.
    "CREATE INDEX IF NOT EXISTS events_feed ON events (feed)",
    "CREATE INDEX IF NOT EXISTS events_type ON events (type)",
    "CREATE INDEX IF NOT EXISTS events_feed_type ON events (feed, type)",
)
DROP_EVENTS: Final = ("DROP TABLE IF EXISTS events",)
INSERT_EVENT: Final = "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
SELECT_TARGET: Final = "SELECT type, wire FROM events WHERE id = ? AND feed = ?"
REDACT_EVENT: Final = (
    "UPDATE events SET wire = ?, is_redacted = 1, is_projected = 0 "
    "WHERE id = ? AND feed = ?"
)
_EVENT_COLUMNS = "SELECT position, feed, seq, id, type, ts, wire, is_redacted "
#: The listing, keyed by (filter by feed?, filter by type?).
LIST_EVENTS: Final = {
    (False, False): _EVENT_COLUMNS + "FROM events WHERE position > :after "
    "ORDER BY position LIMIT :limit",
    (True, False): _EVENT_COLUMNS + "FROM events WHERE feed = :feed "
    "AND position > :after ORDER BY position LIMIT :limit",
    (False, True): _EVENT_COLUMNS + "FROM events WHERE type = :type "
    "AND position > :after ORDER BY position LIMIT :limit",
    (True, True): _EVENT_COLUMNS + "FROM events WHERE feed = :feed "
    "AND type = :type AND position > :after ORDER BY position LIMIT :limit",
}

# -- groups: the directory, one row per feed ---------------------------------

CREATE_GROUPS: Final = (
    "CREATE TABLE IF NOT EXISTS groups ("
    "feed TEXT PRIMARY KEY, "
    "name TEXT NOT NULL, "
    "area TEXT, "
    "description TEXT, "
    "tags TEXT NOT NULL, "
    "how_to_join TEXT, "
    "place_name TEXT, "
    "lat_e6 INTEGER, "
    "lon_e6 INTEGER, "
    "url TEXT, "
    "moved_from TEXT, "
    "profile_seq INTEGER NOT NULL, "
    "updated_ts INTEGER NOT NULL, "
    "sort_name TEXT NOT NULL, "
    "match_text TEXT NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS groups_sort ON groups (sort_name, feed)",
    "CREATE INDEX IF NOT EXISTS groups_at ON groups (lat_e6, lon_e6)",
)
DROP_GROUPS: Final = ("DROP TABLE IF EXISTS groups",)
UPSERT_GROUP: Final = (
    "INSERT INTO groups VALUES (:feed, :name, :area, :description, :tags, "
    ":how_to_join, :place_name, :lat_e6, :lon_e6, :url, :moved_from, "
    ":profile_seq, :updated_ts, :sort_name, :match_text) "
    "ON CONFLICT (feed) DO UPDATE SET name = excluded.name, "
    "area = excluded.area, description = excluded.description, "
    "tags = excluded.tags, how_to_join = excluded.how_to_join, "
    "place_name = excluded.place_name, lat_e6 = excluded.lat_e6, "
    "lon_e6 = excluded.lon_e6, url = excluded.url, "
    "moved_from = excluded.moved_from, profile_seq = excluded.profile_seq, "
    "updated_ts = excluded.updated_ts, sort_name = excluded.sort_name, "
    "match_text = excluded.match_text "
    "WHERE excluded.profile_seq > groups.profile_seq"
)
DELETE_GROUP: Final = "DELETE FROM groups WHERE feed = ?"
LATEST_PROFILE: Final = (
    "SELECT wire FROM events WHERE feed = ? AND type = 'group.profile_set' "
    "AND is_projected = 1 ORDER BY position DESC LIMIT 1"
)
GET_GROUP: Final = "SELECT * FROM groups WHERE feed = ?"
_GROUPS_MATCHING = (
    "(:q IS NULL OR instr(match_text, :q) > 0) "
    "AND (:tag IS NULL OR EXISTS "
    "(SELECT 1 FROM json_each(groups.tags) WHERE value = :tag)) "
    # A group that moved to a new feed (its old feed's feed.moved names the
    # new one, and the new feed's profile names the old) is listed once: new.
    "AND NOT EXISTS (SELECT 1 FROM groups AS moved WHERE moved.moved_from = "
    "groups.feed AND EXISTS (SELECT 1 FROM events AS e WHERE e.feed = groups.feed "
    "AND e.type = 'feed.moved' AND e.is_projected = 1 "
    "AND json_extract(e.wire, '$.body.new_feed') = moved.feed)) "
)
#: Joined from constants only (no input ever reaches SQL text), hence noqa.
LIST_GROUPS: Final = (
    "SELECT * FROM groups "  # noqa: S608
    "WHERE (sort_name, feed) > (:after_name, :after_feed) AND "
    + _GROUPS_MATCHING
    + "ORDER BY sort_name, feed LIMIT :limit"
)
#: Groups whose base lies in a box (the caller keeps those within the radius
#: and orders them by distance).
LIST_GROUPS_IN_BOX: Final = (
    "SELECT * FROM groups "  # noqa: S608
    "WHERE lat_e6 BETWEEN :min_lat AND :max_lat "
    "AND lon_e6 BETWEEN :min_lon AND :max_lon AND " + _GROUPS_MATCHING
)
#: Groups with a base, for looking a place name up in the directory.
GROUPS_WITH_BASE: Final = (
    "SELECT * FROM groups WHERE lat_e6 IS NOT NULL AND lon_e6 IS NOT NULL "
    "ORDER BY sort_name, feed"
)

# -- search: FTS5 over titles and texts --------------------------------------

CREATE_SEARCH: Final = (
    # rowid = the event's log position, so a redaction finds its row through
    # the events table's unique id instead of scanning unindexed columns.
    "CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5("
    "title, text, type UNINDEXED, feed UNINDEXED, seq UNINDEXED, id UNINDEXED, "
    "tokenize = 'unicode61 remove_diacritics 2')",
    # Where each indexed event is, when its body's place has coordinates;
    # keyed by the same position, so a redaction removes it with the words.
    "CREATE TABLE IF NOT EXISTS search_places ("
    "position INTEGER PRIMARY KEY, "
    "lat_e6 INTEGER NOT NULL, "
    "lon_e6 INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS search_places_at ON search_places (lat_e6, lon_e6)",
)
DROP_SEARCH: Final = (
    "DROP TABLE IF EXISTS search",
    "DROP TABLE IF EXISTS search_places",
)
INSERT_SEARCH: Final = (
    "INSERT INTO search (rowid, title, text, type, feed, seq, id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
DELETE_SEARCH_TARGET: Final = (
    "DELETE FROM search WHERE rowid IN "
    "(SELECT position FROM events WHERE id = ? AND feed = ?)"
)
INSERT_SEARCH_PLACE: Final = "INSERT OR REPLACE INTO search_places VALUES (?, ?, ?)"
DELETE_SEARCH_PLACE_TARGET: Final = (
    "DELETE FROM search_places WHERE position IN "
    "(SELECT position FROM events WHERE id = ? AND feed = ?)"
)
#: FTS5 deletes leave the terms in old index segments until they are merged;
#: 'optimize' merges every segment into one, so deleted text really goes.
#: (SQLite 3.42 adds a 'secure-delete' option; this node's SQLite is older.)
OPTIMIZE_SEARCH: Final = "INSERT INTO search (search) VALUES ('optimize')"
#: The most matches a search ranks by bm25. Ranking costs a few microseconds
#: a match, and bm25 first counts every row holding each word (NOTES-limits
#: §4), so a word found in half of everything held would cost milliseconds per
#: thousand events held; past this many matches (after the filters) a search
#: lists its matches newest first instead.
SEARCH_RANKED_MATCHES: Final = 200
#: What a search matches and keeps: the words, the types (each name of the
#: JSON array ``:types`` keeps its own type and those below it: ``meeting``
#: keeps ``meeting.*``; ignored when ``:any_type``), the feeds left out
#: (``:blocked``, skipped when ``:no_blocked``) and, when ``:near`` is set, a
#: box the event's place must lie in (the caller checks the radius).
_SEARCH_MATCHES = (
    "SELECT search.rowid AS position, placed.lat_e6, placed.lon_e6 FROM search "
    "LEFT JOIN search_places AS placed ON placed.position = search.rowid "
    "WHERE search MATCH :match "
    "AND (:any_type OR EXISTS (SELECT 1 FROM json_each(:types) AS wanted "
    "WHERE search.type = wanted.value "
    "OR substr(search.type, 1, length(wanted.value) + 1) = wanted.value || '.')) "
    "AND (:no_blocked OR search.feed NOT IN (SELECT value FROM json_each(:blocked))) "
    "AND (NOT :near OR (placed.lat_e6 BETWEEN :min_lat AND :max_lat "
    "AND placed.lon_e6 BETWEEN :min_lon AND :max_lon)) "
)
#: The matches newest first (FTS5 walks its index in that order and stops at
#: the LIMIT, so counting up to a bound costs only that many rows).
SEARCH_NEWEST: Final = (
    _SEARCH_MATCHES + "ORDER BY search.rowid DESC LIMIT :limit OFFSET :offset"
)
#: Every match, ranked by bm25 (titles weigh four times text), ties by
#: position: for at most :data:`SEARCH_RANKED_MATCHES` matches.
SEARCH_RANKED: Final = _SEARCH_MATCHES + "ORDER BY bm25(search, 4.0, 1.0), search.rowid"
#: The hits at some positions (the JSON array ``:positions``, between ``:low``
#: and ``:high``), with their snippets: computed for these rows only. The range
#: is FTS5's to use; the ``+`` keeps the list a plain filter, since FTS5 would
#: run the whole match once per listed position.
SEARCH_HITS: Final = (
    "SELECT search.rowid AS position, type, feed, seq, id, title, "
    "snippet(search, -1, '[', ']', '…', 16) AS snippet FROM search "
    "WHERE search MATCH :match AND search.rowid BETWEEN :low AND :high "
    "AND +search.rowid IN (SELECT value FROM json_each(:positions))"
)
