"""Translating the node's SQLite statements for PostgreSQL (pure: no I/O).

The read models, the federation tables and the private key tables are written
once, as SQLite SQL with sqlite3's ``?`` and ``:name`` parameters. On
PostgreSQL the same statements run through :func:`translate`, which rewrites
each one for psycopg 3's ``ClientCursor`` (client-side binding: parameters
are interpolated as literals, so PostgreSQL types them from their context
much as SQLite's loose typing does). :mod:`node.storage.pgcursor` runs them.

The rewriter works on the token tree of :mod:`node.storage.sqltree`, so a
rule never breaks on nesting or touches a literal. Rules:

- ``?`` → ``%s``, ``:name`` → ``%(name)s``, ``%`` → ``%%`` (psycopg's syntax);
- ``CREATE TABLE``: ``INTEGER`` → ``BIGINT`` (millisecond times pass 2^31),
  ``TEXT`` → ``TEXT COLLATE "C"`` (SQLite compares bytes: keep that order),
  ``BLOB`` → ``BYTEA``, ``REAL`` → ``DOUBLE PRECISION``, no ``WITHOUT
  ROWID``; the columns and primary key are learned (:func:`learn`). An
  ``INTEGER PRIMARY KEY`` is no rowid here: every insert must give it;
- ``INSERT OR IGNORE`` → ``ON CONFLICT DO NOTHING``; ``INSERT OR REPLACE``
  → ``ON CONFLICT (key) DO UPDATE SET`` every other column (table learned);
- ``instr`` → ``strpos``; ``LIMIT -1`` → ``LIMIT ALL``; ``max``/``min`` of
  several arguments → ``GREATEST``/``LEAST``; ``CAST(… AS INTEGER)`` →
  ``BIGINT``; ``IS [NOT] b`` (b a value) → ``IS [NOT] DISTINCT FROM``;
  ``==`` → ``=``; an alias for a subquery in FROM (PostgreSQL 15 wants one);
- ``json_each(x) [AS w]`` → ``jsonb_array_elements_text(CAST(x AS jsonb)) AS
  w(value)``: only ``value`` is read, and ``x`` must be a JSON array (every
  use passes arrays of strings: tags, topics, feeds, words);
- ``json_extract(x, '$.a.b')`` → ``(CAST(x AS jsonb) #>> '{a,b}')``, always
  text (SQLite gives a JSON number as a number);
- ``PRAGMA secure_delete``, ``wal_checkpoint``, ``user_version``: None, for
  the cursor to carry out (:func:`pragma`). Other PRAGMAs, FTS5 tables,
  ``?NNN`` and mixed parameter styles raise :class:`UntranslatableError`.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from node.storage.sqltree import (
    Group,
    Item,
    Token,
    UntranslatableError,
    arguments,
    at,
    dotted_name,
    is_alias,
    is_blank,
    is_op,
    is_word,
    leading_words,
    name,
    parse,
    previous,
    quote,
    raw,
    render,
    significant,
)

__all__ = ["TableShape", "UntranslatableError", "learn", "pragma", "translate"]


@dataclass(frozen=True, slots=True)
class TableShape:
    """A table's columns in order and its primary key, as created."""

    columns: tuple[str, ...]
    primary_key: tuple[str, ...]


#: The PRAGMAs the cursor carries out itself.
_PRAGMAS = frozenset({"secure_delete", "wal_checkpoint", "user_version"})
_COLUMN_TYPES = {
    "integer": "BIGINT",
    "int": "BIGINT",
    "text": 'TEXT COLLATE "C"',
    "blob": "BYTEA",
    "real": "DOUBLE PRECISION",
}
_CAST_TYPES = {"integer": "BIGINT", "int": "BIGINT", "blob": "BYTEA", "real": "FLOAT8"}
_CONSTRAINTS = ("primary", "unique", "check", "foreign", "constraint")
#: Tables learned from their CREATE TABLE, by name.
_SHAPES: dict[str, TableShape] = {}


# -- expressions ---------------------------------------------------------------


