"""Every SQL statement of the delegates read model (SQLite, ``readmodels.db``).

Three tables, each row keyed by the event id that made it and indexed by the
decision it names, held or not, so the order events arrive in never matters:
``network_decisions`` (valid, unredacted ``network.decision_opened``),
``delegate_votes`` (``network.delegate_vote_cast``) and ``decision_results``
(``network.decision_made``). Who may open, vote and decide is settled when a
query reads them: a decision counts only when its network is held and was
formed by the decision's own feed (the convenor), and a result only from
that feed. Blocked feeds arrive as a JSON array parameter (``:blocked``).
No part of any statement comes from input.
"""

from __future__ import annotations

from typing import Final

CREATE: Final = (
    "CREATE TABLE IF NOT EXISTS network_decisions ("
    "id TEXT PRIMARY KEY, "
    "position INTEGER NOT NULL, "
    "feed TEXT NOT NULL, "
    "ts INTEGER NOT NULL, "
    "network TEXT NOT NULL, "
    "closes_at INTEGER NOT NULL, "
    "body TEXT NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS network_decisions_network "
    "ON network_decisions (network, ts, id)",
    "CREATE INDEX IF NOT EXISTS network_decisions_due "
    "ON network_decisions (feed, closes_at)",
    "CREATE TABLE IF NOT EXISTS delegate_votes ("
    "id TEXT PRIMARY KEY, "
    "position INTEGER NOT NULL, "
    "decision TEXT NOT NULL, "
    "feed TEXT NOT NULL, "
    "seq INTEGER NOT NULL, "
    "ts INTEGER NOT NULL, "
    "body TEXT NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS delegate_votes_decision "
    "ON delegate_votes (decision, feed, seq)",
    "CREATE TABLE IF NOT EXISTS decision_results ("
    "id TEXT PRIMARY KEY, "
    "position INTEGER NOT NULL, "
    "decision TEXT NOT NULL, "
    "feed TEXT NOT NULL, "
    "seq INTEGER NOT NULL, "
    "ts INTEGER NOT NULL, "
    "body TEXT NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS decision_results_decision "
    "ON decision_results (decision, feed, seq)",
)
DROP: Final = (
    "DROP TABLE IF EXISTS network_decisions",
    "DROP TABLE IF EXISTS delegate_votes",
    "DROP TABLE IF EXISTS decision_results",
)
INSERT_DECISION: Final = (
    "INSERT OR REPLACE INTO network_decisions VALUES (?, ?, ?, ?, ?, ?, ?)"
)
INSERT_VOTE: Final = (
    "INSERT OR REPLACE INTO delegate_votes VALUES (?, ?, ?, ?, ?, ?, ?)"
)
INSERT_RESULT: Final = (
    "INSERT OR REPLACE INTO decision_results VALUES (?, ?, ?, ?, ?, ?, ?)"
)
DELETE: Final = (
    "DELETE FROM network_decisions WHERE id = ? AND feed = ?",
    "DELETE FROM delegate_votes WHERE id = ? AND feed = ?",
    "DELETE FROM decision_results WHERE id = ? AND feed = ?",
)

#: Decision ``d`` was opened by the convenor of its network, which is held
#: and not blocked.
_CONVENED = (
    "EXISTS (SELECT 1 FROM networks AS n WHERE n.id = d.network "
    "AND n.feed = d.feed AND n.feed NOT IN (SELECT value FROM json_each(:blocked)))"
)
GET_DECISION: Final = (
    "SELECT d.* FROM network_decisions AS d "  # noqa: S608
    f"WHERE d.id = :id AND {_CONVENED}"
)
#: A page of a network's decisions, newest opened first (``ts``, then id).
LIST_DECISIONS: Final = (
    "SELECT d.* FROM network_decisions AS d "  # noqa: S608
    f"WHERE d.network = :network AND {_CONVENED} "
    "AND (d.ts < :after_ts OR (d.ts = :after_ts AND d.id < :after_id)) "
    "ORDER BY d.ts DESC, d.id DESC LIMIT :limit"
)
#: Decisions a feed convenes that closed by ``:now`` and that it has not
#: decided yet.
DUE_DECISIONS: Final = (
    "SELECT d.id FROM network_decisions AS d "  # noqa: S608
    f"WHERE d.feed = :feed AND d.closes_at <= :now AND {_CONVENED} "
    "AND NOT EXISTS (SELECT 1 FROM decision_results AS r "
    "WHERE r.decision = d.id AND r.feed = d.feed) "
    "ORDER BY d.closes_at, d.id LIMIT :limit"
)
SELECT_VOTES: Final = (
    "SELECT * FROM delegate_votes WHERE decision = ? ORDER BY feed, seq"
)
#: The convenor's latest word on a decision (a later result corrects one).
SELECT_RESULT: Final = (
    "SELECT * FROM decision_results WHERE decision = ? AND feed = ? "
    "ORDER BY seq DESC LIMIT 1"
)
NETWORK: Final = (
    "SELECT id, feed, name FROM networks WHERE id = :id "
    "AND feed NOT IN (SELECT value FROM json_each(:blocked))"
)
GROUP_NAME: Final = "SELECT name FROM groups WHERE feed = ?"
