"""PostgreSQL for tests: a scratch schema per test on a reachable server.

The PostgreSQL half of the suite runs whenever a server answers at
``TREDEGAR_TEST_POSTGRES_URL`` (default: the local server, user ``postgres``,
database ``postgres``; ``.ci/run`` starts or installs one). Each test gets its
own schema, named in the node's ``database_url`` (``?schema=…``), dropped
afterwards; when no server answers, PostgreSQL cases skip with the reason.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from psycopg import sql

from node.config import Settings
from node.storage.private import DB_FILE

__all__ = [
    "BACKENDS",
    "SKIP_REASON",
    "available",
    "require_postgres",
    "scratch_url",
    "server_url",
]

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
#: The backends a parametrised storage fixture runs on.
BACKENDS = ["sqlite", "postgresql"]


def server_url() -> str:
    """The test server's URL (without a schema)."""
    return os.environ.get("TREDEGAR_TEST_POSTGRES_URL", DEFAULT_URL)


@functools.cache
def _probe() -> str | None:
    try:
        with psycopg.connect(server_url(), connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        return f"no PostgreSQL server at {server_url()}: {error}".strip()
    return None


def available() -> bool:
    """True when the test server answers."""
    return _probe() is None


SKIP_REASON = "PostgreSQL is not reachable (set TREDEGAR_TEST_POSTGRES_URL)"


def require_postgres() -> None:
    """Skip the calling test, saying why, when no server answers."""
    reason = _probe()
    if reason is not None:
        pytest.skip(reason)


#: Emptied schemas of this test process, ready for the next test: a node's
#: tables are then already made, which saves most of a second per test.
_SPARE: list[str] = []


@contextmanager
def scratch_url(prefix: str = "t") -> Iterator[str]:
    """A ``database_url`` naming an empty schema of its own, for one test.

    Schemas are reused: at the end each is emptied (every table truncated,
    sequences restarted) and kept for a later test of this process; one that
    cannot be emptied is dropped instead. All are dropped at exit.
    """
    require_postgres()
    schema = _SPARE.pop() if _SPARE else f"{prefix}_{uuid.uuid4().hex[:16]}"
    separator = "&" if "?" in server_url() else "?"
    try:
        yield f"{server_url()}{separator}schema={schema}"
    finally:
        if _empty(schema):
            _SPARE.append(schema)
        else:
            _drop(schema)


def _empty(schema: str) -> bool:
    # DELETE, not TRUNCATE: on a few rows it is far cheaper (TRUNCATE makes
    # new files for every table and index).
    try:
        with psycopg.connect(server_url()) as connection:
            connection.execute("SET lock_timeout = '5s'")
            for (name,) in connection.execute(
                # The read models' version stamp stays: their tables are
                # still of this version, only empty.
                "SELECT tablename FROM pg_tables WHERE schemaname = %s "
                "AND tablename <> 'tredegar_meta'",
                (schema,),
            ).fetchall():
                connection.execute(
                    sql.SQL("DELETE FROM {}").format(sql.Identifier(schema, name))
                )
            connection.execute(
                "SELECT setval(format('%%I.%%I', sequence_schema, sequence_name), "
                "1, false) FROM information_schema.sequences "
                "WHERE sequence_schema = %s",
                (schema,),
            )
    except psycopg.Error:
        return False
    return True


def _drop(schema: str) -> None:
    with psycopg.connect(server_url(), autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
        )


@atexit.register
def _drop_spares() -> None:
    while _SPARE:
        with contextlib.suppress(psycopg.Error):
            _drop(_SPARE.pop())


def stored_bytes(database_url: str, tables_like: str = "%") -> bytes:
    """Every value stored in a node's schema, as bytes, for "nothing in clear" tests.

    The PostgreSQL twin of reading a SQLite file: text as UTF-8, ``bytea`` as
    its bytes (so a secret stored in a binary column is found too), other
    values as their text.

    Args:
        database_url: The node's ``database_url`` (naming its schema).
        tables_like: A LIKE pattern narrowing the tables read.
    """
    schema = database_url.rsplit("schema=", 1)[1]
    parts: list[bytes] = []
    with psycopg.connect(server_url()) as connection:
        tables = connection.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = %s AND table_name LIKE %s",
            (schema, tables_like),
        ).fetchall()
        for (table,) in tables:
            query = sql.SQL("SELECT * FROM {}.{}").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
            for row in connection.execute(query):
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        parts.append(bytes(value))
                    elif value is not None:
                        parts.append(str(value).encode())
    return b"\n".join(parts)


def private_bytes(settings: Settings) -> bytes:
    """What a node's private data leaves stored: ``private.db`` and its WAL on
    SQLite, every value of the node's schema on PostgreSQL."""
    if settings.database_url:
        return stored_bytes(settings.database_url)
    paths = [settings.path(DB_FILE), settings.path(DB_FILE + "-wal")]
    return b"".join(path.read_bytes() for path in paths if path.exists())
