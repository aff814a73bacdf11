"""Full-text search on PostgreSQL: the twin of :mod:`.search` (FTS5).

FTS5's ``MATCH``, ``bm25`` and ``snippet`` have no translation, so on
PostgreSQL the search model is written here, with the same six steps and the
same answers: what is indexed (:func:`~.search.title_and_text`), which words
of a query count (:func:`~.search.match_expression`), the filters, the limits
and the paging cursor all come from :mod:`.search`.

Words. Table ``search`` keeps each indexed event at its log position, with a
``document`` tsvector: the title's words weighted ``A``, the text's ``B``.
The words are cut out in Python the way SQLite's ``unicode61`` tokenizer
cuts them (runs of letters and digits, diacritics removed, case folded),
then handed to PostgreSQL as plain words, so an address, a decimal or a
``snake_case`` name is split into its words as on SQLite rather than kept
whole by PostgreSQL's parser. The text search configuration
``search_words`` is ``simple`` (no stemming, no stop words: groups write in
many languages), plus the ``unaccent`` dictionary when the extension exists
or can be created. Matching never depends on it (the folding is done in
Python); snippets do: with it, ``Tŷ`` in a text is marked for the query
``ty``; without it (no right to create the extension), a warning says so and
such a word is found but not marked.

Queries. A member's query is never tsquery syntax: each word that
``match_expression`` keeps becomes one quoted operand, every word must match
and the last is a prefix when it has at least three characters. Ranking is
``ts_rank`` with a title word weighing four times a text word, ties by
position. Snippets are ``ts_headline`` over the column whose fragment shows
more of the query's words (the title on a tie), with ``[`` ``]`` marks and
``…`` where the fragment is cut, like FTS5's ``snippet``.

Redaction deletes the target's rows here and in ``search_places``; dead rows
and their index entries are reclaimed by VACUUM (the recorder's ``tidy``),
so :func:`finish` has nothing to do where SQLite merges its FTS5 segments.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import orjson
from eventsourcing.persistence import PersistenceError

from node.projections import search_pg_sql as sql
from node.projections.geo import Near
from node.projections.model import Projected, clamp
from node.projections.search import (
    MAX_HITS,
    SearchHit,
    SearchPage,
    TypeFilter,
    _box_params,
    _coordinates,
    _decode_cursor,
    match_expression,
    title_and_text,
)
from node.storage.feeds import redaction_target
from node.storage.pgcursor import PgCursor, Row
from protocol import base64url

__all__ = [
    "apply",
    "create",
    "document_words",
    "finish",
    "reset",
    "search",
    "search_page",
    "tsqueries",
]

logger = logging.getLogger(__name__)

#: Word characters, as FTS5's ``unicode61`` and ``match_expression`` see them.
_WORD = re.compile(r"[^\W_]+")
#: One operand of ``match_expression``'s answer: a quoted word, maybe a prefix.
_OPERAND = re.compile(r'"([^"]*)"(\*?)')
#: Marks around matched words inside PostgreSQL (private-use characters, so a
#: ``[`` in the text is never taken for one); shown as ``[`` and ``]``.
_START, _STOP = "\ue000", "\ue001"
_MARKED = re.compile(f"{_START}([^{_STOP}]*){_STOP}")
_ELLIPSIS = "…"
#: One fragment of 15 or 16 words around the matches, as FTS5 shows 16 tokens;
#: no short word is trimmed from its ends (FTS5 trims none).
_HEADLINE_OPTIONS = (
    f"StartSel={_START}, StopSel={_STOP}, MaxWords=16, MinWords=15, "
    "ShortWord=0, MaxFragments=1"
)
#: With a query of near-anything, a box corner may hold hits outside the
#: radius: read this many ranked rows per page wanted.
_NEAR_BATCH = 4
_UNMARKED = (
    "search still ignores accents, but snippets leave a word unmarked when "
    "the query spells it without its accents"
)


def create(cursor: PgCursor) -> None:
    """Create the text search configuration and the search tables."""
    _configure(cursor)
    for statement in sql.CREATE_SEARCH:
        cursor.execute_postgres(statement)


def _configure(cursor: PgCursor) -> None:
    if cursor.execute_postgres(sql.CONFIGURATION_EXISTS).fetchone() is None:
        cursor.execute_postgres(sql.CREATE_CONFIGURATION)
    if cursor.execute_postgres(sql.NOT_UNACCENTED).fetchone() is None:
        return
    dictionary = _unaccent(cursor)
    if dictionary is not None:
        cursor.execute_postgres(sql.MAP_UNACCENT.format(dictionary=dictionary))


def _unaccent(cursor: PgCursor) -> str | None:
    """The ``unaccent`` dictionary's name, installing the extension if we may."""
    found = cursor.execute_postgres(sql.UNACCENT).fetchone()
    if found is not None:
        return str(found[0])
    home = cursor.execute_postgres(sql.UNACCENT_HOME).fetchone()
    if home is None:
        logger.warning("PostgreSQL has no unaccent extension: %s", _UNMARKED)
        return None
    # A failure must not end the transaction the other models share.
    cursor.execute_postgres("SAVEPOINT search_unaccent")
    try:
        cursor.execute_postgres(sql.CREATE_UNACCENT.format(schema=home[0]))
    except PersistenceError as error:  # no right to: go without
        cursor.execute_postgres("ROLLBACK TO SAVEPOINT search_unaccent")
        logger.warning(
            "cannot create the unaccent extension (%s): %s", error, _UNMARKED
        )
    cursor.execute_postgres("RELEASE SAVEPOINT search_unaccent")
    found = cursor.execute_postgres(sql.UNACCENT).fetchone()
    return None if found is None else str(found[0])


