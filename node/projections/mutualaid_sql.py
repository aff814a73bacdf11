"""Every SQL statement of the mutual-aid read model (SQLite, ``readmodels.db``).

Two tables. ``aid_items`` holds one row per valid, unredacted ``need.posted``
or ``offer.posted`` (``kind`` need or offer; the event id is the item's id).
``aid_refs`` holds every valid ``need.met`` and ``offer.withdrawn``, keyed by
its own event id and indexed by the item it names, whether or not that item
is held yet: who may mark what is decided when a query reads them, so the
order in which events arrive never matters. Blocked feeds arrive as a JSON
array parameter (``:blocked``), the time as ``:now``. Some statements are put
together from the constant fragments beside them (hence ``noqa: S608``); no
part of any statement comes from input.
"""

from __future__ import annotations

from typing import Final

CREATE: Final = (
    "CREATE TABLE IF NOT EXISTS aid_items ("
    "id TEXT PRIMARY KEY, "
    "kind TEXT NOT NULL, "
    "position INTEGER NOT NULL, "
    "feed TEXT NOT NULL, "
    "ts INTEGER NOT NULL, "
    "title TEXT NOT NULL, "
    "category TEXT NOT NULL, "
    "text TEXT, "
    "place_name TEXT, "
    "lat_e6 INTEGER, "
    "lon_e6 INTEGER, "
    "until INTEGER, "
    "tags TEXT NOT NULL, "
    # An offer's need: the event id of the need.posted it answers.
    "need TEXT, "
    "match_text TEXT NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS aid_items_order ON aid_items (kind, ts, id)",
    "CREATE INDEX IF NOT EXISTS aid_items_need ON aid_items (need)",
    "CREATE INDEX IF NOT EXISTS aid_items_category ON aid_items (kind, category)",
    "CREATE TABLE IF NOT EXISTS aid_refs ("
    "id TEXT PRIMARY KEY, "
    "position INTEGER NOT NULL, "
    "feed TEXT NOT NULL, "
    # 'met' (a need.met) or 'withdrawn' (an offer.withdrawn).
    "kind TEXT NOT NULL, "
    # The need (met) or the offer (withdrawn) it names.
    "item TEXT NOT NULL, "
    # The offer a need.met names; null otherwise.
    "offer TEXT, "
    "ts INTEGER NOT NULL, "
    "note TEXT) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS aid_refs_item ON aid_refs (item, kind)",
    "CREATE INDEX IF NOT EXISTS aid_refs_offer ON aid_refs (offer)",
)
DROP: Final = (
    "DROP TABLE IF EXISTS aid_items",
    "DROP TABLE IF EXISTS aid_refs",
)
INSERT_ITEM: Final = (
    "INSERT OR REPLACE INTO aid_items VALUES (:id, :kind, :position, :feed, :ts, "
    ":title, :category, :text, :place_name, :lat_e6, :lon_e6, :until, :tags, "
    ":need, :match_text)"
)
INSERT_REF: Final = "INSERT OR REPLACE INTO aid_refs VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
DELETE_ITEM: Final = "DELETE FROM aid_items WHERE id = ? AND feed = ?"
DELETE_REF: Final = "DELETE FROM aid_refs WHERE id = ? AND feed = ?"

