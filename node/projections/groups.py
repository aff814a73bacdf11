"""The directory of groups: one row per feed, from its latest valid profile.

A feed's ``group.profile_set`` replaces the whole profile (a field left out
is cleared), so the row is simply the latest schema-valid, unredacted one.
When the author redacts the current profile, the row is rebuilt from the
latest remaining one, read back from the events listing, or removed.

Near a point: groups whose base is within the radius, nearest first (ties by
feed id); the cursor is the last group's distance and feed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from node.projections import sql
from node.projections.fields import integer as _integer
from node.projections.fields import text as _text
from node.projections.geo import Near
from node.projections.model import InvalidCursorError, Projected, clamp
from node.storage.feeds import redaction_target
from node.storage.gazetteer import name_key
from node.storage.sqldb import Cursor
from protocol import (
    Event,
    EventId,
    FeedId,
    JsonObject,
    ProtocolError,
    base64url,
    decode_event,
)

__all__ = [
    "MAX_PAGE",
    "PROFILE_TYPE",
    "Group",
    "GroupsPage",
    "NearGroup",
    "NearGroupsPage",
    "apply",
    "create",
    "finish",
    "get_group",
    "groups_named",
    "list_groups",
    "list_groups_near",
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


@dataclass(frozen=True, slots=True)
class NearGroup:
    """A group with a base near the point asked about.

    Attributes:
        group: The group.
        distance_km: From the point to its base.
    """

    group: Group
    distance_km: float


@dataclass(frozen=True, slots=True)
class NearGroupsPage:
    """A page of the directory near a point, nearest first.

    Attributes:
        items: The groups.
        next: An opaque cursor for the next page; None when this is the last.
    """

    items: list[NearGroup]
    next: str | None


def create(cursor: Cursor) -> None:
    """Create the groups table."""
    for statement in sql.CREATE_GROUPS:
        cursor.execute(statement)


def apply(cursor: Cursor, item: Projected) -> None:
    """Take a newer valid profile; rebuild the row when its profile is redacted."""
    event = item.event
    if item.is_valid and event.type == PROFILE_TYPE:
        _upsert(cursor, event)
    target = redaction_target(event)
    if target is not None:
        _after_redaction(cursor, target, event.feed)


def _after_redaction(cursor: Cursor, target: EventId, feed: FeedId) -> None:
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


def _upsert(cursor: Cursor, event: Event) -> None:
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


def finish(cursor: Cursor, items: Sequence[Projected]) -> None:
    """Nothing to tidy per batch."""


def reset(cursor: Cursor) -> None:
    """Drop the groups table and create it empty."""
    for statement in sql.DROP_GROUPS:
        cursor.execute(statement)
    create(cursor)


def get_group(cursor: Cursor, feed: str) -> Group | None:
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
    cursor: Cursor, q: str | None, tag: str | None, limit: int, after: str | None
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


def list_groups_near(
    cursor: Cursor,
    near: Near,
    q: str | None,
    tag: str | None,
    limit: int,
    after: str | None,
) -> NearGroupsPage:
    """List groups whose base is within a radius, nearest first.

    Args:
        cursor: A read cursor.
        near: The point and radius.
        q: Text the name or area must contain (any case), when given.
        tag: A tag the group must have, when given.
        limit: The page size, brought into 1..500.
        after: The ``next`` cursor of the previous page, or None to start.

    Returns:
        The page.

    Raises:
        InvalidCursorError: ``after`` is not a cursor this node handed out.
    """
    start = _decode_near_cursor(after) if after else None
    within = [
        (distance, feed, row)
        for distance, feed, row in _by_distance(cursor, near, q, tag)
        if distance <= near.km and (start is None or (distance, feed) > start)
    ]
    size = clamp(limit, MAX_PAGE)
    page = within[:size]
    items = [NearGroup(_group(row), distance) for distance, _, row in page]
    more = len(within) > size
    last = page[-1] if more else None
    return NearGroupsPage(
        items, base64url.encode(orjson.dumps(last[:2])) if last else None
    )


def _by_distance(
    cursor: Cursor, near: Near, q: str | None, tag: str | None
) -> list[tuple[float, str, sqlite3.Row]]:
    """The matching groups in the radius's box, nearest first."""
    box = near.box()
    needle = q.strip().casefold() if q else ""
    cursor.execute(
        sql.LIST_GROUPS_IN_BOX,
        {
            "min_lat": box.min_lat_e6,
            "max_lat": box.max_lat_e6,
            "min_lon": box.min_lon_e6,
            "max_lon": box.max_lon_e6,
            "q": needle or None,
            "tag": tag,
        },
    )
    return sorted(
        (near.distance_to(row["lat_e6"], row["lon_e6"]), row["feed"], row)
        for row in cursor.fetchall()
    )


def groups_named(cursor: Cursor, name: str) -> list[Group]:
    """Groups with a base whose place name or area is ``name``.

    Names match by :func:`~node.storage.gazetteer.name_key` (no case, no
    accents), as the gazetteer matches them.

    Args:
        cursor: A read cursor.
        name: The place name asked for.

    Returns:
        The groups, by name.
    """
    key = name_key(name)
    if not key:
        return []
    cursor.execute(sql.GROUPS_WITH_BASE)
    return [
        _group(row)
        for row in cursor.fetchall()
        if key in (name_key(row["place_name"] or ""), name_key(row["area"] or ""))
    ]


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
    name, feed = _cursor_pair(text)
    if not (isinstance(name, str) and isinstance(feed, str)):
        raise InvalidCursorError("after is not a directory cursor")
    return name, feed


def _decode_near_cursor(text: str) -> tuple[float, str]:
    distance, feed = _cursor_pair(text)
    if not (isinstance(distance, int | float) and isinstance(feed, str)):
        raise InvalidCursorError("after is not a cursor of a directory near a point")
    return float(distance), feed


def _cursor_pair(text: str) -> tuple[object, object]:
    try:
        value = orjson.loads(base64url.decode(text, field="after"))
    except (ProtocolError, orjson.JSONDecodeError):
        raise InvalidCursorError("after is not a directory cursor") from None
    if not (isinstance(value, list) and len(value) == 2):
        raise InvalidCursorError("after is not a directory cursor")
    return value[0], value[1]
