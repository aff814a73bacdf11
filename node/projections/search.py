"""Full-text search over the title and text of every projected event (FTS5).

Only schema-valid, unredacted events are indexed (DESIGN §3). An event's
title is its body's ``title``, ``name`` or ``display_name``; its text is every
other human-readable string of the body, nested ones included (place names,
demands, tags, option labels …). Ids, feed ids, URLs, time zones and enum
values are not words anyone searches for, so they are left out.

A member's query never reaches FTS5 as syntax: :func:`match_expression` keeps
only its words, quotes each one (so ``AND``, ``NEAR`` or ``*`` are plain
words) and joins them with FTS5's implicit AND, the last one a prefix.

Filters: by type (exact names, or families such as ``meeting`` for every
``meeting.*``), and near a point: an event whose body's ``place`` has
coordinates has them in a side table keyed by its position, deleted with its
words on redaction. Pages are ranked by bm25, ties by position; the ``next``
cursor is the count of ranked rows already walked past, so a page after new
events arrive may repeat or skip a hit, never fail.

Ranking is bounded: a query matching more than 200 texts (after the
filters) lists them newest first instead of by bm25, which would cost in
proportion to every match held (NOTES-limits §4), so a word found in half of
everything held costs about what 200 matches cost. Snippets are made for the
hits of the page only, in a second statement.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

import orjson

from node.projections import sql
from node.projections.geo import Near
from node.projections.model import InvalidCursorError, Projected, clamp
from node.storage.feeds import redaction_target
from node.storage.sqldb import Cursor
from protocol import (
    JsonObject,
    JsonValue,
    MalformedError,
    ProtocolError,
    base64url,
)

__all__ = [
    "MAX_HITS",
    "MAX_TYPES",
    "SearchHit",
    "SearchPage",
    "TypeFilter",
    "apply",
    "create",
    "finish",
    "match_expression",
    "reset",
    "search",
    "search_page",
    "title_and_text",
]

#: The most hits one query answers.
MAX_HITS = 100
#: The most ``type`` filters one query takes.
MAX_TYPES = 20
#: A type name (``meeting.scheduled``) or a family (``meeting``); the same
#: bounds as the ``type`` of ``GET /api/v1/events``.
_TYPE_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}(?:\.[a-z][a-z0-9_]{0,31}){0,3}")
_MAX_OFFSET = 2**31
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


@dataclass(frozen=True, slots=True)
class SearchPage:
    """A page of hits, best first.

    Attributes:
        results: The hits.
        next: An opaque cursor for the next page; None when this is the last.
    """

    results: list[SearchHit]
    next: str | None


@dataclass(frozen=True, slots=True)
class TypeFilter:
    """Which types a search keeps.

    Each name keeps its own type and every type below it: ``meeting`` keeps
    every ``meeting.*`` type, ``meeting.scheduled`` keeps that type.

    Attributes:
        names: The type names and families asked for.
    """

    names: tuple[str, ...]

    @classmethod
    def parse(cls, values: Sequence[str]) -> TypeFilter | None:
        """Read the ``type`` parameters of a search (empty ones are ignored).

        Args:
            values: Each given ``type``.

        Returns:
            The filter, or None when none was given.

        Raises:
            MalformedError: Too many, or one is not a type name or family:
                lowercase letters, digits and ``_``, in up to four segments
                joined by ``.``, each starting with a letter.
        """
        given = tuple(dict.fromkeys(value for value in values if value))
        if not given:
            return None
        if len(given) > MAX_TYPES:
            raise MalformedError(
                f"give at most {MAX_TYPES} type filters", field_path="type"
            )
        for value in given:
            if _TYPE_NAME.fullmatch(value) is None:
                raise MalformedError(
                    "type must be a type name such as meeting.scheduled "
                    "or a family such as meeting",
                    field_path="type",
                )
        return cls(given)


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


def create(cursor: Cursor) -> None:
    """Create the FTS5 table and the table of places."""
    for statement in sql.CREATE_SEARCH:
        cursor.execute(statement)


def apply(cursor: Cursor, item: Projected) -> None:
    """Index one valid event; when it is a redaction, drop its target's row."""
    event = item.event
    target = redaction_target(event)
    if target is not None:
        cursor.execute(sql.DELETE_SEARCH_TARGET, (target, event.feed))
        cursor.execute(sql.DELETE_SEARCH_PLACE_TARGET, (target, event.feed))
    if not item.is_valid or event.body is None:
        return
    title, text = title_and_text(event.body)
    if title or text:
        cursor.execute(
            sql.INSERT_SEARCH,
            (item.position, title, text, event.type, event.feed, event.seq, event.id),
        )
        point = _coordinates(event.body)
        if point is not None:
            cursor.execute(sql.INSERT_SEARCH_PLACE, (item.position, *point))


def _coordinates(body: JsonObject) -> tuple[int, int] | None:
    place = body.get("place")
    if not isinstance(place, dict):
        return None
    lat, lon = place.get("lat_e6"), place.get("lon_e6")
    return (lat, lon) if type(lat) is int and type(lon) is int else None


def finish(cursor: Cursor, items: Sequence[Projected]) -> None:
    """After a redaction, merge the index so the deleted words leave the file."""
    if any(redaction_target(item.event) for item in items):
        cursor.execute(sql.OPTIMIZE_SEARCH)


