"""The directory of groups: one row per feed, from its latest valid profile.

A feed's ``group.profile_set`` replaces the whole profile (a field left out
is cleared), so the row is simply the latest schema-valid, unredacted one.
When the author redacts the current profile, the row is rebuilt from the
latest remaining one, read back from the events listing, or removed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from eventsourcing.sqlite import SQLiteCursor

from node.projections import sql
from node.projections.model import InvalidCursorError, Projected, clamp
from node.storage.feeds import redaction_target
from protocol import (
    Event,
    EventId,
    FeedId,
    JsonObject,
    JsonValue,
    ProtocolError,
    base64url,
    decode_event,
)

__all__ = [
    "MAX_PAGE",
    "PROFILE_TYPE",
    "Group",
    "GroupsPage",
    "apply",
    "create",
    "finish",
    "get_group",
    "list_groups",
    "reset",
]

PROFILE_TYPE = "group.profile_set"
#: The largest page of the directory.
MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class Group:
    """A group as its latest profile describes it.

    Attributes:
        feed: The group's feed id.
        name: Its name.
        area: Where it organises, in words.
        description: Who it is and what it does.
        tags: What it focuses on.
        how_to_join: How to get involved.
        place_name: Its base, in words.
        lat_e6: The base's latitude in micro-degrees.
        lon_e6: The base's longitude in micro-degrees.
        url: Its own website.
        moved_from: Its old feed, after a key rotation.
        profile_seq: The seq of the profile this row comes from.
        updated_ts: That profile's ``ts``.
    """

    feed: str
    name: str
    area: str | None
    description: str | None
    tags: tuple[str, ...]
    how_to_join: str | None
    place_name: str | None
    lat_e6: int | None
    lon_e6: int | None
    url: str | None
    moved_from: str | None
    profile_seq: int
    updated_ts: int


@dataclass(frozen=True, slots=True)
class GroupsPage:
    """A page of the directory, ordered by name.

    Attributes:
        items: The groups.
        next: An opaque cursor to pass as ``after`` for the next page; None
            when this page is the last.
    """

    items: list[Group]
    next: str | None


def create(cursor: SQLiteCursor) -> None:
    """Create the groups table."""
    for statement in sql.CREATE_GROUPS:
        cursor.execute(statement)


def apply(cursor: SQLiteCursor, item: Projected) -> None:
    """Take a newer valid profile; rebuild the row when its profile is redacted."""
    event = item.event
    if item.is_valid and event.type == PROFILE_TYPE:
        _upsert(cursor, event)
    target = redaction_target(event)
    if target is not None:
        _after_redaction(cursor, target, event.feed)


def _after_redaction(cursor: SQLiteCursor, target: EventId, feed: FeedId) -> None:
    cursor.execute(sql.SELECT_TARGET, (target, feed))
    row = cursor.fetchone()
    if row is None or row["type"] != PROFILE_TYPE:
        return
    # The events model has already marked the target redacted.
    cursor.execute(sql.DELETE_GROUP, (feed,))
    cursor.execute(sql.LATEST_PROFILE, (feed,))
    latest = cursor.fetchone()
    if latest is not None:
        _upsert(cursor, decode_event(latest["wire"]))


def _upsert(cursor: SQLiteCursor, event: Event) -> None:
    body: JsonObject = event.body or {}
    place = body.get("place")
    place = place if isinstance(place, dict) else {}
    name = _text(body, "name") or ""
    area = _text(body, "area")
    tags = body.get("tags")
    cursor.execute(
        sql.UPSERT_GROUP,
        {
            "feed": event.feed,
            "name": name,
            "area": area,
            "description": _text(body, "description"),
            "tags": orjson.dumps(tags if isinstance(tags, list) else []).decode(),
            "how_to_join": _text(body, "how_to_join"),
            "place_name": _text(place, "name"),
            "lat_e6": _integer(place, "lat_e6"),
            "lon_e6": _integer(place, "lon_e6"),
            "url": _text(body, "url"),
            "moved_from": _text(body, "moved_from"),
            "profile_seq": event.seq,
            "updated_ts": event.ts,
            "sort_name": name.casefold(),
            "match_text": f"{name}\n{area or ''}".casefold(),
        },
    )


def _text(value: JsonObject, key: str) -> str | None:
    field = value.get(key)
    return field if isinstance(field, str) else None


def _integer(value: JsonObject, key: str) -> int | None:
    field: JsonValue = value.get(key)
    return field if type(field) is int else None


def finish(cursor: SQLiteCursor, items: Sequence[Projected]) -> None:
    """Nothing to tidy per batch."""


def reset(cursor: SQLiteCursor) -> None:
    """Drop the groups table and create it empty."""
    for statement in sql.DROP_GROUPS:
        cursor.execute(statement)
    create(cursor)


def get_group(cursor: SQLiteCursor, feed: str) -> Group | None:
    """Look one group up.

    Args:
        cursor: A read cursor.
        feed: The group's feed id.

    Returns:
        The group, or None when no valid profile of that feed is held.
    """
    cursor.execute(sql.GET_GROUP, (feed,))
    row = cursor.fetchone()
    return None if row is None else _group(row)


def list_groups(
    cursor: SQLiteCursor, q: str | None, tag: str | None, limit: int, after: str | None
) -> GroupsPage:
    """List groups by name, optionally matching words or a tag.

    Args:
        cursor: A read cursor.
        q: Text the name or area must contain (any case), when given.
        tag: A tag the group must have, when given.
        limit: The page size, brought into 1..500.
        after: The ``next`` cursor of the previous page, or None to start.

    Returns:
        The page.

    Raises:
        InvalidCursorError: ``after`` is not a cursor this node handed out.
    """
    after_name, after_feed = _decode_cursor(after) if after else ("", "")
    needle = q.strip().casefold() if q else ""
    size = clamp(limit, MAX_PAGE)
    cursor.execute(
        sql.LIST_GROUPS,
        {
            "after_name": after_name,
            "after_feed": after_feed,
            "q": needle or None,
            "tag": tag,
            "limit": size,
        },
    )
    rows = cursor.fetchall()
    items = [_group(row) for row in rows]
    last = rows[-1] if len(rows) == size else None
    return GroupsPage(
        items, _encode_cursor(last["sort_name"], last["feed"]) if last else None
    )


def _group(row: sqlite3.Row) -> Group:
    return Group(
        feed=row["feed"],
        name=row["name"],
        area=row["area"],
        description=row["description"],
        tags=tuple(orjson.loads(row["tags"])),
        how_to_join=row["how_to_join"],
        place_name=row["place_name"],
        lat_e6=row["lat_e6"],
        lon_e6=row["lon_e6"],
        url=row["url"],
        moved_from=row["moved_from"],
        profile_seq=row["profile_seq"],
        updated_ts=row["updated_ts"],
    )


def _encode_cursor(sort_name: str, feed: str) -> str:
    return base64url.encode(orjson.dumps([sort_name, feed]))


def _decode_cursor(text: str) -> tuple[str, str]:
    try:
        value = orjson.loads(base64url.decode(text, field="after"))
    except (ProtocolError, orjson.JSONDecodeError):
        raise InvalidCursorError("after is not a directory cursor") from None
    if not (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(part, str) for part in value)
    ):
        raise InvalidCursorError("after is not a directory cursor")
    return value[0], value[1]
