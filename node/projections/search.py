"""Full-text search over the title and text of every projected event (FTS5).

Only schema-valid, unredacted events are indexed (DESIGN §3). An event's
title is its body's ``title``, ``name`` or ``display_name``; its text is every
other human-readable string of the body, nested ones included (place names,
demands, tags, option labels …). Ids, feed ids, URLs, time zones and enum
values are not words anyone searches for, so they are left out.

A member's query never reaches FTS5 as syntax: :func:`match_expression` keeps
only its words, quotes each one (so ``AND``, ``NEAR`` or ``*`` are plain
words) and joins them with FTS5's implicit AND, the last one a prefix.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from eventsourcing.sqlite import SQLiteCursor

from node.projections import sql
from node.projections.model import Projected, clamp
from node.storage.feeds import redaction_target
from protocol import JsonObject, JsonValue

__all__ = [
    "MAX_HITS",
    "SearchHit",
    "apply",
    "create",
    "finish",
    "match_expression",
    "reset",
    "search",
    "title_and_text",
]

#: The most hits one query answers.
MAX_HITS = 100
#: Keys whose strings are titles, in order of preference.
_TITLE_KEYS = ("title", "name", "display_name")
#: Keys whose strings are identifiers, codes or enum values, never prose.
_SKIP_KEYS = frozenset(
    {
        "by_day",
        "category",
        "change",
        "choice",
        "freq",
        "id",
        "kind",
        "option",
        "outcome",
        "ranking",
        "result",
        "tz",
    }
)
#: Event ids, feed ids and URLs, wherever they appear.
_NOT_PROSE = re.compile(r"(?:sha256|ed25519):|https?://")
#: A word of a query: letters and digits (FTS5's unicode61 splits on the rest).
_WORD = re.compile(r"[^\W_]+")
_MAX_QUERY_CHARS = 1000
_MAX_TERMS = 16
_MAX_TERM_CHARS = 64
#: A shorter last word is matched whole: a one- or two-letter prefix matches
#: so many terms that ranking them is slow (NOTES-limits §4).
_MIN_PREFIX_CHARS = 3


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result (DESIGN §6: ``{type, feed, seq, id, title, snippet}``).

    Attributes:
        type: The event type.
        feed: The author's feed id.
        seq: The event's place in its feed.
        id: The event id.
        title: The event's title, or an empty string when it has none.
        snippet: Plain text around the match, matched words in ``[`` ``]``.
    """

    type: str
    feed: str
    seq: int
    id: str
    title: str
    snippet: str


def title_and_text(body: JsonObject) -> tuple[str, str]:
    """Split a body into the title and the text that search indexes.

    Args:
        body: A schema-valid body.

    Returns:
        The title (empty when there is none) and the other prose, one string
        per line.
    """
    title_key = next((k for k in _TITLE_KEYS if isinstance(body.get(k), str)), None)
    title = body[title_key] if title_key is not None else ""
    parts: list[str] = []
    for key, value in body.items():
        if key != title_key:
            _collect(key, value, parts)
    return (title if isinstance(title, str) else ""), "\n".join(parts)


def _collect(key: str, value: JsonValue, parts: list[str]) -> None:
    # Schema-valid bodies are shallow (draft-07 schemas bound their nesting).
    if key in _SKIP_KEYS:
        return
    if isinstance(value, str):
        if _NOT_PROSE.match(value) is None:
            parts.append(value)
    elif isinstance(value, list):
        for element in value:
            _collect(key, element, parts)
    elif isinstance(value, dict):
        for inner_key, inner in value.items():
            _collect(inner_key, inner, parts)


def create(cursor: SQLiteCursor) -> None:
    """Create the FTS5 table."""
    for statement in sql.CREATE_SEARCH:
        cursor.execute(statement)


def apply(cursor: SQLiteCursor, item: Projected) -> None:
    """Index one valid event; when it is a redaction, drop its target's row."""
    event = item.event
    target = redaction_target(event)
    if target is not None:
        cursor.execute(sql.DELETE_SEARCH_TARGET, (target, event.feed))
    if not item.is_valid or event.body is None:
        return
    title, text = title_and_text(event.body)
    if title or text:
        cursor.execute(
            sql.INSERT_SEARCH,
            (item.position, title, text, event.type, event.feed, event.seq, event.id),
        )


def finish(cursor: SQLiteCursor, items: Sequence[Projected]) -> None:
    """After a redaction, merge the index so the deleted words leave the file."""
    if any(redaction_target(item.event) for item in items):
        cursor.execute(sql.OPTIMIZE_SEARCH)


def reset(cursor: SQLiteCursor) -> None:
    """Drop the FTS5 table and create it empty."""
    for statement in sql.DROP_SEARCH:
        cursor.execute(statement)
    create(cursor)


def match_expression(q: str) -> str | None:
    """Turn a member's query into an FTS5 query that cannot be a syntax error.

    Args:
        q: The text typed, anything at all.

    Returns:
        Its first 16 words, each quoted, ANDed, the last a prefix when it has
        at least 3 characters; None when it has no words.
    """
    text = unicodedata.normalize("NFKC", q[:_MAX_QUERY_CHARS])
    words = [w[:_MAX_TERM_CHARS] for w in _WORD.findall(text)[:_MAX_TERMS]]
    if not words:
        return None
    # Words hold no '"' (nor any other punctuation), so quoting is enough.
    terms = [f'"{word}"' for word in words]
    if len(words[-1]) >= _MIN_PREFIX_CHARS:
        terms[-1] += "*"
    return " ".join(terms)


def search(cursor: SQLiteCursor, q: str, limit: int) -> list[SearchHit]:
    """Find events by words of their title and text, best first.

    Args:
        cursor: A read cursor.
        q: The member's query (any text: it is never FTS5 syntax).
        limit: The most hits, brought into 1..100.

    Returns:
        The hits, ranked by bm25; empty when the query has no words.
    """
    expression = match_expression(q)
    if expression is None:
        return []
    cursor.execute(sql.SEARCH, (expression, clamp(limit, MAX_HITS)))
    return [
        SearchHit(
            type=row["type"],
            feed=row["feed"],
            seq=row["seq"],
            id=row["id"],
            title=row["title"],
            snippet=row["snippet"],
        )
        for row in cursor.fetchall()
    ]
