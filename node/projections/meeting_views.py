"""The answers of the meetings read model: a listing, one meeting, a calendar.

These are the query functions the meetings service runs through
:meth:`~node.projections.readmodels.ReadModels.query`; each takes a read
cursor first and the set of blocked feeds, and answers JSON-ready values (or
the meetings a calendar is made of). Who may refer to a meeting is decided
here (see :mod:`.meetings`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from itertools import islice

import orjson

from node.projections import meetings_sql as sql
from node.projections.meeting_listing import list_occurrences
from node.projections.meeting_queries import (
    MAX_EXPANDED,
    belongs_to_tour,
    candidates,
    changes_of,
    decode_cursor,
    distance_from,
    encode_cursor,
    group_names,
    occurrence_json,
    rows_of,
    tour_row,
)
from node.projections.meetings import MeetingFilters
from node.projections.occurrences import Change, Meeting, occurrences_of, tally
from node.projections.recurrence import MAX_TIME
from node.storage.sqldb import Cursor
from protocol import JsonObject, JsonValue

__all__ = ["CalendarMeetings", "calendar_meetings", "get_meeting", "list_meetings"]

#: The fields of a meeting, as ``meeting.scheduled`` (and ``updated``) has them.
FIELDS = (
    "title",
    "kind",
    "starts_at",
    "ends_at",
    "tz",
    "place",
    "online_url",
    "description",
    "recurrence",
    "capacity",
    "accessibility",
    "programme",
    "network",
    "campaign",
    "decision",
    "tags",
    "note",
)
#: How many coming occurrences a meeting's answer shows.
NEXT_OCCURRENCES = 10


@dataclass(frozen=True, slots=True)
class CalendarMeetings:
    """The meetings of a calendar.

    Attributes:
        meetings: The meetings, by start.
        changes: Each meeting's occurrence changes, by meeting id.
        names: Group names by feed.
    """

    meetings: list[Meeting]
    changes: dict[str, dict[int, Change]]
    names: dict[str, str]


def list_meetings(
    cursor: Cursor,
    filters: MeetingFilters,
    limit: int,
    after: str | None,
    blocked: frozenset[str],
) -> JsonObject:
    """Occurrences in the filters' window, in start order, a page at a time.

    Args:
        cursor: A read cursor.
        filters: What is asked for.
        limit: The page size, brought into 1..200.
        after: The previous page's ``next``, or None to start.
        blocked: Feeds left out.

    Returns:
        ``{"meetings": [occurrence, …], "next": cursor or None}``.

    Raises:
        InvalidCursorError: ``after`` is not a cursor this node handed out.
    """
    key = decode_cursor(after) if after else None
    page, more = list_occurrences(cursor, filters, blocked, limit, key)
    by_id = {o.meeting.id: o.meeting for o in page}
    counts = rows_of(cursor, "meeting_counts", sorted(by_id))
    tallies = {i: tally(m, counts.get(i, []), blocked) for i, m in by_id.items()}
    names = group_names(cursor, (m.feed for m in by_id.values()))
    items: list[JsonValue] = [
        occurrence_json(o, names, tallies[o.meeting.id], filters) for o in page
    ]
    return {"meetings": items, "next": encode_cursor(page[-1].key) if more else None}


def calendar_meetings(
    cursor: Cursor, filters: MeetingFilters, blocked: frozenset[str]
) -> CalendarMeetings:
    """The meetings with an occurrence matching the filters, for a calendar.

    Args:
        cursor: A read cursor.
        filters: What is asked for.
        blocked: Feeds left out.

    Returns:
        The meetings, their changes and their hosts' names.
    """
    selection = candidates(cursor, filters, blocked)
    budget = MAX_EXPANDED
    chosen: list[Meeting] = []
    for meeting in selection.meetings:
        changes = selection.changes[meeting.id]
        walk = occurrences_of(meeting, changes, filters.start, filters.end)
        for occurrence in islice(walk, max(budget, 0)):
            budget -= 1
            if (
                filters.near is None
                or distance_from(occurrence.place, filters) is not None
            ):
                chosen.append(meeting)
                break
    names = group_names(cursor, (m.feed for m in chosen))
    return CalendarMeetings(chosen, selection.changes, names)


def get_meeting(
    cursor: Cursor, meeting_id: str, blocked: frozenset[str], now: int
) -> JsonObject | None:
    """One meeting as it now is, with everything that refers to it.

    Args:
        cursor: A read cursor.
        meeting_id: The meeting's id.
        blocked: Feeds left out.
        now: The time, for the coming occurrences.

    Returns:
        The meeting; None when it is not held, redacted or its feed blocked.
    """
    cursor.execute(sql.GET_MEETING, (meeting_id,))
    row = cursor.fetchone()
    if row is None or row["feed"] in blocked:
        return None
    meeting = Meeting.from_row(row)
    cursor.execute(sql.GET_CANCELLATION, (meeting.id, meeting.feed))
    cancellation = cursor.fetchone()
    answer = _answer(meeting, group_names(cursor, [meeting.feed, *meeting.cohosts]))
    answer["status"] = "scheduled" if cancellation is None else "cancelled"
    answer["cancel_reason"] = None if cancellation is None else cancellation["reason"]
    changes = changes_of(cursor, [meeting])[meeting.id]
    answer["exceptions"] = [_exception(meeting, c) for c in changes.values()]
    answer["next_occurrences"] = (
        [] if cancellation is not None else _coming(meeting, changes, now)
    )
    rows = {
        table: rows_of(cursor, table, [meeting.id]).get(meeting.id, [])
        for table in ("meeting_agenda", "meeting_counts", "meeting_minutes")
    }
    answer["agenda"] = _agenda(meeting, rows["meeting_agenda"], blocked)
    counts = tally(meeting, rows["meeting_counts"], blocked)
    answer["counts"] = [
        {"occurrence_starts_at": start, **total}
        for start, total in sorted(counts.items())
    ]
    answer["minutes"] = _minutes(meeting, rows["meeting_minutes"])
    answer["tour"] = _tour(cursor, meeting, blocked)
    return answer


def _answer(meeting: Meeting, names: dict[str, str]) -> JsonObject:
    """The meeting's own fields, ``null`` where its version leaves them out."""
    answer: JsonObject = {field: meeting.body.get(field) for field in FIELDS}
    answer.update(
        {
            "id": meeting.id,
            "feed": meeting.feed,
            "host": {"feed": meeting.feed, "name": names.get(meeting.feed)},
            "cohosts": [{"feed": f, "name": names.get(f)} for f in meeting.cohosts],
            "programme": meeting.body.get("programme") or [],
            "tags": meeting.body.get("tags") or [],
            "is_recurring": meeting.rule is not None,
            "created_at": meeting.created_ts,
            "updated_at": meeting.ts,
            "revision": meeting.revision,
        }
    )
    return answer


