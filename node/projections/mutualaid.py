"""The mutual-aid read model: needs and offers of every group, and their marks.

A ``need.posted`` or ``offer.posted`` is an item; its event id is the item's
id and its feed the group that posted it (contact goes through that group's
organisers: answers carry the group, never a member). An offer may name the
need it answers, possibly another group's. ``need.met`` and
``offer.withdrawn`` are stored keyed by their own id and indexed by the item
they name, in whatever order they arrive (:mod:`.mutualaid_sql`); who counts
is decided when a query reads them:

- ``need.met`` counts only from the need's own feed; its latest (by ``ts``)
  is the match that met it, and the offer it names is then ``met`` too.
- ``offer.withdrawn`` counts only from the offer's own feed.
- Otherwise an item whose ``until`` has passed (by the node's clock) has
  lapsed; else it is open.

An item's point, for "near" filters and matching, is its place's coordinates
or, when it gives none, its group's base (from the directory, at query time,
so a profile arriving later counts). A redaction deletes the row its target
made. Blocked feeds are passed in by the caller and left out of every answer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import orjson

from node.projections import mutualaid_sql as sql
from node.projections.fields import integer as _integer
from node.projections.fields import text as _text
from node.projections.geo import Near
from node.projections.model import InvalidCursorError, Projected, clamp
from node.storage.feeds import redaction_target
from node.storage.sqldb import Cursor
from protocol import JsonObject, ProtocolError, base64url

__all__ = [
    "CATEGORIES",
    "KINDS",
    "MAX_PAGE",
    "STATUSES",
    "AidFilters",
    "AidItem",
    "AidPage",
    "Marked",
    "apply",
    "create",
    "finish",
    "get_item",
    "list_items",
    "matches",
    "offers_for",
    "reset",
]

MAX_PAGE = 200
KINDS = ("need", "offer")
_POSTED = {"need.posted": "need", "offer.posted": "offer"}
_MARKS = {"need.met": "met", "offer.withdrawn": "withdrawn"}
CATEGORIES = (
    "food", "transport", "childcare", "housing", "money", "skills", "time",
    "goods", "company", "other",
)  # fmt: skip
STATUSES = ("open", "met", "withdrawn", "lapsed")
_START_TS = 2**62
_MAX_WORDS = 8


@dataclass(frozen=True, slots=True)
class AidFilters:
    """What a listing of needs or offers is narrowed by; None leaves one out.

    Attributes:
        category: The category, exactly.
        q: Words that must all appear in the title, text, place or tags.
        feed: The posting group.
        status: ``open``, ``met``, ``withdrawn`` or ``lapsed``.
    """

    category: str | None = None
    q: str | None = None
    feed: str | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class AidItem:
    """A held need or offer as a query found it.

    Attributes:
        row: Its row, with ``status``, ``group_name``, ``group_how_to_join``,
            ``at_lat`` and ``at_lon`` (its point, or its group's base).
        distance_km: From the listing's or match's point, when it had one.
    """

    row: sqlite3.Row
    distance_km: float | None = None


@dataclass(frozen=True, slots=True)
class AidPage:
    """A page of needs or offers (newest or nearest first); ``next`` None last."""

    items: list[AidItem]
    next: str | None


@dataclass(frozen=True, slots=True)
class Marked:
    """An item and what marks it: the need.met or offer.withdrawn that counts."""

    item: AidItem
    mark: sqlite3.Row | None


def create(cursor: Cursor) -> None:
    """Create the mutual-aid tables."""
    for statement in sql.CREATE:
        cursor.execute(statement)


def apply(cursor: Cursor, item: Projected) -> None:
    """Store a valid need, offer or mark; forget what a redaction's target made."""
    event = item.event
    target = redaction_target(event)
    if target is not None:
        cursor.execute(sql.DELETE_ITEM, (target, event.feed))
        cursor.execute(sql.DELETE_REF, (target, event.feed))
    if not item.is_valid or event.body is None:
        return
    body = event.body
    if (kind := _POSTED.get(event.type)) is not None:
        cursor.execute(sql.INSERT_ITEM, _item_row(item, kind, body))
    elif (mark := _MARKS.get(event.type)) is not None:
        named = body.get("need") if mark == "met" else body.get("offer")
        note = body.get("note") if mark == "met" else body.get("reason")
        cursor.execute(
            sql.INSERT_REF,
            (
                event.id,
                item.position,
                event.feed,
                mark,
                named,
                _text(body, "offer") if mark == "met" else None,
                event.ts,
                note if isinstance(note, str) else None,
            ),
        )


def _item_row(item: Projected, kind: str, body: JsonObject) -> dict[str, object]:
    event = item.event
    place = body.get("place")
    place = place if isinstance(place, dict) else {}
    tags = body.get("tags")
    tags = tags if isinstance(tags, list) else []
    title, text = _text(body, "title") or "", _text(body, "text")
    words = [title, text or "", _text(place, "name") or "", *map(str, tags)]
    return {
        "id": event.id,
        "kind": kind,
        "position": item.position,
        "feed": event.feed,
        "ts": event.ts,
        "title": title,
        "category": _text(body, "category") or "other",
        "text": text,
        "place_name": _text(place, "name"),
        "lat_e6": _integer(place, "lat_e6"),
        "lon_e6": _integer(place, "lon_e6"),
        "until": _integer(body, "until"),
        "tags": orjson.dumps(tags).decode(),
        "need": _text(body, "need") if kind == "offer" else None,
        "match_text": "\n".join(words).casefold(),
    }


def finish(cursor: Cursor, items: Sequence[Projected]) -> None:
    """Nothing to tidy per batch."""


def reset(cursor: Cursor) -> None:
    """Drop the mutual-aid tables and create them empty."""
    for statement in sql.DROP:
        cursor.execute(statement)
    create(cursor)


# -- queries ------------------------------------------------------------------


def list_items(
    cursor: Cursor,
    kind: str,
    filters: AidFilters,
    *,
    now: int,
    blocked: Iterable[str] = (),
    near: Near | None = None,
    limit: int = 50,
    after: str | None = None,
) -> AidPage:
    """List needs or offers, newest first (``ts``, then id).

    Args:
        cursor: A read cursor.
        kind: ``need`` or ``offer``.
        filters: What to narrow the listing by.
        now: The node's clock (ms), for lapsed items.
        blocked: Feeds to leave out.
        near: Only items whose point lies within this radius.
        limit: The page size, brought into 1..200.
        after: The ``next`` of the previous page, or None to start.

    Returns:
        The page.

    Raises:
        InvalidCursorError: ``after`` is not a cursor this node handed out.
    """
    size = clamp(limit, MAX_PAGE)
    after_ts, after_id = _decode_cursor(after) if after else (_START_TS, "")
    words = (filters.q or "").casefold().split()[:_MAX_WORDS]
    box = near.box() if near is not None else None
    params: dict[str, object] = {
        "kind": kind,
        "now": now,
        "blocked": _blocked(blocked),
        "category": filters.category,
        "feed": filters.feed,
        "status": filters.status,
        "words": orjson.dumps(words).decode(),
        "min_lat": box.min_lat_e6 if box else None,
        "max_lat": box.max_lat_e6 if box else None,
        "min_lon": box.min_lon_e6 if box else None,
        "max_lon": box.max_lon_e6 if box else None,
        "limit": size,
    }
    found: list[AidItem] = []
    while len(found) < size:
        cursor.execute(
            sql.LIST_ITEMS, {**params, "after_ts": after_ts, "after_id": after_id}
        )
        rows = cursor.fetchall()
        for row in rows:
            after_ts, after_id = row["ts"], row["id"]
            if near is None:
                found.append(AidItem(row))
            elif near.holds(row["at_lat"], row["at_lon"]):
                distance = near.distance_to(row["at_lat"], row["at_lon"])
                found.append(AidItem(row, distance))
            if len(found) == size:
                break
        if len(rows) < size:
            break
    last = found[-1].row if len(found) == size else None
    return AidPage(found, _encode_cursor(last) if last else None)


def get_item(
    cursor: Cursor, kind: str, item_id: str, *, now: int, blocked: Iterable[str]
) -> Marked | None:
    """One need or offer, with the mark that counts for it.

    Returns:
        The item and its need.met (a need) or offer.withdrawn (an offer), or
        None when it is not held, redacted, or its group is blocked.
    """
    params = {"id": item_id, "kind": kind, "now": now, "blocked": _blocked(blocked)}
    cursor.execute(sql.GET_ITEM, params)
    row = cursor.fetchone()
    if row is None:
        return None
    mark = "met" if kind == "need" else "withdrawn"
    cursor.execute(sql.MARK, {"id": item_id, "kind": mark, "feed": row["feed"]})
    return Marked(AidItem(row), cursor.fetchone())


def offers_for(
    cursor: Cursor, need_id: str, *, now: int, blocked: Iterable[str]
) -> list[AidItem]:
    """The offers naming a need, oldest first, none of a blocked group."""
    cursor.execute(
        sql.OFFERS_FOR, {"id": need_id, "now": now, "blocked": _blocked(blocked)}
    )
    return [AidItem(row) for row in cursor.fetchall()]


def matches(
    cursor: Cursor,
    item: AidItem,
    *,
    km: float,
    now: int,
    blocked: Iterable[str],
    limit: int = 50,
    after: str | None = None,
) -> AidPage:
    """Open items of the other kind and the same category, nearest first.

    Distance runs from the item's point to each candidate's point (each its
    own place, or its group's base). An item without a point matches nothing.

    Args:
        cursor: A read cursor.
        item: The need (or offer) to match.
        km: The radius.
        now: The node's clock (ms).
        blocked: Feeds to leave out.
        limit: The page size, brought into 1..200.
        after: The ``next`` of the previous page, or None to start.

    Returns:
        The page; ties in distance go by id.

    Raises:
        InvalidCursorError: ``after`` is not a cursor this node handed out.
    """
    start = _decode_match_cursor(after) if after else None
    row = item.row
    if row["at_lat"] is None or row["at_lon"] is None:
        return AidPage([], None)
    near = Near(row["at_lat"], row["at_lon"], km)
    box = near.box()
    cursor.execute(
        sql.OPEN_IN_BOX,
        {
            "kind": "offer" if row["kind"] == "need" else "need",
            "category": row["category"],
            "id": row["id"],
            "now": now,
            "blocked": _blocked(blocked),
            "min_lat": box.min_lat_e6,
            "max_lat": box.max_lat_e6,
            "min_lon": box.min_lon_e6,
            "max_lon": box.max_lon_e6,
        },
    )
    ranked = sorted(
        (near.distance_to(found["at_lat"], found["at_lon"]), found["id"], found)
        for found in cursor.fetchall()
    )
    within = [
        (distance, found_id, found)
        for distance, found_id, found in ranked
        if distance <= km and (start is None or (distance, found_id) > start)
    ]
    size = clamp(limit, MAX_PAGE)
    page = within[:size]
    last = page[-1] if len(within) > size else None
    cursor_text = base64url.encode(orjson.dumps([last[0], last[1]])) if last else None
    return AidPage([AidItem(found, d) for d, _, found in page], cursor_text)


def _blocked(blocked: Iterable[str]) -> str:
    return orjson.dumps(sorted(set(blocked))).decode()


def _encode_cursor(row: sqlite3.Row) -> str:
    return base64url.encode(orjson.dumps([row["ts"], row["id"]]))


def _decode_cursor(text: str) -> tuple[int, str]:
    value = _cursor(text)
    if not (type(value[0]) is int and abs(value[0]) <= _START_TS):
        raise InvalidCursorError("after is not a cursor of needs or offers")
    return value[0], value[1]


def _decode_match_cursor(text: str) -> tuple[float, str]:
    distance, item_id = _cursor(text)
    if not isinstance(distance, int | float) or isinstance(distance, bool):
        raise InvalidCursorError("after is not a cursor of matches")
    return float(distance), item_id


def _cursor(text: str) -> tuple[object, str]:
    try:
        value = orjson.loads(base64url.decode(text, field="after"))
    except (ProtocolError, orjson.JSONDecodeError):
        raise InvalidCursorError("after is not a cursor of needs or offers") from None
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[1], str)):
        raise InvalidCursorError("after is not a cursor of needs or offers")
    return value[0], value[1]
