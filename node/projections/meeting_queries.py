"""Queries of the meetings read model: listings, one meeting, calendar data.

Every function takes a read cursor first (run through
:meth:`~node.projections.readmodels.ReadModels.query`) and the set of blocked
feeds, whose meetings, counts and agenda items are left out. Listings are of
occurrences: the candidate meetings come from SQL, their occurrences are
expanded lazily and merged in start order, and no query expands more than
:data:`MAX_EXPANDED` occurrences, so an endless daily meeting costs no more
than the page it fills.
"""

from __future__ import annotations

import heapq
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import cast

import orjson
from eventsourcing.sqlite import SQLiteCursor

from node.projections import meetings_sql as sql
from node.projections.meetings import MeetingFilters
from node.projections.model import InvalidCursorError, clamp
from node.projections.occurrences import (
    Change,
    Key,
    Meeting,
    Occurrence,
    latest_changes,
    occurrences_of,
)
from protocol import JsonObject, JsonValue, ProtocolError, base64url

__all__ = [
    "MAX_CANDIDATES",
    "MAX_EXPANDED",
    "MAX_PAGE",
    "Selection",
    "belongs_to_tour",
    "candidates",
    "changes_of",
    "decode_cursor",
    "distance_from",
    "encode_cursor",
    "group_names",
    "list_occurrences",
    "occurrence_json",
    "rows_of",
    "tour_row",
]

#: The largest page of a listing.
MAX_PAGE = 200
#: The most meetings one listing or calendar considers.
MAX_CANDIDATES = 2000
#: The most occurrences one query expands.
MAX_EXPANDED = 5000


class _Exhausted(Exception):
    """The query expanded as many occurrences as it may."""


@dataclass(frozen=True, slots=True)
class Selection:
    """The meetings a listing or calendar covers, with their changes.

    Attributes:
        meetings: The meetings, by start.
        changes: Each meeting's occurrence changes, by meeting id.
    """

    meetings: list[Meeting]
    changes: dict[str, dict[int, Change]]


def candidates(
    cursor: SQLiteCursor, filters: MeetingFilters, blocked: frozenset[str]
) -> Selection:
    """The meetings that may have an occurrence matching the filters.

    Args:
        cursor: A read cursor.
        filters: What is asked for.
        blocked: Feeds left out.

    Returns:
        The meetings and their changes (at most :data:`MAX_CANDIDATES`).
    """
    cursor.execute(
        sql.CANDIDATES,
        {
            "start": filters.start,
            "end": filters.end,
            "kind": filters.kind,
            "network": filters.network,
            "tour": filters.tour,
            "campaign": filters.campaign,
            "limit": MAX_CANDIDATES,
        },
    )
    words = filters.q.casefold().split()[:16] if filters.q else []
    found = [
        (Meeting.from_row(row), row)
        for row in cursor.fetchall()
        if row["feed"] not in blocked and all(w in row["match_text"] for w in words)
    ]
    tour = tour_row(cursor, filters.tour) if filters.tour else None
    meetings = [
        meeting
        for meeting, row in found
        if _has_feed(row, filters.feeds)
        and _has_tag(row, filters.tag)
        and (tour is None or belongs_to_tour(meeting, tour))
    ]
    changes = changes_of(cursor, meetings)
    if filters.near is not None:
        meetings = [m for m in meetings if _may_be_near(m, changes[m.id], filters)]
    return Selection(meetings, changes)


def _has_feed(row: sqlite3.Row, feeds: tuple[str, ...] | None) -> bool:
    if feeds is None:
        return True
    return row["feed"] in feeds or any(c in feeds for c in orjson.loads(row["cohosts"]))


def _has_tag(row: sqlite3.Row, tag: str | None) -> bool:
    return tag is None or tag in orjson.loads(row["tags"])


def _may_be_near(
    meeting: Meeting, changes: dict[int, Change], f: MeetingFilters
) -> bool:
    places = [meeting.place] + [c.field("place") for c in changes.values()]
    return any(distance_from(place, f) is not None for place in places)


def distance_from(place: JsonValue, filters: MeetingFilters) -> float | None:
    """Kilometres from the filter's point, None when out of range or unknown."""
    near = filters.near
    if near is None or not isinstance(place, dict):
        return None
    lat, lon = place.get("lat_e6"), place.get("lon_e6")
    if type(lat) is not int or type(lon) is not int:
        return None
    distance = near.distance_to(lat, lon)
    return distance if distance <= near.km else None


def tour_row(cursor: SQLiteCursor, tour: str) -> sqlite3.Row | None:
    cursor.execute(sql.GET_TOUR, (tour,))
    row: sqlite3.Row | None = cursor.fetchone()
    return row


def belongs_to_tour(meeting: Meeting, tour: sqlite3.Row) -> bool:
    """Whether a meeting naming a tour is one of its stops.

    When the tour names its hosts, only their stops and the announcing
    feed's belong (``tour.announced``); otherwise any group's do.
    """
    hosts = orjson.loads(tour["body"]).get("hosts")
    if not isinstance(hosts, list):
        return True
    return meeting.feed == tour["feed"] or meeting.feed in hosts


