"""A cursor that runs the node's SQLite statements on PostgreSQL.

The read models, the federation tables and the private key tables call
``cursor.execute(sql, params)``, ``executemany``, ``fetchone``, ``fetchall``
and read rows by name and by position, as with ``sqlite3``. :class:`PgCursor`
offers the same on a ``psycopg.Connection``: each statement goes through
:func:`node.storage.dialect.translate` and runs on a ``psycopg.ClientCursor``
(parameters bound client-side as literals), and each row comes back as a
:class:`Row`, with values as SQLite would give them (an integral ``Decimal``,
as PostgreSQL sums bigints, becomes an ``int``; ``memoryview`` becomes
``bytes``; a boolean becomes 0 or 1).

The PRAGMAs the models issue have no PostgreSQL statement, so the cursor
carries them out: ``secure_delete`` does nothing (PostgreSQL never leaves a
deleted row readable through SQL, and VACUUM reclaims it); ``wal_checkpoint``
answers one row ``(0, 0, 0)``, "not busy"; ``user_version`` reads or writes
the row ``user_version`` of the one-row-per-key table ``tredegar_meta``
(created when missing).

Code written for PostgreSQL itself (the full-text search model) runs its
statements untranslated with :meth:`PgCursor.execute_postgres`. Code that
must tell the backends apart checks ``getattr(cursor, "dialect", "sqlite")``:
``"postgresql"`` here.

The cursor never begins or ends a transaction: the connection is inside one
that the caller manages. psycopg's errors are raised as eventsourcing's
(``IntegrityError`` for a unique or other constraint, which callers already
catch; a ``PersistenceError`` subclass for the rest), from the original.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, SupportsIndex, overload

import psycopg
from eventsourcing import persistence
from psycopg.rows import tuple_row

from node.storage import dialect

__all__ = ["META_TABLE", "PgCursor", "Row"]

#: Where ``PRAGMA user_version`` is kept on PostgreSQL.
META_TABLE: Final = "tredegar_meta"
_CREATE_META = (
    "CREATE TABLE IF NOT EXISTS tredegar_meta "
    '(key text COLLATE "C" PRIMARY KEY, value bigint)'
)
_READ_VERSION = "SELECT value FROM tredegar_meta WHERE key = 'user_version'"
_WRITE_VERSION = (
    "INSERT INTO tredegar_meta VALUES ('user_version', %s) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)
#: An upsert whose table's shape the translator must know.
_UPSERT = re.compile(r"\s*INSERT\s+OR\s+REPLACE\s+INTO\s+(\w+)", re.IGNORECASE)
#: A table's columns in order, and its primary key in key order, in the first
#: schema of the search path (the node's).
_COLUMNS = (
    "SELECT column_name FROM information_schema.columns "
    "WHERE table_schema = current_schema() AND table_name = %s "
    "ORDER BY ordinal_position"
)
_PRIMARY_KEY = (
    "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
    "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
    "WHERE i.indrelid = to_regclass(quote_ident(current_schema()) || '.' || "
    "quote_ident(%s)) AND i.indisprimary "
    "ORDER BY array_position(i.indkey::int2[], a.attnum)"
)
#: psycopg's error classes → eventsourcing's, most specific first.
_ERRORS: tuple[tuple[type[psycopg.Error], type[persistence.PersistenceError]], ...] = (
    (psycopg.IntegrityError, persistence.IntegrityError),
    (psycopg.InterfaceError, persistence.InterfaceError),
    (psycopg.OperationalError, persistence.OperationalError),
    (psycopg.DataError, persistence.DataError),
    (psycopg.InternalError, persistence.InternalError),
    (psycopg.ProgrammingError, persistence.ProgrammingError),
    (psycopg.NotSupportedError, persistence.NotSupportedError),
    (psycopg.DatabaseError, persistence.DatabaseError),
)

Params = Sequence[Any] | Mapping[str, Any]


class Row(tuple[Any, ...]):
    """A result row read like ``sqlite3.Row``: by position or by column name.

    ``row[0]``, ``row["name"]`` (names match without regard to case; the first
    column of that name wins), ``keys()``, ``len(row)``, iteration over the
    values, ``dict(row)``; it equals the tuple of its values.
    """

    _names: tuple[str, ...]

    def __new__(cls, values: Sequence[Any], names: tuple[str, ...]) -> Row:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def keys(self) -> list[str]:
        """The column names, in order."""
        return list(self._names)

    @overload
    def __getitem__(self, key: SupportsIndex | str) -> Any: ...

    @overload
    def __getitem__(self, key: slice) -> tuple[Any, ...]: ...

    def __getitem__(self, key: SupportsIndex | slice | str) -> Any:
        if not isinstance(key, str):
            return super().__getitem__(key)
        if key in self._names:
            return super().__getitem__(self._names.index(key))
        folded = key.casefold()
        for index, column in enumerate(self._names):
            if column.casefold() == folded:
                return super().__getitem__(index)
        raise IndexError(f"no column {key!r}")


def _sqlite_value(value: Any) -> Any:
    """A value read back as SQLite would answer it."""
    if isinstance(value, bool):
        return int(value)
    return _value(value)


def _value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _parameter(value: Any) -> Any:
    """A parameter as PostgreSQL should receive it (a bool is SQLite's 0/1)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    return value


def _parameters(params: Params) -> Params:
    if isinstance(params, Mapping):
        return {key: _parameter(value) for key, value in params.items()}
    return [_parameter(value) for value in params]


def _wrap(error: psycopg.Error) -> persistence.PersistenceError:
    for source, target in _ERRORS:
        if isinstance(error, source):
            return target(str(error))
    return persistence.PersistenceError(str(error))


class PgCursor:
    """A sqlite3-like cursor over a ``psycopg.Connection`` in a transaction."""

    #: Which SQL this cursor runs; a SQLite cursor has no such attribute, so
    #: code checks ``getattr(cursor, "dialect", "sqlite")``.
    dialect: Final = "postgresql"
    #: Rows ``fetchmany`` reads when given no size, as in sqlite3.
    arraysize = 1

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        """Open a client-side-binding cursor on ``connection``."""
        self.connection = connection
        self._cursor = psycopg.ClientCursor(connection, row_factory=tuple_row)
        self._rows: list[Row] | None = None  # made up for a PRAGMA
        self._names: tuple[str, ...] = ()
        self._is_native = False

    def execute(self, sql: str, params: Params = ()) -> PgCursor:
        """Translate a SQLite statement and run it.

        Args:
            sql: The statement, with ``?`` or ``:name`` parameters.
            params: A sequence for ``?``, a mapping for ``:name``.

        Returns:
            This cursor, to fetch from.

        Raises:
            UntranslatableError: The statement has no PostgreSQL form.
            eventsourcing.persistence.IntegrityError: A constraint refused it.
            eventsourcing.persistence.PersistenceError: PostgreSQL failed it.
        """
        statement = self._translate(sql)
        if statement is None:
            self._pragma(*dialect.pragma(sql))
        else:
            self._run(statement, _parameters(params), is_native=False)
        return self

    def executemany(self, sql: str, seq_of_params: Sequence[Params]) -> PgCursor:
        """Translate a SQLite statement once and run it for each parameter set."""
        statement = self._translate(sql)
        if statement is None:
            for params in seq_of_params:
                self.execute(sql, params)
            return self
        self._rows = None
        self._names = ()
        try:
            self._cursor.executemany(statement, [_parameters(p) for p in seq_of_params])
        except psycopg.Error as e:
            raise _wrap(e) from e
        return self

    def _translate(self, sql: str) -> str | None:
        """Translate, first reading an upserted table's shape if it is unknown.

        ``INSERT OR REPLACE`` needs the table's columns and key; a table made
        by an earlier run or another worker is looked up in the catalogue.
        """
        upsert = _UPSERT.match(sql)
        if upsert is not None and not dialect.is_known(upsert.group(1).lower()):
            self._learn_shape(upsert.group(1).lower())
        return dialect.translate(sql)

    def _learn_shape(self, table: str) -> None:
        try:
            with self.connection.cursor(row_factory=tuple_row) as cursor:
                cursor.execute(_COLUMNS, (table,))
                columns = tuple(str(row[0]) for row in cursor.fetchall())
                cursor.execute(_PRIMARY_KEY, (table,))
                key = tuple(str(row[0]) for row in cursor.fetchall())
        except psycopg.Error as e:
            raise _wrap(e) from e
        if columns and key:
            dialect.remember(table, dialect.TableShape(columns, key))

    def execute_postgres(self, sql: str, params: Params = ()) -> PgCursor:
        """Run a PostgreSQL statement as written (psycopg's ``%s`` placeholders).

        Parameters are always passed, so a literal ``%`` is written ``%%``.
        Rows come back as :class:`Row`\\ s with integral ``Decimal``\\ s as
        ``int``, but booleans stay booleans.
        """
        self._run(sql, params, is_native=True)
        return self

    def _run(self, statement: str, params: Params, *, is_native: bool) -> None:
        self._rows = None
        self._is_native = is_native
        try:
            self._cursor.execute(statement, params)
        except psycopg.Error as e:
            raise _wrap(e) from e
        description = self._cursor.description or ()
        self._names = tuple(column.name for column in description)

    def _pragma(self, name: str, value: str | None) -> None:
        rows: list[tuple[Any, ...]] = []
        self._names = ()
        if name == "wal_checkpoint":
            rows = [(0, 0, 0)]
            self._names = ("busy", "log", "checkpointed")
        elif name == "user_version":
            self._run(_CREATE_META, (), is_native=True)
            if value is None:
                self._run(_READ_VERSION, (), is_native=True)
                found = self._cursor.fetchone()
                rows = [(int(found[0]) if found else 0,)]
            else:
                self._run(_WRITE_VERSION, (int(value),), is_native=True)
            self._names = ("user_version",)
        self._rows = [Row(row, self._names) for row in rows]

    def _row(self, values: Sequence[Any]) -> Row:
        convert = _value if self._is_native else _sqlite_value
        return Row([convert(value) for value in values], self._names)

    def fetchone(self) -> Row | None:
        """The next row, or None when there are no more (or no result)."""
        if self._rows is not None:
            return self._rows.pop(0) if self._rows else None
        if self._cursor.description is None:
            return None
        try:
            found = self._cursor.fetchone()
        except psycopg.Error as e:
            raise _wrap(e) from e
        return None if found is None else self._row(found)

    def fetchmany(self, size: int | None = None) -> list[Row]:
        """Up to ``size`` further rows (``arraysize``, 1, by default)."""
        count = self.arraysize if size is None else size
        rows: list[Row] = []
        while len(rows) < count and (row := self.fetchone()) is not None:
            rows.append(row)
        return rows

    def fetchall(self) -> list[Row]:
        """Every remaining row."""
        if self._rows is not None:
            rows, self._rows = self._rows, []
            return rows
        if self._cursor.description is None:
            return []
        try:
            return [self._row(values) for values in self._cursor.fetchall()]
        except psycopg.Error as e:
            raise _wrap(e) from e

    @property
    def rowcount(self) -> int:
        """Rows the last statement changed or returned; -1 when unknown."""
        return -1 if self._rows is not None else self._cursor.rowcount

    @property
    def description(
        self,
    ) -> tuple[tuple[str, None, None, None, None, None, None], ...] | None:
        """The result's column names in sqlite3's seven-item form; None without one."""
        if not self._names:
            return None
        return tuple((name, None, None, None, None, None, None) for name in self._names)

    def __iter__(self) -> Iterator[Row]:
        while (row := self.fetchone()) is not None:
            yield row

    def close(self) -> None:
        """Close the psycopg cursor (not the connection)."""
        self._cursor.close()

    def __enter__(self) -> PgCursor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
