"""Every SQL statement of the know-how read model (SQLite, ``readmodels.db``).

``guides``, ``advisers`` and ``questions`` hold one row per valid, unredacted
``guide.published``, ``adviser.listed`` and ``question.asked``. ``answers``
(``answer.posted``) and ``helpful_marks`` (``answer.marked_helpful``) are
keyed by their own event id and indexed by the question or answer they name,
held or not, so they count once it arrives, in whatever order sync delivers.
Blocked feeds arrive as a JSON array parameter (``:blocked``), words as a
JSON array (``:words``) that must all appear in ``match_text``. Some
statements are put together from the constant fragments beside them (hence
``noqa: S608``); no part of any statement comes from input.
"""

from __future__ import annotations

from typing import Final

CREATE: Final = (
    "CREATE TABLE IF NOT EXISTS guides ("
    "id TEXT PRIMARY KEY, position INTEGER NOT NULL, feed TEXT NOT NULL, "
    "seq INTEGER NOT NULL, ts INTEGER NOT NULL, title TEXT NOT NULL, "
    "summary TEXT, text TEXT NOT NULL, tags TEXT NOT NULL, replaces TEXT, "
    "match_text TEXT NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS guides_order ON guides (ts, id)",
    "CREATE INDEX IF NOT EXISTS guides_replaces ON guides (replaces, feed)",
    "CREATE TABLE IF NOT EXISTS advisers ("
    "id TEXT PRIMARY KEY, position INTEGER NOT NULL, feed TEXT NOT NULL, "
    "ts INTEGER NOT NULL, display_name TEXT NOT NULL, role TEXT, "
    "topics TEXT NOT NULL, about TEXT, area TEXT, sort_name TEXT NOT NULL, "
    "match_text TEXT NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS advisers_order ON advisers (sort_name, id)",
    "CREATE TABLE IF NOT EXISTS questions ("
    "id TEXT PRIMARY KEY, position INTEGER NOT NULL, feed TEXT NOT NULL, "
    "ts INTEGER NOT NULL, title TEXT NOT NULL, text TEXT, tags TEXT NOT NULL, "
    "network TEXT, match_text TEXT NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS questions_order ON questions (ts, id)",
    "CREATE TABLE IF NOT EXISTS answers ("
    "id TEXT PRIMARY KEY, position INTEGER NOT NULL, question TEXT NOT NULL, "
    "feed TEXT NOT NULL, ts INTEGER NOT NULL, body TEXT NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS answers_question ON answers (question, feed)",
    "CREATE TABLE IF NOT EXISTS helpful_marks ("
    "id TEXT PRIMARY KEY, position INTEGER NOT NULL, answer TEXT NOT NULL, "
    "feed TEXT NOT NULL, ts INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS helpful_marks_answer ON helpful_marks (answer, feed)",
)
DROP: Final = tuple(
    f"DROP TABLE IF EXISTS {table}"
    for table in ("guides", "advisers", "questions", "answers", "helpful_marks")
)
INSERT_GUIDE: Final = (
    "INSERT OR REPLACE INTO guides VALUES (:id, :position, :feed, :seq, :ts, "
    ":title, :summary, :text, :tags, :replaces, :match_text)"
)
INSERT_ADVISER: Final = (
    "INSERT OR REPLACE INTO advisers VALUES (:id, :position, :feed, :ts, "
    ":display_name, :role, :topics, :about, :area, :sort_name, :match_text)"
)
INSERT_QUESTION: Final = (
    "INSERT OR REPLACE INTO questions VALUES (:id, :position, :feed, :ts, "
    ":title, :text, :tags, :network, :match_text)"
)
INSERT_ANSWER: Final = "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?)"
INSERT_MARK: Final = "INSERT OR REPLACE INTO helpful_marks VALUES (?, ?, ?, ?, ?)"
DELETE: Final = tuple(
    f"DELETE FROM {table} WHERE id = ? AND feed = ?"  # noqa: S608
    for table in ("guides", "advisers", "questions", "answers", "helpful_marks")
)

_NOT_BLOCKED = "NOT IN (SELECT value FROM json_each(:blocked))"
_WORDS = (
    "NOT EXISTS (SELECT 1 FROM json_each(:words) AS w "
    "WHERE instr({table}.match_text, w.value) = 0)"
)
_NEWER = "({t}.ts < :after_ts OR ({t}.ts = :after_ts AND {t}.id < :after_id))"