_NOT_BLOCKED = "NOT IN (SELECT value FROM json_each(:blocked))"
#: The latest need.met of need ``i``, from the need's own feed.
_MET = (
    "(SELECT r.id FROM aid_refs AS r WHERE r.item = i.id AND r.kind = 'met' "
    "AND r.feed = i.feed ORDER BY r.ts DESC, r.id DESC LIMIT 1)"
)
#: The latest offer.withdrawn of offer ``i``, from the offer's own feed.
_WITHDRAWN = (
    "(SELECT r.id FROM aid_refs AS r WHERE r.item = i.id AND r.kind = 'withdrawn' "
    "AND r.feed = i.feed ORDER BY r.ts DESC, r.id DESC LIMIT 1)"
)
#: Whether offer ``i`` met a need: a need.met from the need's own feed (held,
#: not blocked) names it.
_OFFER_MET = (
    "EXISTS (SELECT 1 FROM aid_refs AS r JOIN aid_items AS n ON n.id = r.item "  # noqa: S608
    "WHERE r.offer = i.id AND r.kind = 'met' AND n.kind = 'need' "
    f"AND r.feed = n.feed AND n.feed {_NOT_BLOCKED})"
)
#: An item's status: need met / lapsed / open; offer withdrawn / met /
#: lapsed / open (``:now`` is the node's clock).
_STATUS = (
    f"CASE WHEN i.kind = 'need' AND {_MET} IS NOT NULL THEN 'met' "
    f"WHEN i.kind = 'offer' AND {_WITHDRAWN} IS NOT NULL THEN 'withdrawn' "
    f"WHEN i.kind = 'offer' AND {_OFFER_MET} THEN 'met' "
    "WHEN i.until IS NOT NULL AND i.until < :now THEN 'lapsed' "
    "ELSE 'open' END"
)
#: Each item with its status, its group and the point it is matched by: its
#: own coordinates or, without them, its group's base.
_ITEMS = (
    f"SELECT i.*, {_STATUS} AS status, "  # noqa: S608
    "g.name AS group_name, g.how_to_join AS group_how_to_join, "
    "COALESCE(i.lat_e6, g.lat_e6) AS at_lat, "
    "CASE WHEN i.lat_e6 IS NULL THEN g.lon_e6 ELSE i.lon_e6 END AS at_lon "
    "FROM aid_items AS i LEFT JOIN groups AS g ON g.feed = i.feed "
    f"WHERE i.feed {_NOT_BLOCKED}"
)
#: A page of needs or offers, newest first (``ts``, then ``id``, both
#: descending, so every node orders the same items the same way).
LIST_ITEMS: Final = (
    f"SELECT * FROM ({_ITEMS} AND i.kind = :kind "  # noqa: S608
    "AND (i.ts < :after_ts OR (i.ts = :after_ts AND i.id < :after_id)) "
    "AND (:category IS NULL OR i.category = :category) "
    "AND (:feed IS NULL OR i.feed = :feed) "
    "AND NOT EXISTS (SELECT 1 FROM json_each(:words) AS w "
    "WHERE instr(i.match_text, w.value) = 0)) "
    "WHERE (:status IS NULL OR status = :status) "
    "AND (:min_lat IS NULL OR (at_lat BETWEEN :min_lat AND :max_lat "
    "AND at_lon BETWEEN :min_lon AND :max_lon)) "
    "ORDER BY ts DESC, id DESC LIMIT :limit"
)
GET_ITEM: Final = f"{_ITEMS} AND i.id = :id AND i.kind = :kind"
#: Open items of a kind and category whose point lies in a box.
OPEN_IN_BOX: Final = (
    f"SELECT * FROM ({_ITEMS} AND i.kind = :kind "  # noqa: S608
    "AND i.category = :category AND i.id != :id) "
    "WHERE status = 'open' AND at_lat BETWEEN :min_lat AND :max_lat "
    "AND at_lon BETWEEN :min_lon AND :max_lon"
)
#: The offers naming a need, oldest first.
OFFERS_FOR: Final = (
    f"SELECT * FROM ({_ITEMS} AND i.kind = 'offer' AND i.need = :id) "  # noqa: S608
    "ORDER BY ts, id"
)
#: The need.met that counts for a need (from its feed), or the
#: offer.withdrawn that counts for an offer.
MARK: Final = (
    "SELECT * FROM aid_refs WHERE item = :id AND kind = :kind AND feed = :feed "
    "ORDER BY ts DESC, id DESC LIMIT 1"
)
