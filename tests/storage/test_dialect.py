"""SQLite → PostgreSQL translation: each rule, then every statement on PostgreSQL.

The unit tests pin each rule of :mod:`node.storage.dialect`, tricky cases
included. The PostgreSQL half (skipped, saying why, when no server answers at
``TREDEGAR_TEST_POSTGRES_URL``) creates every read model's tables (search
aside: it has its own PostgreSQL statements), the federation tables and the
private key tables through :class:`~node.storage.pgcursor.PgCursor` in a fresh
schema, then has PostgreSQL PREPARE every other statement constant of the read
models, so each one is parsed and type-checked; a failure names the statement.
"""

from __future__ import annotations

import importlib
import re
import uuid
from collections.abc import Iterator
from typing import Any, cast

import psycopg
import pytest
from psycopg import sql as pgsql

from node.projections import activity_sql, campaigns_sql, sql
from node.projections.recorder import MODELS
from node.storage.dialect import UntranslatableError, learn, pragma, translate
from node.storage.federation import FEDERATION_TABLES
from node.storage.pgcursor import PgCursor
from node.storage.private import casework_keys, vault
from tests.pg import require_postgres, server_url

# -- rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sqlite", "postgres"),
    [
        (
            "SELECT a FROM t WHERE b = ? AND c = ?",
            "SELECT a FROM t WHERE b = %s AND c = %s",
        ),
        ("SELECT :a, :b_2", "SELECT %(a)s, %(b_2)s"),
        # Not inside literals or quoted identifiers; a literal % is doubled.
        (
            "SELECT '?', ':x', \"?\" FROM t WHERE a = ?",
            "SELECT '?', ':x', \"?\" FROM t WHERE a = %s",
        ),
        ("SELECT 'it''s :x ?' WHERE a = :a", "SELECT 'it''s :x ?' WHERE a = %(a)s"),
        (
            "SELECT a FROM t WHERE b LIKE 'x%' AND c LIKE ?",
            "SELECT a FROM t WHERE b LIKE 'x%%' AND c LIKE %s",
        ),
        ("SELECT a % 2 FROM t", "SELECT a %% 2 FROM t"),
        # A :: cast is no parameter, before or after one.
        ("SELECT x::text, :y::bigint", "SELECT x::text, %(y)s::bigint"),
        (
            "SELECT a -- :not ? a parameter\nFROM t",
            "SELECT a -- :not ? a parameter\nFROM t",
        ),
    ],
)
def test_placeholders(sqlite: str, postgres: str) -> None:
    assert translate(sqlite) == postgres


@pytest.mark.parametrize(
    ("sqlite", "postgres"),
    [
        ("SELECT instr(a, ?) > 0", "SELECT strpos(a, %s) > 0"),
        ("SELECT a FROM t LIMIT -1 OFFSET ?", "SELECT a FROM t LIMIT ALL OFFSET %s"),
        ("SELECT a FROM t LIMIT - 1", "SELECT a FROM t LIMIT ALL"),
        ("SELECT a FROM t LIMIT -10", "SELECT a FROM t LIMIT -10"),
        ("SELECT max(a, b), MIN(a, 2, c)", "SELECT GREATEST(a, b), LEAST(a, 2, c)"),
        ("SELECT max(a), min(b) FROM t", "SELECT max(a), min(b) FROM t"),
        # Nested: the outer max has two arguments, the inner ones one.
        (
            "SELECT max((SELECT max(x) FROM u), min(f(a, b), c))",
            "SELECT GREATEST((SELECT max(x) FROM u), LEAST(f(a, b), c))",
        ),
        (
            "SELECT CAST(a AS INTEGER), CAST(b AS TEXT)",
            "SELECT CAST(a AS BIGINT), CAST(b AS TEXT)",
        ),
        (
            "SELECT CAST(max(a, CAST(b AS int)) AS integer)",
            "SELECT CAST(GREATEST(a, CAST(b AS BIGINT)) AS BIGINT)",
        ),
        ("SELECT 1 WHERE a IS ?", "SELECT 1 WHERE a IS NOT DISTINCT FROM %s"),
        ("SELECT 1 WHERE a IS NOT b.c", "SELECT 1 WHERE a IS DISTINCT FROM b.c"),
        (
            "SELECT 1 WHERE a IS NULL AND b IS NOT NULL",
            "SELECT 1 WHERE a IS NULL AND b IS NOT NULL",
        ),
        (
            "SELECT 1 WHERE a IS TRUE OR b IS NOT FALSE",
            "SELECT 1 WHERE a IS TRUE OR b IS NOT FALSE",
        ),
        ("SELECT 1 WHERE a == 1", "SELECT 1 WHERE a = 1"),
        (
            "SELECT json_extract(e.wire, '$.body.new_feed') FROM events AS e",
            "SELECT (CAST(e.wire AS jsonb) #>> '{body,new_feed}') FROM events AS e",
        ),
        (
            "SELECT json_extract(x, '$.a[2].b')",
            "SELECT (CAST(x AS jsonb) #>> '{a,2,b}')",
        ),
    ],
)
def test_expressions(sqlite: str, postgres: str) -> None:
    assert translate(sqlite) == postgres