def reset(cursor: Cursor) -> None:
    """Drop the search tables and create them empty."""
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


def search(cursor: Cursor, q: str, limit: int) -> list[SearchHit]:
    """Find events by words of their title and text, best first.

    Args:
        cursor: A read cursor.
        q: The member's query (any text: it is never FTS5 syntax).
        limit: The most hits, brought into 1..100.

    Returns:
        The hits, ranked as :func:`search_page` ranks them; empty when the
        query has no words.
    """
    return search_page(cursor, q, limit=limit).results


def search_page(
    cursor: Cursor,
    q: str,
    *,
    types: TypeFilter | None = None,
    near: Near | None = None,
    blocked: Collection[str] = (),
    limit: int = 20,
    after: str | None = None,
) -> SearchPage:
    """Find events by words, with filters, one page at a time.

    Args:
        cursor: A read cursor.
        q: The member's query (any text: it is never FTS5 syntax).
        types: Only these types or families, when given.
        near: Only events whose place lies within this radius, when given.
        blocked: Feeds left out.
        limit: The page size, brought into 1..100.
        after: The ``next`` of the previous page, or None to start.

    Returns:
        The page, ranked by bm25 (titles weigh four times text).

    Raises:
        InvalidCursorError: ``after`` is not a cursor this node handed out.
    """
    offset = _decode_cursor(after) if after else 0
    expression = match_expression(q)
    if expression is None:
        return SearchPage([], None)
    params = {
        "match": expression,
        "any_type": types is None,
        "types": orjson.dumps(types.names if types else ()).decode(),
        "no_blocked": not blocked,
        "blocked": orjson.dumps(sorted(blocked)).decode(),
        **_box_params(near),
    }
    positions, walked = _walk(cursor, params, near, clamp(limit, MAX_HITS), offset)
    hits = _hits(cursor, expression, positions)
    if walked is None:
        return SearchPage(hits, None)
    return SearchPage(hits, base64url.encode(orjson.dumps([walked])))


def _box_params(near: Near | None) -> dict[str, int | bool]:
    if near is None:
        return {"near": False, "min_lat": 0, "max_lat": 0, "min_lon": 0, "max_lon": 0}
    box = near.box()
    return {
        "near": True,
        "min_lat": box.min_lat_e6,
        "max_lat": box.max_lat_e6,
        "min_lon": box.min_lon_e6,
        "max_lon": box.max_lon_e6,
    }


def _walk(
    cursor: Cursor, params: dict[str, object], near: Near | None, size: int, offset: int
) -> tuple[list[int], int | None]:
    """The positions of one page and the matches walked past, None on the last."""
    positions: list[int] = []
    walked = offset
    for row in _matches(cursor, params, offset):
        if near is not None and not near.holds(row["lat_e6"], row["lon_e6"]):
            walked += 1
            continue
        if len(positions) == size:  # one more exists: this page is not the last
            return positions, walked
        positions.append(row["position"])
        walked += 1
    return positions, None


def _matches(
    cursor: Cursor, params: dict[str, object], offset: int
) -> Iterator[sqlite3.Row]:
    """The matches from ``offset`` on, best first or, when very many, newest first.

    Up to :data:`~.sql.SEARCH_RANKED_MATCHES` matches are ranked by bm25.
    Beyond that, ranking would cost in proportion to every match held, and
    the words are too common to tell texts apart: the newest come first.
    """
    bound = sql.SEARCH_RANKED_MATCHES
    cursor.execute(sql.SEARCH_NEWEST, {**params, "limit": bound + 1, "offset": 0})
    newest: list[sqlite3.Row] = cursor.fetchall()
    if not newest:
        return
    if len(newest) <= bound:
        cursor.execute(sql.SEARCH_RANKED, params)
        ranked: list[sqlite3.Row] = cursor.fetchall()
        yield from ranked[offset:]
        return
    yield from newest[offset:]
    older = {**params, "limit": -1, "offset": max(offset, len(newest))}
    cursor.execute(sql.SEARCH_NEWEST, older)
    while (row := cursor.fetchone()) is not None:
        yield row


def _hits(cursor: Cursor, expression: str, positions: list[int]) -> list[SearchHit]:
    """The hits at some positions, in that order, with their snippets."""
    if not positions:
        return []
    cursor.execute(
        sql.SEARCH_HITS,
        {
            "match": expression,
            "low": min(positions),
            "high": max(positions),
            "positions": orjson.dumps(positions).decode(),
        },
    )
    rows = {row["position"]: row for row in cursor.fetchall()}
    return [_hit(rows[position]) for position in positions if position in rows]


def _hit(row: sqlite3.Row) -> SearchHit:
    return SearchHit(
        type=row["type"],
        feed=row["feed"],
        seq=row["seq"],
        id=row["id"],
        title=row["title"],
        snippet=row["snippet"],
    )


def _decode_cursor(text: str) -> int:
    try:
        value = orjson.loads(base64url.decode(text, field="after"))
    except (ProtocolError, orjson.JSONDecodeError):
        raise InvalidCursorError("after is not a search cursor") from None
    if not (
        isinstance(value, list)
        and len(value) == 1
        and type(value[0]) is int
        and 0 <= value[0] <= _MAX_OFFSET
    ):
        raise InvalidCursorError("after is not a search cursor")
    return int(value[0])
