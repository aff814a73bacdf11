"""The PostgreSQL cursor: rows like sqlite3's, PRAGMAs, values, errors.

:class:`~node.storage.pgcursor.Row` is tested on its own; the rest runs on a
real server in a scratch schema (skipped, saying why, when none answers at
``TREDEGAR_TEST_POSTGRES_URL``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from eventsourcing import persistence
from psycopg import sql as pgsql

from node.storage.federation import FEDERATION_TABLES
from node.storage.pgcursor import PgCursor, Row
from node.storage.private import vault
from tests.pg import require_postgres, server_url

# -- rows --------------------------------------------------------------------


def test_row_reads_like_sqlite3_row() -> None:
    row = Row([1, "a", None], ("id", "Name", "note"))
    assert (row[0], row["id"], row["name"], row["NAME"], row[-1]) == (
        1,
        1,
        "a",
        "a",
        None,
    )
    assert row[1:] == ("a", None)
    assert row.keys() == ["id", "Name", "note"]
    assert len(row) == 3
    assert list(row) == [1, "a", None]
    assert dict(row) == {"id": 1, "Name": "a", "note": None}
    with pytest.raises(IndexError):
        row["missing"]
    with pytest.raises(IndexError):
        row[len(row)]
    assert hash(row) == hash((1, "a", None))
    assert row == (1, "a", None)


def test_the_first_column_of_a_name_wins() -> None:
    row = Row([1, 2], ("feed", "feed"))
    assert row["feed"] == 1


# -- on PostgreSQL -----------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> Iterator[str]:
    """A scratch schema holding the federation and member-key tables."""
    require_postgres()
    name = f"pgcursor_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url(), autocommit=True) as connection:
        connection.execute(pgsql.SQL("CREATE SCHEMA {}").format(pgsql.Identifier(name)))
        try:
            connection.execute(
                pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(name))
            )
            cursor = PgCursor(connection)
            for statement in (*FEDERATION_TABLES, vault._SCHEMA):
                cursor.execute(statement)
            yield name
        finally:
            connection.execute(
                pgsql.SQL("DROP SCHEMA {} CASCADE").format(pgsql.Identifier(name))
            )


@pytest.fixture
def connection(schema: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection in the scratch schema; what a test leaves is rolled back."""
    with psycopg.connect(server_url()) as connection:
        connection.execute(
            pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(schema))
        )
        connection.commit()  # a rollback would undo the SET too
        yield connection
        connection.rollback()


@pytest.fixture
def cursor(connection: psycopg.Connection[Any]) -> PgCursor:
    """A cursor in the connection's open transaction."""
    return PgCursor(connection)


def test_it_says_which_sql_it_runs(cursor: PgCursor) -> None:
    assert getattr(cursor, "dialect", "sqlite") == "postgresql"


def test_user_version(cursor: PgCursor) -> None:
    assert cursor.execute("PRAGMA user_version").fetchall() == [(0,)]
    cursor.execute("PRAGMA user_version = 7")
    assert cursor.execute("PRAGMA user_version").fetchone() == (7,)
    cursor.execute("PRAGMA user_version = 8")
    row = cursor.execute("PRAGMA user_version").fetchone()
    assert row is not None
    assert row["user_version"] == 8


def test_checkpoint_and_secure_delete(cursor: PgCursor) -> None:
    cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert cursor.fetchone() == (0, 0, 0)
    assert cursor.fetchone() is None
    cursor.execute("PRAGMA secure_delete = ON")
    assert cursor.fetchall() == []


def test_the_caller_owns_the_transaction(connection: psycopg.Connection[Any]) -> None:
    cursor = PgCursor(connection)
    cursor.execute("INSERT INTO blocks VALUES (?, ?, ?)", ("feed-r", "feed", 1))
    connection.rollback()
    cursor = PgCursor(connection)
    assert (
        cursor.execute("SELECT * FROM blocks WHERE value = 'feed-r'").fetchall() == []
    )