def _exception(meeting: Meeting, change: Change) -> JsonValue:
    is_moved = change.change == "moved"
    starts_at = change.field("starts_at")
    if is_moved and starts_at is None:
        starts_at = change.occurrence
    ends_at = change.field("ends_at")
    if is_moved and ends_at is None:
        ends_at = change.occurrence + meeting.duration
    return {
        "occurrence_starts_at": change.occurrence,
        "change": change.change,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "place": change.field("place"),
        "online_url": change.field("online_url"),
        "note": change.field("note"),
    }


def _coming(meeting: Meeting, changes: dict[int, Change], now: int) -> list[JsonValue]:
    walk = occurrences_of(meeting, changes, now, MAX_TIME)
    return [
        {
            "occurrence_starts_at": o.original,
            "starts_at": o.starts_at,
            "ends_at": o.ends_at,
            "is_moved": o.change is not None,
            "place": o.place,
            "online_url": o.online_url,
        }
        for o in islice(walk, NEXT_OCCURRENCES)
    ]


def _agenda(
    meeting: Meeting, rows: list[sqlite3.Row], blocked: frozenset[str]
) -> list[JsonValue]:
    """Agenda items from the host, a cohost, or anyone for an open meeting."""
    is_open = (
        meeting.body.get("network") is not None
        or meeting.body.get("kind") == "conference"
    )
    allowed = {meeting.feed, *meeting.cohosts}
    items = [
        row
        for row in rows
        if row["feed"] not in blocked and (is_open or row["feed"] in allowed)
    ]
    items.sort(key=lambda row: (row["ts"], row["event_id"]))
    return [
        {
            "id": row["event_id"],
            "feed": row["feed"],
            "title": row["title"],
            "text": row["text"],
            "duration_minutes": row["duration_minutes"],
            "occurrence_starts_at": row["occurrence"],
        }
        for row in items
    ]


def _minutes(meeting: Meeting, rows: list[sqlite3.Row]) -> list[JsonValue]:
    """The host's minutes, the latest for each occurrence."""
    latest: dict[int, sqlite3.Row] = {}
    for row in rows:
        if row["feed"] == meeting.feed:
            occurrence = row["occurrence"]
            latest[meeting.starts_at if occurrence is None else occurrence] = row
    return [
        {"occurrence_starts_at": start, "text": row["text"], "id": row["event_id"]}
        for start, row in sorted(latest.items())
    ]


def _tour(cursor: Cursor, meeting: Meeting, blocked: frozenset[str]) -> JsonValue:
    tour_id = meeting.text("tour")
    if tour_id is None:
        return None
    tour = tour_row(cursor, tour_id)
    if tour is None or tour["feed"] in blocked:
        return {"id": tour_id, "title": None}
    if not belongs_to_tour(meeting, tour):
        return None
    return {"id": tour_id, "title": _tour_title(tour)}


def _tour_title(tour: sqlite3.Row) -> str | None:
    title = orjson.loads(tour["body"]).get("title")
    return title if isinstance(title, str) else None
