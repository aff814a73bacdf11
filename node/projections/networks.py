"""The networks read model: regional networks, coalitions and their groups.

A ``network.formed`` is a network; its event id is the network's id and its
feed the convenor, which is also the first member (the formed event counts
as the convenor's join). Other groups join and leave from their own feeds
(``network.joined`` / ``network.left``); a group is a member while its latest
such event for the network (by its own feed's ``seq``) is a join, so a
convenor that leaves is no longer a member. Joins may arrive before the
network: they are stored keyed by their own id and count once it is held
(:mod:`.networks_sql`).

A redaction deletes the row its target made: a redacted ``network.formed``
hides the network, a redacted join no longer makes its group a member (the
group's previous word on the network, if any, decides). Blocked feeds are
passed in by the caller and left out of every answer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import cast

import orjson

from node.projections import networks_sql as sql
from node.projections.fields import (
    decode_text_cursor,
    encode_cursor,
)
from node.projections.fields import (
    integer as _integer,
)
from node.projections.fields import (
    text as _text,
)
from node.projections.geo import Near
from node.projections.model import Projected, clamp
from node.storage.feeds import redaction_target
from node.storage.sqldb import Cursor
from protocol import Event, JsonObject, JsonValue

__all__ = [
    "KINDS",
    "MAX_PAGE",
    "apply",
    "create",
    "finish",
    "get_network",
    "list_networks",
    "member_feeds",
    "members",
    "networks_of",
    "reset",
]

#: The largest page of the listing.
MAX_PAGE = 200
#: The kinds of ``network.formed``.
KINDS = ("regional", "thematic", "coalition", "other")
FORMED_TYPE = "network.formed"
_MEMBERSHIP = {"network.joined": 1, "network.left": 0}
_MAX_WORDS = 8


def create(cursor: Cursor) -> None:
    """Create the networks tables."""
    for statement in sql.CREATE:
        cursor.execute(statement)


def apply(cursor: Cursor, item: Projected) -> None:
    """Store a valid network event; forget what a redaction's target made."""
    event = item.event
    target = redaction_target(event)
    if target is not None:
        cursor.execute(sql.DELETE_NETWORK, (target, event.feed))
        cursor.execute(sql.DELETE_MEMBERSHIP, (target, event.feed))
    if not item.is_valid or event.body is None:
        return
    if event.type == FORMED_TYPE:
        _insert_network(cursor, item.position, event, event.body)
        _membership(cursor, event, event.id, is_join=1)
    elif (is_join := _MEMBERSHIP.get(event.type)) is not None:
        network = event.body.get("network")
        if isinstance(network, str):
            _membership(cursor, event, network, is_join=is_join)


def _membership(cursor: Cursor, event: Event, network: str, is_join: int) -> None:
    cursor.execute(
        sql.INSERT_MEMBERSHIP,
        (event.id, network, event.feed, event.seq, event.ts, is_join),
    )


def _insert_network(
    cursor: Cursor, position: int, event: Event, body: JsonObject
) -> None:
    place = body.get("place")
    place = place if isinstance(place, dict) else {}
    name = _text(body, "name") or ""
    area, description = _text(body, "area"), _text(body, "description")
    cursor.execute(
        sql.INSERT_NETWORK,
        {
            "id": event.id,
            "position": position,
            "feed": event.feed,
            "ts": event.ts,
            "name": name,
            "kind": _text(body, "kind") or "other",
            "description": description,
            "area": area,
            "place_name": _text(place, "name"),
            "lat_e6": _integer(place, "lat_e6"),
            "lon_e6": _integer(place, "lon_e6"),
            "tags": orjson.dumps(body.get("tags") or []).decode(),
            "url": _text(body, "url"),
            "sort_name": name.casefold(),
            "match_text": f"{name}\n{area or ''}\n{description or ''}".casefold(),
        },
    )


def finish(cursor: Cursor, items: Sequence[Projected]) -> None:
    """Nothing to tidy per batch."""


def reset(cursor: Cursor) -> None:
    """Drop the networks tables and create them empty."""
    for statement in sql.DROP:
        cursor.execute(statement)
    create(cursor)


# -- queries ------------------------------------------------------------------