@pytest.mark.parametrize(
    ("sqlite", "postgres"),
    [
        (
            "SELECT 1 FROM json_each(:words) AS w WHERE instr(m, w.value) = 0",
            "SELECT 1 FROM jsonb_array_elements_text(CAST(%(words)s AS jsonb)) "
            "AS w(value) WHERE strpos(m, w.value) = 0",
        ),
        (
            "SELECT 1 FROM json_each(t.tags) wanted WHERE wanted.value = ?",
            "SELECT 1 FROM jsonb_array_elements_text(CAST(t.tags AS jsonb)) "
            "wanted(value) WHERE wanted.value = %s",
        ),
        (
            "a NOT IN (SELECT value FROM json_each(:blocked))",
            "a NOT IN (SELECT value FROM jsonb_array_elements_text("
            "CAST(%(blocked)s AS jsonb)) AS _each1(value))",
        ),
        (
            "SELECT value FROM json_each(coalesce(?, '[]')) WHERE value = ?",
            "SELECT value FROM jsonb_array_elements_text(CAST(coalesce(%s, '[]') "
            "AS jsonb)) AS _each1(value) WHERE value = %s",
        ),
    ],
)
def test_json_each(sqlite: str, postgres: str) -> None:
    assert translate(sqlite) == postgres


def test_subqueries_in_from_get_an_alias() -> None:
    statement = (
        "SELECT * FROM (SELECT * FROM (SELECT a FROM t) WHERE a > 1) WHERE a < ?"
    )
    assert translate(statement) == (
        "SELECT * FROM (SELECT * FROM (SELECT a FROM t) AS _sub1 WHERE a > 1) "
        "AS _sub2 WHERE a < %s"
    )
    named = "SELECT * FROM (SELECT a FROM t) AS x JOIN (SELECT b FROM u) y ON 1 = 1"
    assert translate(named) == named


def test_create_table() -> None:
    statement = (
        "CREATE TABLE IF NOT EXISTS dialect_things (id TEXT PRIMARY KEY, "
        "position INTEGER NOT NULL, text TEXT, body BLOB NOT NULL, "
        "failures INTEGER NOT NULL DEFAULT 0, share REAL) WITHOUT ROWID"
    )
    assert translate(statement) == (
        'CREATE TABLE IF NOT EXISTS dialect_things (id TEXT COLLATE "C" PRIMARY KEY, '
        'position BIGINT NOT NULL, text TEXT COLLATE "C", body BYTEA NOT NULL, '
        "failures BIGINT NOT NULL DEFAULT 0, share DOUBLE PRECISION)"
    )
    shape = learn(statement)
    assert shape.columns == ("id", "position", "text", "body", "failures", "share")
    assert shape.primary_key == ("id",)
    index = "CREATE INDEX IF NOT EXISTS dialect_things_at ON dialect_things (text)"
    assert translate(index) == index


def test_insert_or_ignore() -> None:
    assert translate("INSERT OR IGNORE INTO t VALUES (?, ?)") == (
        "INSERT INTO t VALUES (%s, %s) ON CONFLICT DO NOTHING"
    )
    assert translate("insert or ignore into t (a) values (:a) returning a") == (
        "INSERT into t (a) values (%(a)s) ON CONFLICT DO NOTHING returning a"
    )