def changes_of(
    cursor: SQLiteCursor, meetings: list[Meeting]
) -> dict[str, dict[int, Change]]:
    """The occurrence changes of each meeting, by meeting id."""
    rows = rows_of(cursor, "meeting_changes", [m.id for m in meetings])
    return {m.id: latest_changes(m, rows.get(m.id, [])) for m in meetings}


def rows_of(
    cursor: SQLiteCursor, table: str, meeting_ids: list[str]
) -> dict[str, list[sqlite3.Row]]:
    """The rows of a referring table for some meetings, in seq order, by meeting."""
    found: dict[str, list[sqlite3.Row]] = {}
    cursor.execute(sql.IN_MEETINGS[table], (orjson.dumps(meeting_ids).decode(),))
    for row in cursor.fetchall():
        found.setdefault(row["meeting"], []).append(row)
    return found


def group_names(cursor: SQLiteCursor, feeds: Iterable[str]) -> dict[str, str]:
    """The names of groups held, by feed."""
    cursor.execute(sql.GROUP_NAMES, (orjson.dumps(sorted(set(feeds))).decode(),))
    return {row["feed"]: row["name"] for row in cursor.fetchall()}


def list_occurrences(
    selection: Selection,
    filters: MeetingFilters,
    limit: int,
    after: Key | None,
) -> tuple[list[Occurrence], bool]:
    """The first occurrences after a key, in start order.

    Args:
        selection: The candidate meetings (:func:`candidates`).
        filters: What is asked for (the window and the near filter are used).
        limit: The page size, brought into 1..:data:`MAX_PAGE`.
        after: The last key of the previous page, or None to start.

    Returns:
        The occurrences, and whether more follow.
    """
    size = clamp(limit, MAX_PAGE)
    budget = [MAX_EXPANDED]
    since = after[0] if after else 0
    streams = [
        _counted(
            occurrences_of(
                m, selection.changes[m.id], filters.start, filters.end, since
            ),
            budget,
        )
        for m in selection.meetings
    ]
    merged = heapq.merge(*streams, key=lambda o: o.key)
    page: list[Occurrence] = []
    try:
        for occurrence in merged:
            if after is not None and occurrence.key <= after:
                continue
            if filters.near and distance_from(occurrence.place, filters) is None:
                continue
            page.append(occurrence)
            if len(page) > size:
                return page[:size], True
    except _Exhausted:
        return page[:size], len(page) > 0
    return page, False


def _counted(stream: Iterator[Occurrence], budget: list[int]) -> Iterator[Occurrence]:
    for occurrence in stream:
        budget[0] -= 1
        if budget[0] < 0:
            raise _Exhausted
        yield occurrence


def occurrence_json(
    occurrence: Occurrence,
    names: dict[str, str],
    counts: dict[int, JsonObject],
    filters: MeetingFilters | None,
) -> JsonObject:
    """One occurrence of a listing (``GET /api/v1/meetings``)."""
    meeting = occurrence.meeting
    body = meeting.body
    total = counts.get(occurrence.original)
    answer: JsonObject = {
        "id": meeting.id,
        "feed": meeting.feed,
        "host": {"feed": meeting.feed, "name": names.get(meeting.feed)},
        "title": body.get("title"),
        "kind": body.get("kind"),
        "starts_at": occurrence.starts_at,
        "ends_at": occurrence.ends_at,
        "occurrence_starts_at": occurrence.original,
        "tz": meeting.tz,
        "place": occurrence.place,
        "online_url": occurrence.online_url,
        "is_recurring": meeting.rule is not None,
        "is_moved": occurrence.change is not None,
        "capacity": body.get("capacity"),
        "counts": {k: total[k] for k in ("yes", "maybe", "no", "attended")}
        if total
        else {"yes": 0, "maybe": 0, "no": 0, "attended": 0},
        "network": body.get("network"),
        "tour": body.get("tour"),
        "campaign": body.get("campaign"),
        "tags": body.get("tags") or [],
    }
    if filters is not None and filters.near is not None:
        distance = distance_from(occurrence.place, filters)
        # The one float of an answer: answers are not events (DESIGN §3).
        rounded = None if distance is None else round(distance, 1)
        answer["distance_km"] = cast(JsonValue, rounded)
    return answer


def encode_cursor(key: Key) -> str:
    """The opaque ``next`` cursor after an occurrence."""
    return base64url.encode(orjson.dumps(list(key)))


def decode_cursor(text: str) -> Key:
    """Read a cursor :func:`encode_cursor` made.

    Raises:
        InvalidCursorError: It is not one.
    """
    try:
        value = orjson.loads(base64url.decode(text, field="after"))
    except (ProtocolError, orjson.JSONDecodeError):
        raise InvalidCursorError("after is not a meetings cursor") from None
    if not (
        isinstance(value, list)
        and len(value) == 3
        and type(value[0]) is int
        and isinstance(value[1], str)
        and len(value[1]) <= 60
        and type(value[2]) is int
        and 0 <= value[0] < 2**53
        and 0 <= value[2] < 2**53
    ):
        raise InvalidCursorError("after is not a meetings cursor")
    return value[0], value[1], value[2]