def test_insert_or_ignore_counts(cursor: PgCursor) -> None:
    counts = []
    for at in (1, 2):
        cursor.execute(
            "INSERT OR IGNORE INTO blocks VALUES (?, ?, ?)", ("f", "feed", at)
        )
        counts.append(cursor.rowcount)
    assert counts == [1, 0]
    assert cursor.execute("SELECT at FROM blocks WHERE value = 'f'").fetchall() == [
        (1,)
    ]


def test_values_come_back_as_sqlite_gives_them(cursor: PgCursor) -> None:
    big = 2**41
    cursor.executemany(
        "INSERT INTO peers (url, origin, added_at, failures) VALUES (?, ?, ?, ?)",
        [("http://a", "operator", big, True), ("http://b", "learned", big + 1, 0)],
    )
    assert cursor.rowcount == 2
    cursor.execute(
        "SELECT SUM(added_at), AVG(failures), MAX(MAX(failures), 5) FROM peers"
    )
    row = cursor.fetchone()
    assert row is not None
    total, average, greatest = row
    assert (total, average, greatest) == (2 * big + 1, 0.5, 5)
    assert (type(total), type(average)) == (int, float)
    cursor.execute("SELECT ? IS ?, 1 IS NOT ?, 2 = 2", (None, None, 1))
    assert cursor.fetchone() == (1, 0, 1)


def test_bytes_round_trip(cursor: PgCursor) -> None:
    key = bytes(range(256))
    cursor.execute(
        "INSERT INTO member_keys VALUES (?, ?, ?)", ("acct", memoryview(key), None)
    )
    row = cursor.execute("SELECT key FROM member_keys WHERE account_id = 'acct'")
    found = row.fetchone()
    assert found is not None
    assert found["key"] == key
    assert type(found["key"]) is bytes


def test_percent_signs_and_byte_order(cursor: PgCursor) -> None:
    names = ["a%b", "B", "a_b", "é", "z"]
    for name in names:
        cursor.execute("INSERT INTO meta VALUES (?, 'x')", (name,))
    cursor.execute("SELECT key FROM meta WHERE key LIKE 'a%' ORDER BY key")
    assert [row[0] for row in cursor] == ["a%b", "a_b"]
    cursor.execute("SELECT key FROM meta WHERE key LIKE ? ORDER BY key", ("%\\%%",))
    assert cursor.fetchall() == [("a%b",)]
    # TEXT COLLATE "C": bytes order, as SQLite compares.
    cursor.execute("SELECT key FROM meta ORDER BY key LIMIT -1 OFFSET 1")
    assert [row["key"] for row in cursor.fetchmany(10)] == ["a%b", "a_b", "z", "é"]


def test_integrity_error(cursor: PgCursor) -> None:
    cursor.execute("INSERT INTO member_keys VALUES (?, ?, ?)", ("a", b"k", "login"))
    with pytest.raises(persistence.IntegrityError) as caught:
        cursor.execute("INSERT INTO member_keys VALUES (?, ?, ?)", ("b", b"k", "login"))
    assert isinstance(caught.value.__cause__, psycopg.errors.UniqueViolation)


def test_other_errors(cursor: PgCursor) -> None:
    with pytest.raises(persistence.PersistenceError) as caught:
        cursor.execute("SELECT nothing FROM peers")
    assert not isinstance(caught.value, persistence.IntegrityError)
    assert isinstance(caught.value.__cause__, psycopg.Error)


def test_native_statements(cursor: PgCursor) -> None:
    cursor.execute_postgres("SELECT %s::int + 1, 'a%%' LIKE 'a%%', true", (41,))
    assert cursor.fetchone() == (42, True, True)
    assert cursor.execute_postgres("CREATE TEMP TABLE t (a int)").fetchone() is None
    assert cursor.fetchall() == []
    assert cursor.description is None
