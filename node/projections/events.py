"""The public events listing: every event held, in the order it was stored.

Every event is listed, whatever its type and whether its body passes its
schema: they are public and relayed all the same (DESIGN §3). A row keeps the
event's canonical wire text; when the feed's author redacts it (DESIGN §3,
``event.redacted``, same feed only) the row's text becomes the event without
its body. This model runs first in every batch: the others look redaction
targets up in its table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from node.projections import sql
from node.projections.model import Projected, clamp
from node.storage.feeds import redaction_target
from node.storage.sqldb import Cursor
from protocol import EventId, FeedId, decode_event

__all__ = [
    "MAX_PAGE",
    "EventItem",
    "EventsPage",
    "apply",
    "create",
    "finish",
    "list_events",
    "reset",
]

#: The largest page of the listing.
MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class EventItem:
    """One listed event.

    Attributes:
        position: Its position in this node's log (the paging cursor).
        feed: The author's feed id.
        seq: Its place in the feed.
        id: The event id.
        type: The event type.
        ts: The author's clock, in milliseconds (advisory).
        wire: The canonical wire text, without ``body`` when redacted.
        is_redacted: Whether the author redacted its body.
    """

    position: int
    feed: str
    seq: int
    id: str
    type: str
    ts: int
    wire: str
    is_redacted: bool


@dataclass(frozen=True, slots=True)
class EventsPage:
    """A page of the listing.

    Attributes:
        items: The events, in position order.
        next: The last item's position, to pass as ``after``; None when empty.
    """

    items: list[EventItem]
    next: int | None


def create(cursor: Cursor) -> None:
    """Create the events table and its indexes."""
    for statement in sql.CREATE_EVENTS:
        cursor.execute(statement)


def apply(cursor: Cursor, item: Projected) -> None:
    """List one event; when it is a redaction, strip its target's body."""
    event = item.event
    cursor.execute(
        sql.INSERT_EVENT,
        (
            item.position,
            event.feed,
            event.seq,
            event.id,
            event.type,
            event.ts,
            event.wire_bytes().decode(),
            int(event.is_redacted),
            int(item.is_valid),
        ),
    )
    target = redaction_target(event)
    if target is not None:
        _redact(cursor, target, event.feed)


def _redact(cursor: Cursor, target: EventId, feed: FeedId) -> None:
    # Only the same feed's events can be redacted; a target not held, or
    # held in another feed, is left alone.
    cursor.execute(sql.SELECT_TARGET, (target, feed))
    row = cursor.fetchone()
    if row is None:
        return
    text = decode_event(row["wire"]).without_body().wire_bytes().decode()
    cursor.execute(sql.REDACT_EVENT, (text, target, feed))


def finish(cursor: Cursor, items: Sequence[Projected]) -> None:
    """Nothing to tidy per batch."""


def reset(cursor: Cursor) -> None:
    """Drop the events table and create it empty."""
    for statement in sql.DROP_EVENTS:
        cursor.execute(statement)
    create(cursor)


def list_events(
    cursor: Cursor,
    feed: str | None,
    type: str | None,
    after: int,
    limit: int,
) -> EventsPage:
    """List events after a position, optionally of one feed and/or one type.

    Args:
        cursor: A read cursor.
        feed: Only this feed's events, when given.
        type: Only events of this type, when given.
        after: Only events with a greater position.
        limit: The page size, brought into 1..500.

    Returns:
        The page.
    """
    cursor.execute(
        sql.LIST_EVENTS[feed is not None, type is not None],
        {"feed": feed, "type": type, "after": after, "limit": clamp(limit, MAX_PAGE)},
    )
    items = [
        EventItem(
            position=row["position"],
            feed=row["feed"],
            seq=row["seq"],
            id=row["id"],
            type=row["type"],
            ts=row["ts"],
            wire=row["wire"],
            is_redacted=bool(row["is_redacted"]),
        )
        for row in cursor.fetchall()
    ]
    return EventsPage(items, items[-1].position if items else None)
