"""A SQL statement as a tree of tokens, for :mod:`node.storage.dialect`.

:func:`parse` splits a statement into tokens (blanks, comments, string
literals, quoted identifiers, numbers, parameters, words, operators) and nests
them by parentheses into :class:`Group`\\ s, so a rewrite sees an argument list
or a subquery as one item and never looks inside a literal. :func:`render`
writes a tree back for psycopg: ``?`` as ``%s``, ``:name`` as ``%(name)s``
and every other ``%`` doubled. The rest are small helpers for walking a level
of the tree. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from node.errors import NodeError

__all__ = [
    "Group",
    "Item",
    "Token",
    "UntranslatableError",
    "arguments",
    "at",
    "dotted_name",
    "is_alias",
    "is_blank",
    "is_op",
    "is_word",
    "leading_words",
    "name",
    "parse",
    "previous",
    "quote",
    "raw",
    "render",
    "significant",
]


class UntranslatableError(NodeError):
    """A statement has no PostgreSQL translation: a programming error.

    It names a statement of the node's own code, never anything a client sent,
    so it carries no code a client could act on: ``internal`` (HTTP 500).
    """

    code = "internal"


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind (a group name of ``_TOKENS``, or ``raw``) and text.

    ``raw`` tokens are text a rewrite wrote, rendered as they are.
    """

    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class Group:
    """A parenthesised part of a statement, without its parentheses."""

    items: list[Item]


Item = Token | Group

_TOKENS = re.compile(
    r"""(?P<space>\s+)
    |(?P<comment>--[^\n]*|/\*.*?\*/)
    |(?P<string>'(?:[^']|'')*')
    |(?P<quoted>"(?:[^"]|"")*")
    |(?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<param>\?\d*|:[^\W\d]\w*)
    |(?P<word>[^\W\d]\w*)
    |(?P<op>::|\|\||<=|>=|<>|!=|==|.)""",
    re.VERBOSE | re.DOTALL,
)

#: Words that end a table expression, so they are never taken for an alias.
_CLAUSE_WORDS = frozenset(
    (
        *("where", "on", "join", "left", "right", "inner", "outer", "cross"),
        *("full", "natural", "group", "order", "limit", "offset", "union"),
        *("except", "intersect", "having", "window", "using", "returning"),
        *("and", "or", "not", "set", "values", "select", "from", "as"),
        *("then", "when", "else", "end"),
    )
)


def parse(statement: str) -> list[Item]:
    """Tokenize ``statement`` and nest the tokens by parentheses.

    A ``::`` is one operator token, so ``x::text`` holds no parameter.

    Raises:
        UntranslatableError: Unbalanced parentheses or quotes, a numbered
            ``?NNN`` parameter, or both ``?`` and ``:name`` in one statement.
    """
    stack: list[list[Item]] = [[]]
    styles = set()
    for match in _TOKENS.finditer(statement):
        kind, text = match.lastgroup or "op", match.group()
        if kind == "op" and text in ("'", '"'):
            raise UntranslatableError(f"unterminated quote in {statement!r}")
        if kind == "param":
            if text[0] == "?" and text != "?":
                raise UntranslatableError(f"numbered parameter {text} in {statement!r}")
            styles.add(text[0])
        if kind == "op" and text == "(":
            stack.append([])
        elif kind == "op" and text == ")":
            if len(stack) == 1:
                raise UntranslatableError(f"unbalanced ')' in {statement!r}")
            items = stack.pop()
            stack[-1].append(Group(items))
        else:
            stack[-1].append(Token(kind, text))
    if len(stack) != 1:
        raise UntranslatableError(f"unbalanced '(' in {statement!r}")
    if len(styles) > 1:
        raise UntranslatableError(f"both ? and :name parameters in {statement!r}")
    return stack[0]


def render(items: list[Item]) -> str:
    """Write a tree back as text for psycopg (placeholders, ``%`` doubled)."""
    parts = []
    for item in items:
        if isinstance(item, Group):
            parts.append(f"({render(item.items)})")
        elif item.kind == "param":
            parts.append("%s" if item.text == "?" else f"%({item.text[1:]})s")
        else:
            parts.append(item.text.replace("%", "%%"))
    return "".join(parts)


def raw(text: str) -> Token:
    """Text a rewrite writes into the tree."""
    return Token("raw", text)


def is_blank(item: Item | None) -> bool:
    """Whitespace or a comment."""
    return isinstance(item, Token) and item.kind in ("space", "comment")


def is_word(item: Item | None, *words: str) -> bool:
    """A word (keyword or bare name) among ``words`` (lower case)."""
    return (
        isinstance(item, Token) and item.kind == "word" and item.text.lower() in words
    )


def is_op(item: Item | None, text: str) -> bool:
    """The operator ``text``."""
    return isinstance(item, Token) and item.kind == "op" and item.text == text


def significant(items: list[Item], start: int) -> int | None:
    """The index of the first item at or after ``start`` that is not blank."""
    for index in range(max(start, 0), len(items)):
        if not is_blank(items[index]):
            return index
    return None


def previous(items: list[Item], before: int) -> Item | None:
    """The last item before index ``before`` that is not blank."""
    for index in range(before - 1, -1, -1):
        if not is_blank(items[index]):
            return items[index]
    return None


def at(items: list[Item], index: int | None) -> Item | None:
    """``items[index]``, or None for no index."""
    return None if index is None else items[index]


def arguments(group: Group) -> list[list[Item]]:
    """Split a group's items at its top-level commas."""
    parts: list[list[Item]] = [[]]
    for item in group.items:
        if is_op(item, ","):
            parts.append([])
        else:
            parts[-1].append(item)
    return parts


def leading_words(items: list[Item], count: int) -> list[str]:
    """The first ``count`` significant items, lower-cased ('' for non-words)."""
    found = []
    for item in items:
        if isinstance(item, Token) and not is_blank(item):
            found.append(item.text.lower() if item.kind == "word" else "")
        elif isinstance(item, Group):
            found.append("")
        if len(found) == count:
            break
    return found


def dotted_name(items: list[Item], start: int) -> str:
    """The name at or after ``start``: the last part of ``schema.table``.

    Raises:
        UntranslatableError: No name is there.
    """
    at_name = significant(items, start)
    while at_name is not None:
        dot = significant(items, at_name + 1)
        if dot is None or not is_op(items[dot], "."):
            return name(items[at_name])
        at_name = significant(items, dot + 1)
    raise UntranslatableError("a name is missing")


def is_alias(item: Item | None) -> bool:
    """A name that can follow a table expression as its alias."""
    return isinstance(item, Token) and (
        item.kind == "quoted"
        or (item.kind == "word" and item.text.lower() not in _CLAUSE_WORDS)
    )


def name(item: Item | None) -> str:
    """An identifier as PostgreSQL reads it: a bare one lower-cased.

    Raises:
        UntranslatableError: ``item`` is no identifier.
    """
    if isinstance(item, Token) and item.kind == "word":
        return item.text.lower()
    if isinstance(item, Token) and item.kind == "quoted":
        return item.text[1:-1].replace('""', '"')
    raise UntranslatableError(f"expected a name, found {item!r}")


def quote(identifier: str) -> str:
    """``identifier`` as a quoted PostgreSQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'
