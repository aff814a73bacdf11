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

import sqlite3
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import cast

import orjson

from node.projections import meetings_sql as sql
from node.projections.meetings import MeetingFilters
from node.projections.model import InvalidCursorError
from node.projections.occurrences import (
    Change,
    Key,
    Meeting,
    Occurrence,
    latest_changes,
)
from node.storage.sqldb import Cursor
from protocol import JsonObject, JsonValue, ProtocolError, base64url

__all__ = [
    "MAX_CANDIDATES",
    "MAX_EXPANDED",
    "MAX_PAGE",
    "CandidateScan",
    "Selection",
    "belongs_to_tour",
    "candidates",
    "changes_of",
    "decode_cursor",
    "distance_from",
    "encode_cursor",
    "group_names",
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
#: The candidates a listing reads at first, and the most it reads at once
#: (each further read doubles, up to this).
FIRST_CHUNK = 32
MAX_CHUNK = 512
#: Before every meeting's (start, id).
_FIRST = (-(2**62), "")


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
    cursor: Cursor, filters: MeetingFilters, blocked: frozenset[str]
) -> Selection:
    """The meetings that may have an occurrence matching the filters.

    Args:
        cursor: A read cursor.
        filters: What is asked for.
        blocked: Feeds left out.

    Returns:
        The meetings, by start, and their changes (at most
        :data:`MAX_CANDIDATES`).
    """
    scan = CandidateScan(cursor, filters, blocked)
    shifted = scan.shifted()
    meetings, changes = list(shifted.meetings), dict(shifted.changes)
    for meeting, its_changes in scan.by_start({m.id for m in meetings}):
        meetings.append(meeting)
        changes[meeting.id] = its_changes
    meetings.sort(key=lambda m: (m.starts_at, m.id))
    return Selection(meetings, changes)


class CandidateScan:
    """The candidate meetings of a listing, read from SQL as they are needed.

    First :meth:`shifted`: the meetings a change may list out of start order,
    or near the point through a change. Then :meth:`by_start`: the others, by
    (start, id), a chunk at a time, so a page of the first occurrences reads
    few rows however many meetings are held. With a ``near`` filter, SQL keeps
    the meetings whose place lies in the box around the point; every
    candidate is checked here against the other filters and the radius. At
    most :data:`MAX_CANDIDATES` rows are read in all.
    """

    def __init__(
        self, cursor: Cursor, filters: MeetingFilters, blocked: frozenset[str]
    ) -> None:
        """Scan for a listing's filters, leaving out the blocked feeds."""
        self.cursor = cursor
        self.filters = filters
        self.blocked = blocked
        self.left = MAX_CANDIDATES
        self._words = filters.q.casefold().split()[:16] if filters.q else []
        self._tour = tour_row(cursor, filters.tour) if filters.tour else None
        self._params = _params(filters)

    def shifted(self) -> Selection:
        """The meetings with a change moving an occurrence into the window or
        placing one in the box."""
        return self._select(self._rows(sql.SHIFTED, _FIRST, self.left))

    def by_start(
        self, skip: Collection[str]
    ) -> Iterator[tuple[Meeting, dict[int, Change]]]:
        """The other candidates and their changes, by (start, id).

        Args:
            skip: Ids already given (by :meth:`shifted`).
        """
        after, chunk = _FIRST, FIRST_CHUNK
        while self.left > 0:
            size = min(chunk, self.left)
            rows = self._rows(sql.CANDIDATES, after, size)
            selection = self._select([row for row in rows if row["id"] not in skip])
            for meeting in selection.meetings:
                yield meeting, selection.changes[meeting.id]
            if len(rows) < size:
                return
            after = (rows[-1]["starts_at"], rows[-1]["id"])
            chunk = min(chunk * 2, MAX_CHUNK)

    def _rows(
        self, statement: str, after: tuple[int, str], limit: int
    ) -> list[sqlite3.Row]:
        self.cursor.execute(
            statement,
            {
                **self._params,
                "after_start": after[0],
                "after_id": after[1],
                "limit": limit,
            },
        )
        rows: list[sqlite3.Row] = self.cursor.fetchall()
        self.left -= len(rows)
        return rows

    def _select(self, rows: list[sqlite3.Row]) -> Selection:
        """The rows that pass the filters SQL leaves to Python, as meetings."""
        words, tour, filters = self._words, self._tour, self.filters
        found = [
            (Meeting.from_row(row), row)
            for row in rows
            if row["feed"] not in self.blocked
            and all(w in row["match_text"] for w in words)
        ]
        meetings = [
            meeting
            for meeting, row in found
            if _has_feed(row, filters.feeds)
            and _has_tag(row, filters.tag)
            and (tour is None or belongs_to_tour(meeting, tour))
        ]
        changes = changes_of(self.cursor, meetings) if meetings else {}
        if filters.near is not None:
            meetings = [m for m in meetings if _may_be_near(m, changes[m.id], filters)]
        return Selection(meetings, changes)


def _params(filters: MeetingFilters) -> dict[str, object]:
    """The statement parameters of the filters SQL applies."""
    box = filters.near.box() if filters.near is not None else None
    return {
        "start": filters.start,
        "end": filters.end,
        "kind": filters.kind,
        "network": filters.network,
        "tour": filters.tour,
        "campaign": filters.campaign,
        "near": box is not None,
        # Without a point, an empty box: no change is placed in it.
        "min_lat": box.min_lat_e6 if box else 1,
        "max_lat": box.max_lat_e6 if box else 0,
        "min_lon": box.min_lon_e6 if box else 1,
        "max_lon": box.max_lon_e6 if box else 0,
    }


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


def tour_row(cursor: Cursor, tour: str) -> sqlite3.Row | None:
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


def changes_of(cursor: Cursor, meetings: list[Meeting]) -> dict[str, dict[int, Change]]:
    """The occurrence changes of each meeting, by meeting id."""
    rows = rows_of(cursor, "meeting_changes", [m.id for m in meetings])
    return {m.id: latest_changes(m, rows.get(m.id, [])) for m in meetings}


def rows_of(
    cursor: Cursor, table: str, meeting_ids: list[str]
) -> dict[str, list[sqlite3.Row]]:
    """The rows of a referring table for some meetings, in seq order, by meeting."""
    found: dict[str, list[sqlite3.Row]] = {}
    cursor.execute(sql.IN_MEETINGS[table], (orjson.dumps(meeting_ids).decode(),))
    for row in cursor.fetchall():
        found.setdefault(row["meeting"], []).append(row)
    return found


def group_names(cursor: Cursor, feeds: Iterable[str]) -> dict[str, str]:
    """The names of groups held, by feed."""
    cursor.execute(sql.GROUP_NAMES, (orjson.dumps(sorted(set(feeds))).decode(),))
    return {row["feed"]: row["name"] for row in cursor.fetchall()}


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
