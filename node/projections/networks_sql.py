"""Every SQL statement of the networks read model (SQLite, ``readmodels.db``).

``networks`` holds one row per valid, unredacted ``network.formed`` (its
event id is the network's id). ``network_memberships`` holds every valid
``network.joined`` and ``network.left`` keyed by its own event id and
indexed by the network it names, held or not; the ``network.formed`` itself
is the convenor's first join. A group's membership is its latest row (by
``seq``, its own feed's order) for the network, decided when a query reads
it, so joins that arrive before the network count once it does. Blocked
feeds arrive as a JSON array parameter (``:blocked``).
Some statements are put together from the constant fragments beside them
(hence ``noqa: S608``); no part of any statement comes from input.
"""

from __future__ import annotations

from typing import Final

CREATE: Final = (
    "CREATE TABLE IF NOT EXISTS networks ("
    "id TEXT PRIMARY KEY, "
    "position INTEGER NOT NULL, "
    "feed TEXT NOT NULL, "
    "ts INTEGER NOT NULL, "
    "name TEXT NOT NULL, "
    "kind TEXT NOT NULL, "
    "description TEXT, "
    "area TEXT, "
    "place_name TEXT, "
    "lat_e6 INTEGER, "
    "lon_e6 INTEGER, "
    "tags TEXT NOT NULL, "
    "url TEXT, "
    "sort_name TEXT NOT NULL, "
    "match_text TEXT NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS networks_sort ON networks (sort_name, id)",
    "CREATE TABLE IF NOT EXISTS network_memberships ("
    "id TEXT PRIMARY KEY, "
    "network TEXT NOT NULL, "
    "feed TEXT NOT NULL, "
    "seq INTEGER NOT NULL, "
    "ts INTEGER NOT NULL, "
    "is_join INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS network_memberships_network "
    "ON network_memberships (network, feed, seq)",
    "CREATE INDEX IF NOT EXISTS network_memberships_feed "
    "ON network_memberships (feed, network, seq)",
)
DROP: Final = (
    "DROP TABLE IF EXISTS networks",
    "DROP TABLE IF EXISTS network_memberships",
)
INSERT_NETWORK: Final = (
    "INSERT OR REPLACE INTO networks VALUES (:id, :position, :feed, :ts, :name, "
    ":kind, :description, :area, :place_name, :lat_e6, :lon_e6, :tags, :url, "
    ":sort_name, :match_text)"
)
INSERT_MEMBERSHIP: Final = (
    "INSERT OR REPLACE INTO network_memberships VALUES (?, ?, ?, ?, ?, ?)"
)
DELETE_NETWORK: Final = "DELETE FROM networks WHERE id = ? AND feed = ?"
DELETE_MEMBERSHIP: Final = "DELETE FROM network_memberships WHERE id = ? AND feed = ?"

_NOT_BLOCKED = "NOT IN (SELECT value FROM json_each(:blocked))"
#: Row ``m`` is its feed's latest word on its network.
_LATEST = (
    "m.seq = (SELECT MAX(x.seq) FROM network_memberships AS x "
    "WHERE x.network = m.network AND x.feed = m.feed)"
)
_MEMBERS = (
    "(SELECT COUNT(*) FROM network_memberships AS m WHERE m.network = n.id "  # noqa: S608
    f"AND m.is_join = 1 AND m.feed {_NOT_BLOCKED} AND {_LATEST})"
)
GET_NETWORK: Final = (
    f"SELECT n.*, {_MEMBERS} AS members FROM networks AS n "  # noqa: S608
    f"WHERE n.id = :id AND n.feed {_NOT_BLOCKED}"
)
#: The member groups of one network, with their names and areas when held.
MEMBERS: Final = (
    "SELECT m.feed, m.ts, g.name, g.area FROM network_memberships AS m "  # noqa: S608
    "LEFT JOIN groups AS g ON g.feed = m.feed "
    f"WHERE m.network = :network AND m.is_join = 1 AND m.feed {_NOT_BLOCKED} "
    f"AND {_LATEST} ORDER BY m.ts, m.feed"
)
#: The networks one group belongs to, by name.
NETWORKS_OF: Final = (
    f"SELECT n.*, {_MEMBERS} AS members FROM network_memberships AS m "  # noqa: S608
    "JOIN networks AS n ON n.id = m.network "
    f"WHERE m.feed = :feed AND m.is_join = 1 AND {_LATEST} "
    f"AND n.feed {_NOT_BLOCKED} ORDER BY n.sort_name, n.id"
)
#: A page of networks by name.
LIST_NETWORKS: Final = (
    f"SELECT n.*, {_MEMBERS} AS members FROM networks AS n "  # noqa: S608
    f"WHERE n.feed {_NOT_BLOCKED} "
    "AND (n.sort_name, n.id) > (:after_name, :after_id) "
    "AND (:kind IS NULL OR n.kind = :kind) "
    "AND (:tag IS NULL OR EXISTS "
    "(SELECT 1 FROM json_each(n.tags) WHERE value = :tag)) "
    "AND NOT EXISTS (SELECT 1 FROM json_each(:words) AS w "
    "WHERE instr(n.match_text, w.value) = 0) "
    "AND (:min_lat IS NULL OR (n.lat_e6 BETWEEN :min_lat AND :max_lat "
    "AND n.lon_e6 BETWEEN :min_lon AND :max_lon)) "
    "ORDER BY n.sort_name, n.id LIMIT :limit"
)
GROUP_NAME: Final = "SELECT name FROM groups WHERE feed = ?"