def _rewrite(items: list[Item], aliases: Iterator[int]) -> list[Item]:
    """Rewrite one level of a statement, after every group within it."""
    items = [
        Group(_rewrite(item.items, aliases)) if isinstance(item, Group) else item
        for item in items
    ]
    out: list[Item] = []
    index = 0
    while index < len(items):
        index = _step(items, index, out, aliases)
    return out


def _step(
    items: list[Item], index: int, out: list[Item], aliases: Iterator[int]
) -> int:
    """Rewrite the item at ``index`` into ``out``; return the next index."""
    item = items[index]
    after = significant(items, index + 1)
    following = at(items, after)
    if isinstance(item, Group):
        out.append(item)
        if _needs_alias(items, index, item):
            out.append(raw(f" AS _sub{next(aliases)}"))
        return index + 1
    if isinstance(following, Group) and after is not None:
        called = _call(item, following, out)
        if called == "json_each":
            return _alias_json_each(items, after + 1, out, aliases)
        if called:
            return after + 1
    if is_word(item, "is"):
        return _is(items, index, out)
    if is_word(item, "limit") and is_op(following, "-") and after is not None:
        one = significant(items, after + 1)
        if one is not None and items[one] == Token("number", "1"):
            out.append(raw("LIMIT ALL"))
            return one + 1
    out.append(raw("=") if is_op(item, "==") else item)
    return index + 1


def _call(word: Token, group: Group, out: list[Item]) -> str:
    """Write ``word(group)`` rewritten into ``out``; its name, '' when untouched."""
    called = word.text.lower() if word.kind == "word" else ""
    parts = arguments(group)
    if called == "instr":
        out += [raw("strpos"), group]
    elif called in ("max", "min") and len(parts) > 1:
        out += [raw("GREATEST" if called == "max" else "LEAST"), group]
    elif called == "cast":
        out += [word, Group(_cast(group.items))]
    elif called == "json_each":
        if len(parts) != 1:
            raise UntranslatableError("json_each with a path has no translation")
        source = [raw("CAST("), *parts[0], raw(" AS jsonb)")]
        out += [raw("jsonb_array_elements_text"), Group(source)]
    elif called == "json_extract":
        out.append(_json_extract(parts))
    else:
        return ""
    return called


def _cast(items: list[Item]) -> list[Item]:
    """``CAST(x AS INTEGER)`` → ``BIGINT`` (and BLOB, REAL)."""
    cast = list(items)
    for index, item in enumerate(items):
        found = significant(items, index + 1)
        target = at(items, found)
        if is_word(item, "as") and isinstance(target, Token) and found is not None:
            cast[found] = raw(_CAST_TYPES.get(target.text.lower(), target.text))
    return cast


def _json_extract(parts: list[list[Item]]) -> Group:
    """``json_extract(x, '$.a.b')`` → ``(CAST(x AS jsonb) #>> '{a,b}')``."""
    paths = [item for item in parts[-1] if not is_blank(item)]
    path = paths[0] if len(parts) == 2 and len(paths) == 1 else None
    if not isinstance(path, Token) or path.kind != "string":
        raise UntranslatableError("json_extract needs one literal path")
    steps = re.findall(r"\.(\w+)|\[(\d+)\]", path.text[1:-1])
    rebuilt = "$" + "".join(f".{key}" if key else f"[{i}]" for key, i in steps)
    if rebuilt != path.text[1:-1]:
        raise UntranslatableError(f"json_extract path {path.text} has no translation")
    elements = ",".join(key or i for key, i in steps)
    return Group([raw("CAST("), *parts[0], raw(f" AS jsonb) #>> '{{{elements}}}'")])


def _alias_json_each(
    items: list[Item], index: int, out: list[Item], aliases: Iterator[int]
) -> int:
    """After ``json_each(…)``, name its one column ``value`` under an alias."""
    first = significant(items, index)
    alias = first
    if is_word(at(items, first), "as") and first is not None:
        alias = significant(items, first + 1)
    if alias is not None and is_alias(items[alias]):
        out += [*items[index : alias + 1], raw("(value)")]
        return alias + 1
    if alias != first:
        raise UntranslatableError("json_each AS without a name")
    out.append(raw(f" AS _each{next(aliases)}(value)"))
    return index