def test_insert_or_replace_updates_every_other_column() -> None:
    learn(
        "CREATE TABLE dialect_pairs (feed TEXT, seq INTEGER, a BLOB, b TEXT, "
        "PRIMARY KEY (feed, seq)) WITHOUT ROWID"
    )
    assert translate("INSERT OR REPLACE INTO dialect_pairs VALUES (?, ?, ?, ?);") == (
        "INSERT INTO dialect_pairs VALUES (%s, %s, %s, %s) "
        'ON CONFLICT ("feed", "seq") DO UPDATE SET "a" = excluded."a", '
        '"b" = excluded."b";'
    )
    learn("CREATE TABLE dialect_keys_only (k TEXT PRIMARY KEY)")
    assert translate("REPLACE INTO dialect_keys_only (k) VALUES (?)") == (
        'INSERT INTO dialect_keys_only (k) VALUES (%s) ON CONFLICT ("k") DO NOTHING'
    )


def test_a_changed_table_is_learned_again() -> None:
    learn("CREATE TABLE dialect_changing (k TEXT PRIMARY KEY, a TEXT)")
    statement = "INSERT OR REPLACE INTO dialect_changing VALUES (?, ?, ?)"
    assert translate(statement).endswith('SET "a" = excluded."a"')  # type: ignore[union-attr]
    learn("CREATE TABLE dialect_changing (k TEXT PRIMARY KEY, a TEXT, b INTEGER)")
    assert translate(statement).endswith(  # type: ignore[union-attr]
        'SET "a" = excluded."a", "b" = excluded."b"'
    )


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("PRAGMA secure_delete = ON", ("secure_delete", "ON")),
        ("PRAGMA wal_checkpoint(TRUNCATE)", ("wal_checkpoint", "TRUNCATE")),
        ("PRAGMA user_version", ("user_version", None)),
        ("pragma main.user_version = 3;", ("user_version", "3")),
    ],
)
def test_pragmas_are_left_to_the_cursor(
    statement: str, expected: tuple[str, str | None]
) -> None:
    assert translate(statement) is None
    assert pragma(statement) == expected


@pytest.mark.parametrize(
    "statement",
    [
        "PRAGMA journal_mode = WAL",
        "CREATE VIRTUAL TABLE IF NOT EXISTS s USING fts5(title)",
        "INSERT OR REPLACE INTO dialect_never_created VALUES (?)",
        "INSERT OR IGNORE INTO t VALUES (?) ON CONFLICT DO NOTHING",
        "SELECT ?1",
        "SELECT ?, :a",
        "SELECT (a",
        "SELECT a)",
        "SELECT 'unterminated",
        "SELECT json_extract(a, ?)",
        "SELECT json_extract(a, '$.a b')",
        "SELECT value FROM json_each(a, '$.b')",
        "CREATE TABLE t (a TEXT COLLATE NOCASE)",
        "CREATE TABLE t (a INTEGER PRIMARY KEY AUTOINCREMENT)",
    ],
)
def test_untranslatable(statement: str) -> None:
    with pytest.raises(UntranslatableError):
        translate(statement)


def test_untranslatable_is_a_programming_error() -> None:
    assert UntranslatableError.code == "internal"
    with pytest.raises(UntranslatableError):
        learn("SELECT 1")


# -- every statement on PostgreSQL -------------------------------------------

_MODULES = (
    "sql",
    *("activity_sql", "campaigns_sql", "delegates_sql", "ideas_sql"),
    *("knowhow_sql", "meetings_sql", "mutualaid_sql", "networks_sql", "pledges_sql"),
)
_RUNNABLE = ("select", "insert", "update", "delete", "replace", "with")
#: Types tried, in turn, for a parameter PostgreSQL cannot type from its first
#: use (``:x IS NULL OR col = :x``); at run time it is a literal, typed there.
_CANDIDATES = ("text", "bigint")