def apply(cursor: PgCursor, item: Projected) -> None:
    """Index one valid event; when it is a redaction, drop its target's rows."""
    event = item.event
    target = redaction_target(event)
    if target is not None:
        cursor.execute_postgres(sql.DELETE_SEARCH_TARGET, (target, event.feed))
        cursor.execute_postgres(sql.DELETE_SEARCH_PLACE_TARGET, (target, event.feed))
    if not item.is_valid or event.body is None:
        return
    title, text = title_and_text(event.body)
    if not (title or text):
        return
    cursor.execute_postgres(
        sql.INSERT_SEARCH,
        {
            "position": item.position,
            "type": event.type,
            "feed": event.feed,
            "seq": event.seq,
            "id": event.id,
            # PostgreSQL's text holds no NUL: show U+FFFD, still a word break.
            "title": title.replace("\x00", "\ufffd"),
            "text": text.replace("\x00", "\ufffd"),
            "title_words": document_words(title),
            "text_words": document_words(text),
        },
    )
    point = _coordinates(event.body)
    if point is not None:
        cursor.execute_postgres(sql.INSERT_SEARCH_PLACE, (item.position, *point))


def finish(cursor: PgCursor, items: Sequence[Projected]) -> None:
    """Nothing to merge: deleted rows leave with VACUUM (see the module note).

    FTS5 keeps deleted words in old segments until ``optimize``; a deleted
    row here is a dead tuple, unreadable through SQL at once and reclaimed,
    with its GIN entries, by VACUUM (autovacuum or the recorder's ``tidy``).
    """


def reset(cursor: PgCursor) -> None:
    """Drop the search tables and create them empty.

    The text search configuration stays (a search running in another
    connection may be using it); :func:`create` brings it up to date.
    """
    for statement in sql.DROP_SEARCH:
        cursor.execute_postgres(statement)
    create(cursor)


def document_words(text: str) -> str:
    """The words of a text as the index takes them: folded, one space apart.

    Args:
        text: A title or a text.

    Returns:
        Its runs of letters and digits (after NFKC, as queries are read),
        without diacritics, in lower case.
    """
    return _fold(" ".join(_WORD.findall(unicodedata.normalize("NFKC", text))))


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare).lower()


def tsqueries(q: str) -> tuple[str, str] | None:
    """Turn a member's query into tsquery texts that cannot be a syntax error.

    Args:
        q: The text typed, anything at all.

    Returns:
        Two ``to_tsquery`` texts of the words ``match_expression`` keeps,
        folded and quoted (the last a prefix when it is one there): every
        word ANDed, and every word ORed (for snippets); None when there are
        no words.
    """
    expression = match_expression(q)
    if expression is None:
        return None
    operands = [
        "'"
        + _fold(word).replace("\\", "\\\\").replace("'", "''")
        + "'"
        + (":*" if star else "")
        for word, star in _OPERAND.findall(expression)
    ]
    return " & ".join(operands), " | ".join(operands)


