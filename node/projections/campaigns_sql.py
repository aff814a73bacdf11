"""Every SQL statement of the campaigns read model (SQLite, ``readmodels.db``).

Two tables. ``campaigns`` holds one row per valid, unredacted
``campaign.launched`` (its event id is the campaign's id). ``campaign_refs``
holds every valid event that refers to a campaign (updates, actions,
endorsements, co-owners, outcomes), keyed by its own event id and indexed by
the campaign it names, whether or not that campaign is held yet: who may post
what is decided when a query reads them, so the order in which events arrive
never matters. Blocked feeds arrive as a JSON array parameter (``:blocked``).
Some statements are put together from the constant fragments beside them
(hence ``noqa: S608``); no part of any statement comes from input.
"""

from __future__ import annotations

from typing import Final

CREATE: Final = (
    "CREATE TABLE IF NOT EXISTS campaigns ("
    "id TEXT PRIMARY KEY, "
    "position INTEGER NOT NULL, "
    "feed TEXT NOT NULL, "
    "ts INTEGER NOT NULL, "
    "title TEXT NOT NULL, "
    "target_name TEXT NOT NULL, "
    "target_kind TEXT, "
    "demands TEXT NOT NULL, "
    "description TEXT, "
    "area TEXT, "
    "place_name TEXT, "
    "lat_e6 INTEGER, "
    "lon_e6 INTEGER, "
    "tags TEXT NOT NULL, "
    "url TEXT, "
    "network TEXT, "
    "area_fold TEXT NOT NULL, "
    "target_fold TEXT NOT NULL, "
    "match_text TEXT NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS campaigns_order ON campaigns (ts, id)",
    "CREATE INDEX IF NOT EXISTS campaigns_feed ON campaigns (feed)",
    "CREATE TABLE IF NOT EXISTS campaign_refs ("
    "id TEXT PRIMARY KEY, "
    "position INTEGER NOT NULL, "
    "campaign TEXT NOT NULL, "
    "feed TEXT NOT NULL, "
    "kind TEXT NOT NULL, "
    "ts INTEGER NOT NULL, "
    # The co-owner's feed of a co_owner_added, the outcome of an
    # outcome_declared; null for the others.
    "value TEXT, "
    "body TEXT NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS campaign_refs_campaign "
    "ON campaign_refs (campaign, kind)",
)
DROP: Final = (
    "DROP TABLE IF EXISTS campaigns",
    "DROP TABLE IF EXISTS campaign_refs",
)
INSERT_CAMPAIGN: Final = (
    "INSERT OR REPLACE INTO campaigns VALUES (:id, :position, :feed, :ts, :title, "
    ":target_name, :target_kind, :demands, :description, :area, :place_name, "
    ":lat_e6, :lon_e6, :tags, :url, :network, :area_fold, :target_fold, "
    ":match_text)"
)
INSERT_REF: Final = (
    "INSERT OR REPLACE INTO campaign_refs VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
DELETE_CAMPAIGN: Final = "DELETE FROM campaigns WHERE id = ? AND feed = ?"
DELETE_REF: Final = "DELETE FROM campaign_refs WHERE id = ? AND feed = ?"

GET_CAMPAIGN: Final = (
    "SELECT * FROM campaigns WHERE id = :id "
    "AND feed NOT IN (SELECT value FROM json_each(:blocked))"
)
SELECT_REFS: Final = "SELECT * FROM campaign_refs WHERE campaign = ? ORDER BY ts, id"
GROUP_NAME: Final = "SELECT name, area FROM groups WHERE feed = ?"

#: The feeds that may speak for campaign ``c``: its owner and the co-owners
#: its owner added, none of them blocked.
_AUTHORS = (
    "SELECT c.feed UNION SELECT r.value FROM campaign_refs AS r "
    "WHERE r.campaign = c.id AND r.kind = 'co_owner' AND r.feed = c.feed "
    "AND r.value NOT IN (SELECT value FROM json_each(:blocked))"
)
#: The latest outcome declared by an author of campaign ``c``.
_OUTCOME = (
    "(SELECT o.value FROM campaign_refs AS o WHERE o.campaign = c.id "  # noqa: S608
    f"AND o.kind = 'outcome' AND o.feed IN ({_AUTHORS}) "
    "ORDER BY o.ts DESC, o.id DESC LIMIT 1)"
)
#: A page of campaigns, newest launch first (``ts``, then ``id``, both
#: descending, so every node orders the same campaigns the same way).
LIST_CAMPAIGNS: Final = (
    f"SELECT * FROM (SELECT c.*, {_OUTCOME} AS outcome FROM campaigns AS c "  # noqa: S608
    "WHERE c.feed NOT IN (SELECT value FROM json_each(:blocked)) "
    "AND (c.ts < :after_ts OR (c.ts = :after_ts AND c.id < :after_id)) "
    "AND (:area IS NULL OR instr(c.area_fold, :area) > 0) "
    "AND (:target IS NULL OR instr(c.target_fold, :target) > 0) "
    "AND (:target_kind IS NULL OR c.target_kind = :target_kind) "
    "AND (:tag IS NULL OR EXISTS "
    "(SELECT 1 FROM json_each(c.tags) WHERE value = :tag)) "
    "AND NOT EXISTS (SELECT 1 FROM json_each(:words) AS w "
    "WHERE instr(c.match_text, w.value) = 0) "
    "AND (:feed IS NULL OR c.feed = :feed OR EXISTS (SELECT 1 FROM "
    "campaign_refs AS r WHERE r.campaign = c.id AND r.kind = 'co_owner' "
    "AND r.feed = c.feed AND r.value = :feed)) "
    "AND (:network IS NULL OR c.network = :network OR c.feed IN "
    "(SELECT value FROM json_each(:network_groups))) "
    "AND (:min_lat IS NULL OR (c.lat_e6 BETWEEN :min_lat AND :max_lat "
    "AND c.lon_e6 BETWEEN :min_lon AND :max_lon))) "
    "WHERE (:status IS NULL OR (:status = 'live' AND outcome IS NULL) "
    "OR (:status = 'ended' AND outcome IS NOT NULL) OR outcome = :status) "
    "ORDER BY ts DESC, id DESC LIMIT :limit"
)