def _strings(value: object, label: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield label, value
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            yield from _strings(item, f"{label}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{label}[{key!r}]")


def _statements() -> list[tuple[str, str]]:
    """Every runnable statement constant of the read models, search aside."""
    found = []
    for module_name in _MODULES:
        module = importlib.import_module(f"node.projections.{module_name}")
        for name, value in vars(module).items():
            if name.startswith("_") or not name.isupper() or "SEARCH" in name:
                continue
            for label, text in _strings(value, f"{module_name}.{name}"):
                if text.split(None, 1)[0].lower() in _RUNNABLE:
                    found.append((label, text))
    return found


def _numbered(statement: str) -> tuple[str, int]:
    """psycopg placeholders as PREPARE's ``$n``, and how many there are."""
    numbers: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        if match.group(0) == "%%":
            return "%"
        key = match.group(1) or f"#{len(numbers)}"
        numbers.setdefault(key, len(numbers) + 1)
        return f"${numbers[key]}"

    return re.sub(r"%%|%\((\w+)\)s|%s", number, statement), len(numbers)


def _prepare_error(connection: psycopg.Connection[Any], statement: str) -> str | None:
    """PREPARE ``statement``; None when PostgreSQL accepts it, else the error.

    A parameter PostgreSQL cannot type gets each of ``_CANDIDATES`` in turn,
    depth first, until the statement prepares or every choice failed.
    """
    text, count = _numbered(statement)
    chosen: list[tuple[int, int]] = []
    while True:
        types = dict(chosen)
        declared = ", ".join(
            _CANDIDATES[types[n]] if n in types else "unknown"
            for n in range(1, count + 1)
        )
        head = (
            f"PREPARE dialect_check ({declared})" if count else "PREPARE dialect_check"
        )
        try:
            connection.execute(f"{head} AS {text}")
        except psycopg.Error as error:
            message = str(error).splitlines()[0]
        else:
            connection.execute("DEALLOCATE dialect_check")
            return None
        untyped = re.search(r"data type of parameter \$(\d+)", message)
        if untyped and int(untyped.group(1)) not in types:
            chosen.append((int(untyped.group(1)), 0))
            continue
        while chosen and chosen[-1][1] + 1 == len(_CANDIDATES):
            chosen.pop()
        if not chosen:
            return message
        parameter, choice = chosen.pop()
        chosen.append((parameter, choice + 1))


@pytest.fixture(scope="module")
def connection() -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection in a fresh schema, dropped afterwards."""
    require_postgres()
    schema = f"dialect_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url(), autocommit=True) as connection:
        connection.execute(
            pgsql.SQL("CREATE SCHEMA {}").format(pgsql.Identifier(schema))
        )
        connection.execute(
            pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(schema))
        )
        try:
            _create_everything(PgCursor(connection))
            yield connection
        finally:
            connection.execute(
                pgsql.SQL("DROP SCHEMA {} CASCADE").format(pgsql.Identifier(schema))
            )


def _create_everything(cursor: PgCursor) -> None:
    for model in MODELS:
        if model.__name__.rsplit(".", 1)[-1] != "search":  # type: ignore[attr-defined]
            model.create(cast(Any, cursor))
    for statement in (*FEDERATION_TABLES, vault._SCHEMA, casework_keys._SCHEMA):
        cursor.execute(statement)
    # eventsourcing's tracking table, which sql.DELETE_TRACKING names.
    cursor.execute_postgres(
        "CREATE TABLE tracking (application_name text, notification_id bigint)"
    )


def test_every_statement_prepares(connection: psycopg.Connection[Any]) -> None:
    statements = _statements()
    assert len(statements) > 100
    failures = []
    for label, statement in statements:
        translated = translate(statement)
        assert translated is not None, label
        error = _prepare_error(connection, translated)
        if error is not None:
            failures.append(f"{label}: {error}")
    assert failures == []


def test_the_check_can_fail(connection: psycopg.Connection[Any]) -> None:
    assert _prepare_error(connection, "SELECT max(a IS NOT NULL) FROM groups AS a")
    assert _prepare_error(connection, "SELECT %s IS NULL") is None
    assert (
        _prepare_error(
            connection,
            "SELECT 1 FROM groups WHERE %(a)s IS NULL OR lat_e6 BETWEEN %(a)s AND 5",
        )
        is None
    )


def test_every_model_resets(connection: psycopg.Connection[Any]) -> None:
    cursor = PgCursor(connection)
    for model in MODELS:
        if model.__name__.rsplit(".", 1)[-1] != "search":  # type: ignore[attr-defined]
            model.reset(cast(Any, cursor))
    cursor.execute("SELECT count(*) FROM campaigns")
    assert cursor.fetchone() == (0,)


# -- a few statements end to end -------------------------------------------------


def _group(feed: str, name: str, seq: int, **fields: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(
        ("area", "description", "how_to_join", "place_name", "lat_e6", "lon_e6"),
    )
    row |= {"url": None, "moved_from": None, "tags": '["housing"]'}
    row |= {"feed": feed, "name": name, "profile_seq": seq, "updated_ts": 2**41}
    row |= {"sort_name": name.casefold(), "match_text": f"{name}".casefold()}
    return row | fields


def test_events_and_groups(connection: psycopg.Connection[Any]) -> None:
    cursor = PgCursor(connection)
    moved = '{"body":{"new_feed":"feed-b"},"type":"feed.moved"}'
    for position, feed, type_, wire in (
        (1, "feed-a", "group.profile_set", "{}"),
        (2, "feed-a", "feed.moved", moved),
        (3, "feed-b", "group.profile_set", "{}"),
    ):
        row = (position, feed, position, f"id-{position}", type_, 2**41 + position)
        cursor.execute(sql.INSERT_EVENT, (*row, wire, False, True))
    page = {"feed": "feed-a", "after": 0, "limit": 10}
    rows = cursor.execute(sql.LIST_EVENTS[True, False], page).fetchall()
    assert [(row[0], row["id"], row["IS_REDACTED"]) for row in rows] == [
        (1, "id-1", 0),
        (2, "id-2", 0),
    ]
    assert dict(rows[1])["wire"] == moved
    assert rows[1].keys()[-2:] == ["wire", "is_redacted"]
    cursor.execute(sql.UPSERT_GROUP, _group("feed-a", "Tenants", 1))
    cursor.execute(
        sql.UPSERT_GROUP, _group("feed-b", "Tenants 2", 3, moved_from="feed-a")
    )
    # An older profile never replaces a newer one (the upsert's WHERE).
    cursor.execute(sql.UPSERT_GROUP, _group("feed-b", "Old name", 2, tags="[]"))
    listing = {"after_name": "", "after_feed": "", "q": "tenants", "limit": 5}
    cursor.execute(sql.LIST_GROUPS, listing | {"tag": "housing"})
    # feed-a moved to feed-b (json_extract of its feed.moved): listed once.
    assert [(row["feed"], row["name"]) for row in cursor] == [("feed-b", "Tenants 2")]
    cursor.execute(sql.LIST_GROUPS, listing | {"tag": "repairs"})
    assert cursor.fetchall() == []


def test_insert_or_replace_twice(connection: psycopg.Connection[Any]) -> None:
    cursor = PgCursor(connection)
    row = ["report-1", 7, "feed-a", 3, 2**41, 2**40, 2**40 + 10, '{"held": 1}']
    cursor.execute(activity_sql.INSERT, row)
    cursor.execute(activity_sql.INSERT, [*row[:-1], '{"held": 2}'])
    assert cursor.rowcount == 1
    cursor.execute("SELECT counts, ends_at - starts_at AS span FROM activity_reports")
    assert cursor.fetchall() == [('{"held": 2}', 10)]


def test_json_each_filters(connection: psycopg.Connection[Any]) -> None:
    cursor = PgCursor(connection)
    campaign: dict[str, object] = dict.fromkeys(
        ("target_kind", "description", "area", "place_name", "lat_e6", "lon_e6"),
    )
    campaign |= {"id": "c-1", "position": 9, "feed": "feed-c", "ts": 2**41, "url": None}
    campaign |= {"title": "Save the library", "target_name": "Council", "tags": "[]"}
    campaign |= {"demands": "[]", "network": None, "area_fold": "", "target_fold": ""}
    cursor.execute(campaigns_sql.INSERT_CAMPAIGN, campaign | {"match_text": "library"})
    found = []
    for blocked in ("[]", '["feed-x", "feed-c"]', '["feed-x"]'):
        cursor.execute(campaigns_sql.GET_CAMPAIGN, {"id": "c-1", "blocked": blocked})
        found.append([row["title"] for row in cursor.fetchall()])
    assert found == [["Save the library"], [], ["Save the library"]]
