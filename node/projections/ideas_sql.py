"""Every SQL statement of the ideas read model (SQLite, ``readmodels.db``).

One table per kind of event, each row keyed by its own event id and indexed
by the id it names, whether or not that event is held yet: ``ideas``
(``idea.proposed``), ``idea_counts`` (``idea.support_counted``),
``proposals`` (``proposal.opened``), ``decisions`` (``proposal.decided``),
``tasks`` (``task.created``), ``tasks_done`` (``task.completed``) and
``decision_refs`` (a ``campaign.launched``, ``campaign.action_called`` or
``meeting.scheduled`` whose body names a decision). Who counts is decided
when a query reads them (:mod:`.ideas`). Blocked feeds arrive as a JSON
array parameter (``:blocked``). Statements joined from the constant fragments
beside them carry ``noqa: S608``; no part of any statement comes from input.
"""

from __future__ import annotations

from typing import Final

_TABLES = {
    "ideas": "id TEXT PRIMARY KEY, position INTEGER NOT NULL, feed TEXT NOT NULL, "
    "ts INTEGER NOT NULL, title TEXT NOT NULL, text TEXT, tags TEXT NOT NULL, "
    "proposer TEXT, match_text TEXT NOT NULL",
    "idea_counts": "id TEXT PRIMARY KEY, feed TEXT NOT NULL, seq INTEGER NOT NULL, "
    "idea TEXT NOT NULL, supporters INTEGER NOT NULL",
    "proposals": "id TEXT PRIMARY KEY, position INTEGER NOT NULL, "
    "feed TEXT NOT NULL, ts INTEGER NOT NULL, title TEXT NOT NULL, text TEXT, "
    "kind TEXT NOT NULL, options TEXT NOT NULL, closes_at INTEGER NOT NULL, "
    "tz TEXT, idea TEXT",
    "decisions": "id TEXT PRIMARY KEY, feed TEXT NOT NULL, seq INTEGER NOT NULL, "
    "ts INTEGER NOT NULL, proposal TEXT NOT NULL, body TEXT NOT NULL",
    "tasks": "id TEXT PRIMARY KEY, position INTEGER NOT NULL, feed TEXT NOT NULL, "
    "ts INTEGER NOT NULL, decision TEXT, body TEXT NOT NULL",
    "tasks_done": "id TEXT PRIMARY KEY, feed TEXT NOT NULL, seq INTEGER NOT NULL, "
    "ts INTEGER NOT NULL, task TEXT NOT NULL, note TEXT",
    "decision_refs": "id TEXT PRIMARY KEY, feed TEXT NOT NULL, ts INTEGER NOT NULL, "
    "type TEXT NOT NULL, decision TEXT NOT NULL, body TEXT NOT NULL",
}
TABLES: Final = tuple(_TABLES)

CREATE: Final = (
    *(
        f"CREATE TABLE IF NOT EXISTS {name} ({columns}) WITHOUT ROWID"
        for name, columns in _TABLES.items()
    ),
    "CREATE INDEX IF NOT EXISTS ideas_order ON ideas (ts, id)",
    "CREATE INDEX IF NOT EXISTS idea_counts_idea ON idea_counts (idea, seq)",
    "CREATE INDEX IF NOT EXISTS proposals_order ON proposals (ts, id)",
    "CREATE INDEX IF NOT EXISTS proposals_idea ON proposals (idea)",
    "CREATE INDEX IF NOT EXISTS decisions_proposal ON decisions (proposal, seq)",
    "CREATE INDEX IF NOT EXISTS tasks_order ON tasks (ts, id)",
    "CREATE INDEX IF NOT EXISTS tasks_decision ON tasks (decision)",
    "CREATE INDEX IF NOT EXISTS tasks_done_task ON tasks_done (task)",
    "CREATE INDEX IF NOT EXISTS decision_refs_decision ON decision_refs (decision)",
)
DROP: Final = tuple(f"DROP TABLE IF EXISTS {name}" for name in _TABLES)
#: Forget what a redacted event made, in whichever table it is.
DELETE_TARGET: Final = tuple(
    f"DELETE FROM {name} WHERE id = ? AND feed = ?"  # noqa: S608
    for name in _TABLES
)

