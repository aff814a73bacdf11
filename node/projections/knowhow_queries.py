"""The know-how read model's queries: guides, advisers, questions with answers.

:mod:`.knowhow` stores the events (its docstring holds the rules); these
functions read them, each given a read cursor first, with blocked feeds left
out of every answer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import cast

import orjson

from node.projections import knowhow_sql as sql
from node.projections.geo import Near
from node.projections.model import InvalidCursorError, clamp
from node.storage.sqldb import Cursor
from protocol import JsonObject, JsonValue, ProtocolError, base64url

__all__ = [
    "MAX_PAGE",
    "get_guide",
    "get_question",
    "list_advisers",
    "list_guides",
    "list_questions",
]

#: The largest page of a listing.
MAX_PAGE = 200
_START_TS = 2**62
_MAX_WORDS = 8


def list_guides(
    cursor: Cursor,
    *,
    tag: str | None = None,
    q: str | None = None,
    feed: str | None = None,
    blocked: Iterable[str] = (),
    limit: int = 50,
    after: str | None = None,
) -> JsonObject:
    """Guides, newest first, only the newest version of each.

    Args:
        cursor: A read cursor.
        tag: A tag the guide has.
        q: Words that must all appear in its title, summary, text or tags.
        feed: Only this group's guides.
        blocked: Feeds to leave out.
        limit: The page size, brought into 1..200.
        after: The ``next`` of the previous page, or None to start.

    Returns:
        ``{"guides": [GUIDE], "next": cursor or None}``.

    Raises:
        InvalidCursorError: ``after`` is not a cursor this node handed out.
    """
    size = clamp(limit, MAX_PAGE)
    after_ts, after_id = _decode_newest(after)
    params = {"tag": tag, "feed": feed, **_common(blocked, q, size)}
    cursor.execute(
        sql.LIST_GUIDES, {**params, "after_ts": after_ts, "after_id": after_id}
    )
    rows = cursor.fetchall()
    items: list[JsonValue] = [_guide_json(cursor, row) for row in rows]
    return {"guides": items, "next": _newest_cursor(rows, size)}


def get_guide(
    cursor: Cursor, guide_id: str, *, blocked: Iterable[str] = ()
) -> JsonObject | None:
    """One guide with its text and the version replacing it, if any.

    Returns:
        GUIDE with ``text`` and ``replaced_by``; None when not held, redacted
        or of a blocked feed.
    """
    cursor.execute(sql.GET_GUIDE, {"id": guide_id, "blocked": _json(blocked)})
    row = cursor.fetchone()
    if row is None:
        return None
    answer = _guide_json(cursor, row)
    cursor.execute(sql.REPLACED_BY, (row["id"], row["feed"]))
    newer = cursor.fetchone()
    answer["text"] = row["text"]
    answer["replaced_by"] = None if newer is None else newer["id"]
    return answer


def _guide_json(cursor: Cursor, row: sqlite3.Row) -> JsonObject:
    return {
        "id": row["id"],
        "feed": row["feed"],
        "group": _group(cursor, row["feed"]),
        "title": row["title"],
        "summary": row["summary"],
        "tags": orjson.loads(row["tags"]),
        "replaces": row["replaces"],
        "published_at": row["ts"],
    }


def list_advisers(
    cursor: Cursor,
    *,
    topic: str | None = None,
    q: str | None = None,
    near: Near | None = None,
    blocked: Iterable[str] = (),
    limit: int = 50,
    after: str | None = None,
) -> JsonObject:
    """Advisers by display name, each with the group to contact them through.

    Args:
        cursor: A read cursor.
        topic: A topic they advise on.
        q: Words that must all appear in their name, role, about, area or
            topics.
        near: Only advisers whose listing group's base lies in this radius.
        blocked: Feeds to leave out.
        limit: The page size, brought into 1..200.
        after: The ``next`` of the previous page, or None to start.

    Returns:
        ``{"advisers": [ADVISER], "next": cursor or None}``.

    Raises:
        InvalidCursorError: ``after`` is not a cursor this node handed out.
    """
    size = clamp(limit, MAX_PAGE)
    after_name, after_id = _decode_names(after)
    box = near.box() if near is not None else None
    params = {
        "topic": topic,
        **_common(blocked, q, size),
        "min_lat": box.min_lat_e6 if box else None,
        "max_lat": box.max_lat_e6 if box else None,
        "min_lon": box.min_lon_e6 if box else None,
        "max_lon": box.max_lon_e6 if box else None,
    }
    found: list[JsonValue] = []
    last: sqlite3.Row | None = None
    while len(found) < size:
        cursor.execute(
            sql.LIST_ADVISERS,
            {**params, "after_name": after_name, "after_id": after_id},
        )
        rows = cursor.fetchall()
        for row in rows:
            after_name, after_id, last = row["sort_name"], row["id"], row
            if near is None or near.holds(row["lat_e6"], row["lon_e6"]):
                found.append(_adviser_json(cursor, row, near))
            if len(found) == size:
                break
        if len(rows) < size:
            break
    is_full = len(found) == size and last is not None
    cursor_text = None
    if is_full and last is not None:
        cursor_text = base64url.encode(orjson.dumps([last["sort_name"], last["id"]]))
    return {"advisers": found, "next": cursor_text}


def _adviser_json(cursor: Cursor, row: sqlite3.Row, near: Near | None) -> JsonObject:
    cursor.execute(sql.GROUP, (row["feed"],))
    group = cursor.fetchone()
    answer: JsonObject = {
        "id": row["id"],
        "display_name": row["display_name"],
        "role": row["role"],
        "topics": orjson.loads(row["topics"]),
        "about": row["about"],
        "area": row["area"],
        "listed_at": row["ts"],
        "group": {
            "feed": row["feed"],
            "name": group["name"] if group else None,
            "how_to_join": group["how_to_join"] if group else None,
        },
    }
    if near is not None:
        # Answers are JSON, not event bodies: a float is fine here.
        distance = round(near.distance_to(row["lat_e6"], row["lon_e6"]), 1)
        answer["distance_km"] = cast(JsonValue, distance)
    return answer


def list_questions(
    cursor: Cursor,
    *,
    tag: str | None = None,
    q: str | None = None,
    feed: str | None = None,
    network: str | None = None,
    answered: bool | None = None,
    blocked: Iterable[str] = (),
    limit: int = 50,
    after: str | None = None,
) -> JsonObject:
    """Questions, newest first.

    Args:
        cursor: A read cursor.
        tag: A tag the question has.
        q: Words that must all appear in its title, text or tags.
        feed: Only this group's questions.
        network: Only questions asked of this network.
        answered: Only those another group has answered (True) or not (False).
        blocked: Feeds to leave out.
        limit: The page size, brought into 1..200.
        after: The ``next`` of the previous page, or None to start.

    Returns:
        ``{"questions": [QUESTION], "next": cursor or None}``.

    Raises:
        InvalidCursorError: ``after`` is not a cursor this node handed out.
    """
    size = clamp(limit, MAX_PAGE)
    after_ts, after_id = _decode_newest(after)
    params = {
        "tag": tag,
        "feed": feed,
        "network": network,
        "answered": None if answered is None else int(answered),
        **_common(blocked, q, size),
    }
    cursor.execute(
        sql.LIST_QUESTIONS, {**params, "after_ts": after_ts, "after_id": after_id}
    )
    rows = cursor.fetchall()
    items: list[JsonValue] = [_question_json(cursor, row) for row in rows]
    return {"questions": items, "next": _newest_cursor(rows, size)}


def get_question(
    cursor: Cursor, question_id: str, *, blocked: Iterable[str] = ()
) -> JsonObject | None:
    """One question with its answers, best first (most helpful, then oldest).

    Returns:
        QUESTION with ``answers``: ``{id, feed, group, text,
        author_display_name, adviser, in_reply_to, helpful, marked_by,
        posted_at}`` each; None when not held, redacted or of a blocked feed.
    """
    skip = _json(blocked)
    cursor.execute(sql.GET_QUESTION, {"id": question_id, "blocked": skip})
    row = cursor.fetchone()
    if row is None:
        return None
    answer = _question_json(cursor, row)
    cursor.execute(sql.SELECT_MARKS, {"question": question_id, "blocked": skip})
    marks: dict[str, list[JsonValue]] = {}
    for mark in cursor.fetchall():
        marks.setdefault(mark["answer"], []).append(_group(cursor, mark["feed"]))
    cursor.execute(sql.SELECT_ANSWERS, {"question": question_id, "blocked": skip})
    rows = cursor.fetchall()
    ids = {reply["id"] for reply in rows}
    replies = [_answer_json(cursor, r, marks.get(r["id"], []), ids) for r in rows]
    replies.sort(key=lambda reply: -cast(int, reply["helpful"]))  # stable: oldest
    answer["answers"] = list(replies)
    return answer


def _question_json(cursor: Cursor, row: sqlite3.Row) -> JsonObject:
    return {
        "id": row["id"],
        "feed": row["feed"],
        "group": _group(cursor, row["feed"]),
        "title": row["title"],
        "text": row["text"],
        "tags": orjson.loads(row["tags"]),
        "network": row["network"],
        "asked_at": row["ts"],
        "answer_count": row["answers"],
        "answered": bool(row["answered"]),
    }


def _answer_json(
    cursor: Cursor, row: sqlite3.Row, marked_by: list[JsonValue], ids: set[str]
) -> JsonObject:
    body = orjson.loads(row["body"])
    reply_to = body.get("in_reply_to")
    return {
        "id": row["id"],
        "feed": row["feed"],
        "group": _group(cursor, row["feed"]),
        "text": body.get("text"),
        "author_display_name": body.get("author_display_name"),
        "adviser": body.get("adviser"),
        "in_reply_to": reply_to if reply_to in ids else None,
        "helpful": len(marked_by),
        "marked_by": marked_by,
        "posted_at": row["ts"],
    }


def _group(cursor: Cursor, feed: str) -> JsonObject:
    cursor.execute(sql.GROUP, (feed,))
    group = cursor.fetchone()
    return {"feed": feed, "name": group["name"] if group else None}


def _common(blocked: Iterable[str], q: str | None, size: int) -> dict[str, object]:
    words = (q or "").casefold().split()[:_MAX_WORDS]
    return {
        "blocked": _json(blocked),
        "words": orjson.dumps(words).decode(),
        "limit": size,
    }


def _json(feeds: Iterable[str]) -> str:
    return orjson.dumps(sorted(feeds)).decode()


def _newest_cursor(rows: list[sqlite3.Row], size: int) -> str | None:
    if len(rows) < size:
        return None
    return base64url.encode(orjson.dumps([rows[-1]["ts"], rows[-1]["id"]]))


def _decode(text: str) -> JsonValue:
    try:
        value: JsonValue = orjson.loads(base64url.decode(text, field="after"))
    except (ProtocolError, orjson.JSONDecodeError):
        raise InvalidCursorError("after is not a cursor of this listing") from None
    return value


def _decode_newest(text: str | None) -> tuple[int, str]:
    if text is None:
        return _START_TS, ""
    value = _decode(text)
    if not (
        isinstance(value, list)
        and len(value) == 2
        and type(value[0]) is int
        and abs(value[0]) <= _START_TS
        and isinstance(value[1], str)
    ):
        raise InvalidCursorError("after is not a cursor of this listing")
    return value[0], value[1]


def _decode_names(text: str | None) -> tuple[str, str]:
    if text is None:
        return "", ""
    value = _decode(text)
    if not (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], str)
    ):
        raise InvalidCursorError("after is not a cursor of this listing")
    return value[0], value[1]