def list_networks(
    cursor: Cursor,
    *,
    q: str | None = None,
    kind: str | None = None,
    tag: str | None = None,
    near: Near | None = None,
    blocked: Iterable[str] = (),
    limit: int = 50,
    after: str | None = None,
) -> JsonObject:
    """List networks by name.

    Args:
        cursor: A read cursor.
        q: Words that must all appear in the name, area or description.
        kind: The network's kind, exactly.
        tag: A tag it has.
        near: Only networks whose place lies within this radius.
        blocked: Feeds to leave out (as convenors and as members).
        limit: The page size, brought into 1..200.
        after: The ``next`` of the previous page, or None to start.

    Returns:
        ``{"networks": [...], "next": cursor or None}``.

    Raises:
        InvalidCursorError: ``after`` is not a cursor this node handed out.
    """
    size = clamp(limit, MAX_PAGE)
    after_name, after_id = _decode_cursor(after) if after else ("", "")
    box = near.box() if near is not None else None
    params = {
        "blocked": _blocked(blocked),
        "kind": kind,
        "tag": tag,
        "words": orjson.dumps((q or "").casefold().split()[:_MAX_WORDS]).decode(),
        "min_lat": box.min_lat_e6 if box else None,
        "max_lat": box.max_lat_e6 if box else None,
        "min_lon": box.min_lon_e6 if box else None,
        "max_lon": box.max_lon_e6 if box else None,
        "limit": size,
    }
    found: list[JsonValue] = []
    last: sqlite3.Row | None = None
    while len(found) < size:
        cursor.execute(
            sql.LIST_NETWORKS,
            {**params, "after_name": after_name, "after_id": after_id},
        )
        rows = cursor.fetchall()
        for row in rows:
            after_name, after_id, last = row["sort_name"], row["id"], row
            if near is None or near.holds(row["lat_e6"], row["lon_e6"]):
                found.append(_network(cursor, row, near))
            if len(found) == size:
                break
        if len(rows) < size:
            break
    is_full = len(found) == size and last is not None
    return {
        "networks": found,
        "next": _encode_cursor(last) if is_full and last is not None else None,
    }


def get_network(
    cursor: Cursor, network_id: str, *, blocked: Iterable[str] = ()
) -> JsonObject | None:
    """One network with its member groups, convenor first.

    Args:
        cursor: A read cursor.
        network_id: The event id of its ``network.formed``.
        blocked: Feeds to leave out.

    Returns:
        The network and ``groups``: ``{feed, name, area, joined_at}`` each;
        None when it is not held, redacted or its convenor is blocked.
    """
    cursor.execute(sql.GET_NETWORK, {"id": network_id, "blocked": _blocked(blocked)})
    row = cursor.fetchone()
    if row is None:
        return None
    answer = _network(cursor, row, None)
    answer["groups"] = members(cursor, network_id, row["feed"], blocked=blocked)
    return answer


def members(
    cursor: Cursor, network_id: str, convenor: str, *, blocked: Iterable[str]
) -> list[JsonValue]:
    """The member groups of a network, the convenor first, then by joining."""
    cursor.execute(sql.MEMBERS, {"network": network_id, "blocked": _blocked(blocked)})
    groups: list[JsonObject] = [
        {
            "feed": row["feed"],
            "name": row["name"],
            "area": row["area"],
            "joined_at": row["ts"],
        }
        for row in cursor.fetchall()
    ]
    groups.sort(key=lambda group: group["feed"] != convenor)
    return list(groups)


def member_feeds(
    cursor: Cursor, network_id: str, *, blocked: Iterable[str] = ()
) -> tuple[str, ...]:
    """The feeds of a network's member groups; empty when it is not held.

    Args:
        cursor: A read cursor.
        network_id: The event id of its ``network.formed``.
        blocked: Feeds to leave out.

    Returns:
        The member feeds, the convenor first.
    """
    network = get_network(cursor, network_id, blocked=blocked)
    if network is None:
        return ()
    groups = network["groups"]
    if not isinstance(groups, list):  # pragma: no cover - get_network's shape
        return ()
    return tuple(str(group["feed"]) for group in groups if isinstance(group, dict))


def networks_of(
    cursor: Cursor, feed: str, *, blocked: Iterable[str] = ()
) -> list[JsonObject]:
    """The networks a group belongs to, by name.

    Args:
        cursor: A read cursor.
        feed: The group's feed id.
        blocked: Feeds to leave out.

    Returns:
        The networks, each as the listing shows it; empty for a blocked feed.
    """
    skip = frozenset(blocked)
    if feed in skip:
        return []
    cursor.execute(sql.NETWORKS_OF, {"feed": feed, "blocked": _blocked(skip)})
    return [_network(cursor, row, None) for row in cursor.fetchall()]


def _network(cursor: Cursor, row: sqlite3.Row, near: Near | None) -> JsonObject:
    convenor = row["feed"]
    cursor.execute(sql.GROUP_NAME, (convenor,))
    group = cursor.fetchone()
    has_place = row["place_name"] is not None
    answer: JsonObject = {
        "id": row["id"],
        "feed": convenor,
        "convenor": {"feed": convenor, "name": group["name"] if group else None},
        "name": row["name"],
        "kind": row["kind"],
        "description": row["description"],
        "area": row["area"],
        "place": {
            "name": row["place_name"],
            "lat_e6": row["lat_e6"],
            "lon_e6": row["lon_e6"],
        }
        if has_place
        else None,
        "tags": orjson.loads(row["tags"]),
        "url": row["url"],
        "members": row["members"],
        "formed_at": row["ts"],
    }
    if near is not None:
        # Answers are JSON, not event bodies: a float is fine here.
        distance = round(near.distance_to(row["lat_e6"], row["lon_e6"]), 1)
        answer["distance_km"] = cast(JsonValue, distance)
    return answer


def _blocked(blocked: Iterable[str]) -> str:
    return orjson.dumps(sorted(blocked)).decode()


def _encode_cursor(row: sqlite3.Row) -> str:
    return encode_cursor(row["sort_name"], row["id"])


def _decode_cursor(text: str) -> tuple[str, str]:
    return decode_text_cursor(text, "a networks cursor")