INSERT_IDEA: Final = "INSERT OR REPLACE INTO ideas VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_COUNT: Final = "INSERT OR REPLACE INTO idea_counts VALUES (?, ?, ?, ?, ?)"
INSERT_PROPOSAL: Final = (
    "INSERT OR REPLACE INTO proposals VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_DECISION: Final = "INSERT OR REPLACE INTO decisions VALUES (?, ?, ?, ?, ?, ?)"
INSERT_TASK: Final = "INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?, ?)"
INSERT_DONE: Final = "INSERT OR REPLACE INTO tasks_done VALUES (?, ?, ?, ?, ?, ?)"
INSERT_REF: Final = "INSERT OR REPLACE INTO decision_refs VALUES (?, ?, ?, ?, ?, ?)"

_NOT_BLOCKED = "NOT IN (SELECT value FROM json_each(:blocked))"
#: The latest count the idea's own group published for idea ``i``.
_SUPPORTERS = (
    "(SELECT c.supporters FROM idea_counts AS c WHERE c.idea = i.id "
    "AND c.feed = i.feed ORDER BY c.seq DESC LIMIT 1)"
)
#: The first decision the proposing group published for proposal ``p``.
_DECISION_OF = (
    "(SELECT d.id FROM decisions AS d WHERE d.proposal = p.id "
    "AND d.feed = p.feed ORDER BY d.seq LIMIT 1)"
)
#: An idea's status: decided, proposed or open, by the proposals naming it.
_IDEA_STATUS = (
    "(SELECT CASE WHEN count(*) = 0 THEN 'open' "  # noqa: S608
    f"WHEN max(CASE WHEN {_DECISION_OF} IS NOT NULL THEN 1 ELSE 0 END) = 1 "
    "THEN 'decided' ELSE 'proposed' END "
    f"FROM proposals AS p WHERE p.idea = i.id AND p.feed {_NOT_BLOCKED})"
)
IDEA_COLUMNS: Final = f"i.*, {_SUPPORTERS} AS supporters, {_IDEA_STATUS} AS status"
LIST_IDEAS: Final = (
    f"SELECT * FROM (SELECT {IDEA_COLUMNS} FROM ideas AS i "  # noqa: S608
    f"WHERE i.feed {_NOT_BLOCKED} "
    "AND (i.ts < :after_ts OR (i.ts = :after_ts AND i.id < :after_id)) "
    "AND (:feed IS NULL OR i.feed = :feed) "
    "AND (:tag IS NULL OR EXISTS (SELECT 1 FROM json_each(i.tags) WHERE value = :tag)) "
    "AND NOT EXISTS (SELECT 1 FROM json_each(:words) AS w "
    "WHERE instr(i.match_text, w.value) = 0)) "
    "WHERE (:status IS NULL OR status = :status) "
    "ORDER BY ts DESC, id DESC LIMIT :limit"
)
GET_IDEA: Final = (
    f"SELECT {IDEA_COLUMNS} FROM ideas AS i "  # noqa: S608
    f"WHERE i.id = :id AND i.feed {_NOT_BLOCKED}"
)
PROPOSALS_OF_IDEA: Final = (
    f"SELECT p.*, {_DECISION_OF} AS decision FROM proposals AS p "  # noqa: S608
    f"WHERE p.idea = :idea AND p.feed {_NOT_BLOCKED} ORDER BY p.ts, p.id"
)

_PROPOSAL_STATUS = (
    f"CASE WHEN {_DECISION_OF} IS NOT NULL THEN 'decided' "
    "WHEN p.closes_at <= :now THEN 'closed' ELSE 'open' END"
)
PROPOSAL_COLUMNS: Final = (
    f"p.*, {_DECISION_OF} AS decision, {_PROPOSAL_STATUS} AS status"
)
LIST_PROPOSALS: Final = (
    f"SELECT * FROM (SELECT {PROPOSAL_COLUMNS} FROM proposals AS p "  # noqa: S608
    f"WHERE p.feed {_NOT_BLOCKED} "
    "AND (p.ts < :after_ts OR (p.ts = :after_ts AND p.id < :after_id)) "
    "AND (:feed IS NULL OR p.feed = :feed)) "
    "WHERE (:status IS NULL OR status = :status) "
    "ORDER BY ts DESC, id DESC LIMIT :limit"
)
GET_PROPOSAL: Final = (
    f"SELECT {PROPOSAL_COLUMNS} FROM proposals AS p "  # noqa: S608
    f"WHERE p.id = :id AND p.feed {_NOT_BLOCKED}"
)
#: A feed's proposals that closed without a decision, soonest closed first.
DUE_PROPOSALS: Final = (
    f"SELECT p.id FROM proposals AS p WHERE p.feed = :feed "  # noqa: S608
    f"AND p.closes_at <= :now AND {_DECISION_OF} IS NULL "
    "ORDER BY p.closes_at, p.id LIMIT :limit"
)
GET_DECISION: Final = f"SELECT * FROM decisions WHERE id = :id AND feed {_NOT_BLOCKED}"  # noqa: S608

#: Tasks and whether their own group marked them done (its first completion).
_TASK_COLUMNS = (
    "t.*, (SELECT d.ts FROM tasks_done AS d WHERE d.task = t.id AND d.feed = t.feed "
    "ORDER BY d.seq LIMIT 1) AS done_at, "
    "(SELECT d.note FROM tasks_done AS d WHERE d.task = t.id AND d.feed = t.feed "
    "ORDER BY d.seq LIMIT 1) AS done_note"
)
LIST_TASKS: Final = (
    f"SELECT * FROM (SELECT {_TASK_COLUMNS} FROM tasks AS t "  # noqa: S608
    f"WHERE t.feed {_NOT_BLOCKED} "
    "AND (t.ts < :after_ts OR (t.ts = :after_ts AND t.id < :after_id)) "
    "AND (:feed IS NULL OR t.feed = :feed) "
    "AND (:decision IS NULL OR t.decision = :decision)) "
    "WHERE (:status IS NULL OR (:status = 'done') = (done_at IS NOT NULL)) "
    "ORDER BY ts DESC, id DESC LIMIT :limit"
)
#: A decision's tasks: those its own group created naming it.
TASKS_OF_DECISION: Final = (
    f"SELECT {_TASK_COLUMNS} FROM tasks AS t "  # noqa: S608
    "WHERE t.decision = :decision AND t.feed = :feed ORDER BY t.ts, t.id"
)
REFS_OF_DECISION: Final = (
    "SELECT * FROM decision_refs WHERE decision = :decision "  # noqa: S608
    f"AND feed {_NOT_BLOCKED} ORDER BY ts, id"
)
GROUP_NAME: Final = "SELECT name FROM groups WHERE feed = ?"