def search(cursor: PgCursor, q: str, limit: int) -> list[SearchHit]:
    """Find events by words of their title and text, best first.

    Args:
        cursor: A read cursor.
        q: The member's query (any text: it is never tsquery syntax).
        limit: The most hits, brought into 1..100.

    Returns:
        The hits, ranked (titles weigh four times text); empty when the
        query has no words.
    """
    queries = tsqueries(q)
    if queries is None:
        return []
    params = _filters(queries[0], None, None, ())
    rows = _ranked(cursor, params, clamp(limit, MAX_HITS), 0)
    return _hits(cursor, [row["position"] for row in rows], queries)


def search_page(
    cursor: PgCursor,
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
        q: The member's query (any text: it is never tsquery syntax).
        types: Only these types or families, when given.
        near: Only events whose place lies within this radius, when given.
        blocked: Feeds left out.
        limit: The page size, brought into 1..100.
        after: The ``next`` of the previous page, or None to start.

    Returns:
        The page, ranked (titles weigh four times text).

    Raises:
        InvalidCursorError: ``after`` is not a cursor this node handed out.
    """
    offset = _decode_cursor(after) if after else 0
    queries = tsqueries(q)
    if queries is None:
        return SearchPage([], None)
    params = _filters(queries[0], types, near, blocked)
    positions, walked = _walk(cursor, params, near, clamp(limit, MAX_HITS), offset)
    hits = _hits(cursor, positions, queries)
    if walked is None:
        return SearchPage(hits, None)
    return SearchPage(hits, base64url.encode(orjson.dumps([walked])))


def _filters(
    every: str, types: TypeFilter | None, near: Near | None, blocked: Collection[str]
) -> dict[str, Any]:
    return {
        "every": every,
        "any_type": types is None,
        "types": list(types.names) if types else [],
        "blocked": sorted(blocked),
        **_box_params(near),
    }


def _ranked(
    cursor: PgCursor, params: Mapping[str, Any], limit: int, offset: int
) -> list[Row]:
    query = {**params, "limit": limit, "offset": offset}
    return cursor.execute_postgres(sql.SEARCH_RANKED, query).fetchall()


def _walk(
    cursor: PgCursor,
    params: Mapping[str, Any],
    near: Near | None,
    size: int,
    offset: int,
) -> tuple[list[int], int | None]:
    """The positions of one page and the rows walked past, None on the last."""
    batch = size + 1 if near is None else _NEAR_BATCH * (size + 1)
    positions: list[int] = []
    walked = offset
    while True:
        rows = _ranked(cursor, params, batch, walked)
        for row in rows:
            if near is not None and not near.holds(row["lat_e6"], row["lon_e6"]):
                walked += 1
                continue
            if len(positions) == size:  # one more exists: not the last page
                return positions, walked
            positions.append(row["position"])
            walked += 1
        if len(rows) < batch:
            return positions, None


def _hits(
    cursor: PgCursor, positions: Sequence[int], queries: tuple[str, str]
) -> list[SearchHit]:
    if not positions:
        return []
    every, some = queries
    params = {
        "positions": list(positions),
        "every": every,
        "some": some,
        "options": _HEADLINE_OPTIONS,
        "start": _START,
    }
    rows = {
        row["position"]: row
        for row in cursor.execute_postgres(sql.SEARCH_HITS, params).fetchall()
    }
    return [_hit(rows[position]) for position in positions if position in rows]


def _hit(row: Row) -> SearchHit:
    return SearchHit(
        type=row["type"],
        feed=row["feed"],
        seq=row["seq"],
        id=row["id"],
        title=row["title"],
        snippet=_snippet(row),
    )


def _snippet(row: Row) -> str:
    """The fragment showing more distinct words of the query, as FTS5 picks."""
    title, text = row["title_headline"], row["text_headline"]
    if _shown(text) > _shown(title) or not row["title"]:
        return _framed(row["text"], text)
    return _framed(row["title"], title)


def _shown(headline: str) -> int:
    return len({_fold(word) for word in _MARKED.findall(headline)})


def _framed(column: str, headline: str) -> str:
    """Mark a fragment with [ ] and, where it cuts the column, with an ellipsis.

    As FTS5's ``snippet``: a fragment from the first word shows the column's
    start, one to the last word shows its end; a cut side gets ``…``.
    """
    marked = headline.replace(_START, "[").replace(_STOP, "]")
    plain = headline.replace(_START, "").replace(_STOP, "")
    start = column.find(plain) if plain else -1
    if start < 0:  # the fragment is not found as it is: show it as it is
        return marked.strip()
    before, after = column[:start], column[start + len(plain) :]
    head = before if _WORD.search(before) is None else _ELLIPSIS
    tail = after if _WORD.search(after) is None else _ELLIPSIS
    return head + marked + tail