def _needs_alias(items: list[Item], index: int, group: Group) -> bool:
    """A subquery in FROM or JOIN with no alias after it."""
    first = at(group.items, significant(group.items, 0))
    if not is_word(first, "select", "values", "with"):
        return False
    if not is_word(previous(items, index), "from", "join"):
        return False
    following = at(items, significant(items, index + 1))
    return not (is_word(following, "as") or is_alias(following))


def _is(items: list[Item], index: int, out: list[Item]) -> int:
    """``a IS b`` / ``a IS NOT b``, b a value: ``IS [NOT] DISTINCT FROM``."""
    operand = significant(items, index + 1)
    is_negated = is_word(at(items, operand), "not")
    if is_negated and operand is not None:
        operand = significant(items, operand + 1)
    keeps = ("null", "true", "false", "unknown", "distinct")
    if operand is None or is_word(items[operand], *keeps):
        out.append(items[index])
        return index + 1
    out.append(raw("IS DISTINCT FROM " if is_negated else "IS NOT DISTINCT FROM "))
    return operand


# -- statements ----------------------------------------------------------------


def _register(table: str, shape: TableShape) -> None:
    if table in _SHAPES and _SHAPES[table] != shape:
        # An INSERT OR REPLACE translated for the old shape must be redone.
        translate.cache_clear()
    _SHAPES[table] = shape


def _create_table(items: list[Item]) -> list[Item]:
    """Map the column types, drop ``WITHOUT ROWID`` and learn the shape."""
    found = [i for i, item in enumerate(items) if isinstance(item, Group)]
    columns = items[found[0]] if found else None
    if not isinstance(columns, Group):  # CREATE TABLE … AS SELECT
        return items
    mapped, shape = _columns(columns)
    _register(name(previous(items, found[0])), shape)
    tail = [
        item
        for item in items[found[0] + 1 :]
        if not (is_word(item, "without", "rowid", "strict") or is_op(item, ","))
    ]
    while tail and is_blank(tail[-1]):
        tail.pop()
    return [*items[: found[0]], mapped, *tail]


def _columns(group: Group) -> tuple[Group, TableShape]:
    """Map each column's type; read the columns and the primary key."""
    names: list[str] = []
    key: tuple[str, ...] = ()
    mapped: list[Item] = []
    for part in arguments(group):
        first = significant(part, 0)
        if first is None or any(is_word(i, "collate", "autoincrement") for i in part):
            raise UntranslatableError(f"no translation for the column {part}")
        listed = [item for item in part if isinstance(item, Group)]
        if is_word(part[first], *_CONSTRAINTS):
            if is_word(part[first], "primary") and listed:
                key = tuple(name(previous(a, len(a))) for a in arguments(listed[0]))
        else:
            names.append(name(part[first]))
            part = _column_type(part, significant(part, first + 1))
            if any(is_word(item, "primary") for item in part):
                key = (names[-1],)
        mapped += [*([Token("op", ",")] if mapped else []), *part]
    return Group(mapped), TableShape(tuple(names), key)


def _column_type(part: list[Item], type_at: int | None) -> list[Item]:
    found = at(part, type_at)
    if type_at is None or not isinstance(found, Token) or found.kind != "word":
        return part
    mapped = _COLUMN_TYPES.get(found.text.lower(), found.text)
    return [*part[:type_at], raw(mapped), *part[type_at + 1 :]]


def _insert_or(items: list[Item]) -> list[Item]:
    """``INSERT OR IGNORE`` / ``OR REPLACE`` (or ``REPLACE``) → ``ON CONFLICT``."""
    into = next(i for i, item in enumerate(items) if is_word(item, "into"))
    end = len(items)
    for index, item in enumerate(items):
        following = at(items, significant(items, index + 1))
        if is_word(item, "on") and is_word(following, "conflict"):
            raise UntranslatableError("INSERT OR … with its own ON CONFLICT")
        if is_word(item, "returning"):
            end = min(end, index)
    clause = " ON CONFLICT DO NOTHING"
    if is_word(previous(items, into), "replace"):
        clause = _replace_clause(dotted_name(items, into + 1))
    while end > into and (is_blank(items[end - 1]) or is_op(items[end - 1], ";")):
        end -= 1
    return [raw("INSERT "), *items[into:end], raw(clause), *items[end:]]