#: A page of guides, newest first; a version replaced by a later one of the
#: same feed is left out.
LIST_GUIDES: Final = (
    "SELECT * FROM guides "  # noqa: S608
    f"WHERE feed {_NOT_BLOCKED} AND {_NEWER.format(t='guides')} "
    "AND (:feed IS NULL OR feed = :feed) "
    "AND (:tag IS NULL OR EXISTS (SELECT 1 FROM json_each(guides.tags) "
    "WHERE value = :tag)) "
    f"AND {_WORDS.format(table='guides')} "
    "AND NOT EXISTS (SELECT 1 FROM guides AS newer "
    "WHERE newer.replaces = guides.id AND newer.feed = guides.feed) "
    "ORDER BY ts DESC, id DESC LIMIT :limit"
)
GET_GUIDE: Final = f"SELECT * FROM guides WHERE id = :id AND feed {_NOT_BLOCKED}"  # noqa: S608
REPLACED_BY: Final = (
    "SELECT id FROM guides WHERE replaces = ? AND feed = ? ORDER BY seq DESC LIMIT 1"
)

#: A page of advisers by display name, with the listing group's base.
LIST_ADVISERS: Final = (
    "SELECT a.*, g.lat_e6, g.lon_e6 FROM advisers AS a "  # noqa: S608
    "LEFT JOIN groups AS g ON g.feed = a.feed "
    f"WHERE a.feed {_NOT_BLOCKED} "
    "AND (a.sort_name, a.id) > (:after_name, :after_id) "
    "AND (:topic IS NULL OR EXISTS (SELECT 1 FROM json_each(a.topics) "
    "WHERE value = :topic)) "
    f"AND {_WORDS.format(table='a')} "
    "AND (:min_lat IS NULL OR (g.lat_e6 BETWEEN :min_lat AND :max_lat "
    "AND g.lon_e6 BETWEEN :min_lon AND :max_lon)) "
    "ORDER BY a.sort_name, a.id LIMIT :limit"
)

#: An answer ``x`` of question ``q`` from another group, not blocked.
#: 1 or 0, not a boolean: ``:answered`` is compared with it as an integer.
_ANSWERED = (
    "CASE WHEN EXISTS (SELECT 1 FROM answers AS x WHERE x.question = q.id "  # noqa: S608
    f"AND x.feed <> q.feed AND x.feed {_NOT_BLOCKED}) THEN 1 ELSE 0 END"
)
_ANSWER_COUNT = (
    "(SELECT COUNT(*) FROM answers AS x WHERE x.question = q.id "  # noqa: S608
    f"AND x.feed {_NOT_BLOCKED})"
)
_QUESTION = f"SELECT q.*, {_ANSWER_COUNT} AS answers, {_ANSWERED} AS answered"
#: A page of questions, newest first.
LIST_QUESTIONS: Final = (
    f"{_QUESTION} FROM questions AS q "  # noqa: S608
    f"WHERE q.feed {_NOT_BLOCKED} AND {_NEWER.format(t='q')} "
    "AND (:feed IS NULL OR q.feed = :feed) "
    "AND (:network IS NULL OR q.network = :network) "
    "AND (:tag IS NULL OR EXISTS (SELECT 1 FROM json_each(q.tags) "
    "WHERE value = :tag)) "
    f"AND {_WORDS.format(table='q')} "
    f"AND (:answered IS NULL OR :answered = {_ANSWERED}) "
    "ORDER BY q.ts DESC, q.id DESC LIMIT :limit"
)
GET_QUESTION: Final = (
    f"{_QUESTION} FROM questions AS q WHERE q.id = :id AND q.feed {_NOT_BLOCKED}"
)
SELECT_ANSWERS: Final = (
    "SELECT * FROM answers WHERE question = :question "  # noqa: S608
    f"AND feed {_NOT_BLOCKED} ORDER BY ts, id"
)
#: The marks on a question's answers: one per group and answer, never the
#: answering group's own.
SELECT_MARKS: Final = (
    "SELECT DISTINCT m.answer, m.feed FROM helpful_marks AS m "  # noqa: S608
    "JOIN answers AS a ON a.id = m.answer "
    f"WHERE a.question = :question AND m.feed <> a.feed AND m.feed {_NOT_BLOCKED} "
    "ORDER BY m.answer, m.feed"
)
GROUP: Final = "SELECT name, how_to_join FROM groups WHERE feed = ?"
