"""Speaking tours: one series whose stops are meetings in their hosts' feeds.

A ``tour.announced`` is a row of ``tours``; its stops are the meetings whose
current version names the tour, found when the tour is read, so a stop
scheduled before the announcement arrives by sync still joins the tour. When
the tour names its ``hosts``, only stops from those feeds and the announcing
feed belong to it. A redaction removes the tour (its stops stay meetings).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import orjson

from node.projections import meetings_sql as sql
from node.projections.meeting_queries import (
    MAX_PAGE,
    group_names,
    tour_row,
)
from node.projections.meeting_views import list_meetings
from node.projections.meetings import MeetingFilters
from node.projections.model import InvalidCursorError, Projected, clamp
from node.projections.recurrence import MAX_TIME
from node.storage.feeds import redaction_target
from node.storage.sqldb import Cursor
from protocol import JsonObject, JsonValue, ProtocolError, base64url

__all__ = ["MAX_STOPS", "apply", "create", "finish", "get_tour", "list_tours", "reset"]

TOUR_TYPE = "tour.announced"
#: The most stops one tour's answer lists.
MAX_STOPS = 200
_FIELDS = ("title", "description", "starts_at", "ends_at", "tz", "campaign")
_MORE_FIELDS = ("network", "url")


def create(cursor: Cursor) -> None:
    """Create the tours table."""
    for statement in sql.CREATE_TOURS:
        cursor.execute(statement)


def reset(cursor: Cursor) -> None:
    """Drop the tours table and create it empty."""
    for statement in sql.DROP_TOURS:
        cursor.execute(statement)
    create(cursor)


def finish(cursor: Cursor, items: Sequence[Projected]) -> None:
    """Nothing to tidy per batch."""


def apply(cursor: Cursor, item: Projected) -> None:
    """Hold a valid tour; when a redaction names one, drop it."""
    event = item.event
    target = redaction_target(event)
    if target is not None:
        cursor.execute(sql.REDACT_TOUR, (target, event.feed))
    if not item.is_valid or event.body is None or event.type != TOUR_TYPE:
        return
    body = event.body
    words = [body.get("title"), body.get("description")]
    cursor.execute(
        sql.INSERT_TOUR,
        (
            event.id,
            event.feed,
            event.seq,
            event.ts,
            orjson.dumps(body).decode(),
            body["starts_at"],
            body["ends_at"],
            "\n".join(w for w in words if isinstance(w, str)).casefold(),
        ),
    )


def list_tours(
    cursor: Cursor,
    start: int,
    limit: int,
    after: str | None,
    blocked: frozenset[str],
) -> JsonObject:
    """Tours not yet over, by start.

    Args:
        cursor: A read cursor.
        start: Only tours ending at or after this (UTC milliseconds).
        limit: The page size, brought into 1..200.
        after: The previous page's ``next``, or None to start.
        blocked: Feeds whose tours are left out.

    Returns:
        ``{"tours": [tour, …], "next": cursor or None}``.

    Raises:
        InvalidCursorError: ``after`` is not a cursor this node handed out.
    """
    after_start, after_id = _decode_cursor(after) if after else (-1, "")
    size = clamp(limit, MAX_PAGE)
    cursor.execute(
        sql.LIST_TOURS,
        {
            "start": start,
            "after_start": after_start,
            "after_id": after_id,
            "limit": size,
        },
    )
    rows = cursor.fetchall()
    shown = [row for row in rows if row["feed"] not in blocked]
    names = group_names(cursor, _feeds(shown))
    last = rows[-1] if len(rows) == size else None
    return {
        "tours": [_tour(row, names) for row in shown],
        "next": _encode_cursor(last["starts_at"], last["id"]) if last else None,
    }


def get_tour(
    cursor: Cursor, tour_id: str, blocked: frozenset[str]
) -> JsonObject | None:
    """One tour with its stops, in start order.

    Args:
        cursor: A read cursor.
        tour_id: The ``tour.announced`` event id.
        blocked: Feeds left out (the tour itself, or stops).

    Returns:
        The tour and ``stops`` (occurrences as a meetings listing has them);
        None when it is not held, redacted or its feed blocked.
    """
    row = tour_row(cursor, tour_id)
    if row is None or row["feed"] in blocked:
        return None
    answer = _tour(row, group_names(cursor, _feeds([row])))
    stops = list_meetings(
        cursor, MeetingFilters(0, MAX_TIME, tour=tour_id), MAX_STOPS, None, blocked
    )
    answer["stops"] = stops["meetings"]
    return answer


def _feeds(rows: list[sqlite3.Row]) -> list[str]:
    feeds: list[str] = []
    for row in rows:
        feeds.append(row["feed"])
        feeds.extend(_hosts(orjson.loads(row["body"])))
    return feeds


def _hosts(body: JsonObject) -> list[str]:
    hosts = body.get("hosts")
    return [h for h in hosts if isinstance(h, str)] if isinstance(hosts, list) else []


def _tour(row: sqlite3.Row, names: dict[str, str]) -> JsonObject:
    body: JsonObject = orjson.loads(row["body"])
    answer: JsonObject = {
        "id": row["id"],
        "feed": row["feed"],
        "host": {"feed": row["feed"], "name": names.get(row["feed"])},
    }
    for field in (*_FIELDS, *_MORE_FIELDS):
        answer[field] = body.get(field)
    hosts: list[JsonValue] = [{"feed": h, "name": names.get(h)} for h in _hosts(body)]
    answer["hosts"] = hosts
    answer["tags"] = body.get("tags") or []
    return answer


def _encode_cursor(starts_at: int, tour_id: str) -> str:
    return base64url.encode(orjson.dumps([starts_at, tour_id]))


def _decode_cursor(text: str) -> tuple[int, str]:
    try:
        value = orjson.loads(base64url.decode(text, field="after"))
    except (ProtocolError, orjson.JSONDecodeError):
        raise InvalidCursorError("after is not a tours cursor") from None
    if not (
        isinstance(value, list)
        and len(value) == 2
        and type(value[0]) is int
        and 0 <= value[0] < 2**53
        and isinstance(value[1], str)
        and len(value[1]) <= 60
    ):
        raise InvalidCursorError("after is not a tours cursor")
    return value[0], value[1]