def _replace_clause(table: str) -> str:
    shape = _SHAPES.get(table)
    if shape is None or not shape.primary_key:
        raise UntranslatableError(
            f"INSERT OR REPLACE INTO {table}: no CREATE TABLE with a primary key "
            "was translated or learned for it"
        )
    others = [quote(c) for c in shape.columns if c not in shape.primary_key]
    target = ", ".join(quote(c) for c in shape.primary_key)
    if not others:
        return f" ON CONFLICT ({target}) DO NOTHING"
    updates = ", ".join(f"{c} = excluded.{c}" for c in others)
    return f" ON CONFLICT ({target}) DO UPDATE SET {updates}"


@functools.lru_cache(maxsize=1024)
def translate(statement: str) -> str | None:
    """Translate one SQLite statement for psycopg's ``ClientCursor``.

    Args:
        statement: A statement of the node, in SQLite's dialect.

    Returns:
        The PostgreSQL statement, or None for a PRAGMA that the cursor
        carries out itself (see :func:`pragma`).

    Raises:
        UntranslatableError: The statement has no PostgreSQL form.
    """
    items = parse(statement)
    words = leading_words(items, 3)
    if words[:1] == ["pragma"]:
        pragma(statement)
        return None
    if words[:2] == ["create", "virtual"]:
        raise UntranslatableError(f"virtual tables have no translation: {statement!r}")
    if words[:1] == ["create"] and "table" in words:
        items = _create_table(items)
    items = _rewrite(items, itertools.count(1))
    if words[:1] == ["replace"] or words[:2] == ["insert", "or"]:
        items = _insert_or(items)
    return render(items)


def remember(table: str, shape: TableShape) -> None:
    """Remember a table's shape read from the database's catalogue.

    For a table an earlier run (or another worker) created: this process
    never translated its ``CREATE TABLE``.
    """
    _register(table, shape)


def is_known(table: str) -> bool:
    """True when the shape of ``table`` is known."""
    return table in _SHAPES


def learn(create_statement: str) -> TableShape:
    """Remember a table's columns and primary key from its ``CREATE TABLE``.

    Translating a ``CREATE TABLE`` learns it too; this is for a table whose
    statement this process never translates (created by an earlier run).

    Args:
        create_statement: The SQLite ``CREATE TABLE`` statement.

    Returns:
        What was learned.

    Raises:
        UntranslatableError: It is no ``CREATE TABLE`` with columns.
    """
    items = parse(create_statement)
    words = leading_words(items, 3)
    found = [i for i, item in enumerate(items) if isinstance(item, Group)]
    if words[:1] != ["create"] or "table" not in words or not found:
        raise UntranslatableError(f"not a CREATE TABLE: {create_statement!r}")
    _create_table(items)
    return _SHAPES[name(previous(items, found[0]))]


@functools.lru_cache(maxsize=64)
def pragma(statement: str) -> tuple[str, str | None]:
    """Read a PRAGMA that the PostgreSQL cursor carries out itself.

    Args:
        statement: ``PRAGMA [schema.]name [= value | (value)]``.

    Returns:
        The PRAGMA's name (lower case) and its value as written, or None.

    Raises:
        UntranslatableError: Another PRAGMA, or no PRAGMA at all.
    """
    items = [i for i in parse(statement) if not (is_blank(i) or is_op(i, ";"))]
    if len(items) < 2 or not is_word(items[0], "pragma"):
        raise UntranslatableError(f"not a PRAGMA: {statement!r}")
    rest = items[3:] if len(items) > 3 and is_op(items[2], ".") else items[1:]
    called = name(rest[0])
    if called not in _PRAGMAS:
        raise UntranslatableError(f"PRAGMA {called} has no PostgreSQL form")
    argument = rest[1:]
    if argument and is_op(argument[0], "="):
        argument = argument[1:]
    elif len(argument) == 1 and isinstance(argument[0], Group):
        argument = argument[0].items
    value = "".join(i.text for i in argument if isinstance(i, Token))
    return called, value.strip() or None
