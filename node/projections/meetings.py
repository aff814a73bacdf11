"""The meetings read model: meetings as they now are, and what refers to them.

``meeting.scheduled`` makes a meeting (its event id is the meeting's id);
``meeting.updated`` from the same feed replaces the whole meeting, the latest
by seq winning. Every other meeting event (a cancellation, a change of one
occurrence, an agenda item, an attendance count, minutes) is kept under the
meeting id it names, whether or not that meeting is held yet, and who may say
what is decided when the model is read (:mod:`.meeting_queries`): updates,
cancellations, occurrence changes and minutes count only from the meeting's
own feed; agenda items from its host, a cohost, or anyone for a network
meeting or a conference; counts from any group. So the answers are the same
whichever order sync delivers the events in (DESIGN §5).

A redaction deletes the row its target made; redacting a version rebuilds the
meeting from the versions left, redacting the scheduling removes the meeting.
The SQL lives in :mod:`.meetings_sql`; tours in :mod:`.tours`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import orjson
from eventsourcing.sqlite import SQLiteCursor

from node.projections import meetings_sql as sql
from node.projections.fields import text as _text
from node.projections.geo import Near
from node.projections.model import Projected
from node.projections.recurrence import Recurrence, last_start
from node.storage.feeds import redaction_target
from protocol import Event, JsonObject, JsonValue

__all__ = [
    "KINDS",
    "MeetingFilters",
    "apply",
    "create",
    "finish",
    "reset",
]

#: The kinds of meeting (the schema's enum).
KINDS = frozenset(
    {
        "reading_group",
        "campaign_planning",
        "advice_surgery",
        "conference",
        "public_meeting",
        "social",
        "training",
        "tour_stop",
        "other",
    }
)
SCHEDULED = "meeting.scheduled"
UPDATED = "meeting.updated"


@dataclass(frozen=True, slots=True)
class MeetingFilters:
    """What a listing of meetings asks for.

    Attributes:
        start: Occurrences ending after this (UTC milliseconds).
        end: Occurrences starting before this.
        kind: Only meetings of this kind.
        q: Words that must all appear in the title, description or place.
        feeds: Only meetings hosted or co-hosted by one of these feeds.
        network: Only meetings of this network (a ``network.formed`` id).
        tour: Only stops of this tour (a ``tour.announced`` id).
        campaign: Only meetings serving this campaign.
        tag: Only meetings with this tag.
        near: Only occurrences held within this radius of a point.
    """

    start: int
    end: int
    kind: str | None = None
    q: str | None = None
    feeds: tuple[str, ...] | None = None
    network: str | None = None
    tour: str | None = None
    campaign: str | None = None
    tag: str | None = None
    near: Near | None = None


def create(cursor: SQLiteCursor) -> None:
    """Create the meetings tables."""
    for statement in sql.CREATE:
        cursor.execute(statement)


def reset(cursor: SQLiteCursor) -> None:
    """Drop the meetings tables and create them empty."""
    for statement in sql.DROP:
        cursor.execute(statement)
    create(cursor)


def finish(cursor: SQLiteCursor, items: Sequence[Projected]) -> None:
    """Nothing to tidy per batch."""


def apply(cursor: SQLiteCursor, item: Projected) -> None:
    """Project one meeting event; when it is a redaction, undo its target."""
    event = item.event
    target = redaction_target(event)
    if target is not None:
        _redact(cursor, target, event.feed)
    if not item.is_valid or event.body is None:
        return
    handler = _HANDLERS.get(event.type)
    if handler is not None:
        handler(cursor, event, event.body)


def _redact(cursor: SQLiteCursor, target: str, feed: str) -> None:
    for statement in sql.REDACT_REFERRING:
        cursor.execute(statement, (target, feed))
    cursor.execute(sql.REDACT_VERSION, (target, feed))
    for row in cursor.fetchall():
        _refresh(cursor, row["meeting"])


def _scheduled(cursor: SQLiteCursor, event: Event, body: JsonObject) -> None:
    _version(cursor, event, event.id, body)


def _updated(cursor: SQLiteCursor, event: Event, body: JsonObject) -> None:
    meeting = _text(body, "meeting")
    if meeting is not None:
        fields = {k: v for k, v in body.items() if k != "meeting"}
        _version(cursor, event, meeting, fields)


def _version(
    cursor: SQLiteCursor, event: Event, meeting: str, fields: JsonObject
) -> None:
    cursor.execute(
        sql.INSERT_VERSION,
        (event.id, meeting, event.feed, event.seq, event.ts, _dumps(fields)),
    )
    _refresh(cursor, meeting)


def _refresh(cursor: SQLiteCursor, meeting: str) -> None:
    """Rebuild a meeting's row from its versions by its own feed."""
    cursor.execute(sql.SELECT_VERSIONS, (meeting,))
    versions = cursor.fetchall()
    first = next((v for v in versions if v["event_id"] == meeting), None)
    if first is None:
        cursor.execute(sql.DELETE_MEETING, (meeting,))
        return
    own = [v for v in versions if v["feed"] == first["feed"]]
    row = _row(own[-1])
    row.update(id=meeting, created_ts=first["ts"], revision=len(own) - 1)
    cursor.execute(sql.UPSERT_MEETING, row)


def _row(latest: sqlite3.Row) -> dict[str, object]:
    """The ``meetings`` columns a version gives."""
    body: JsonObject = orjson.loads(latest["body"])
    place = body.get("place")
    place = place if isinstance(place, dict) else {}
    starts_at, ends_at = _integer(body, "starts_at"), _integer(body, "ends_at")
    rule = Recurrence.from_json(body.get("recurrence"))
    last = last_start(starts_at, _text(body, "tz") or "UTC", rule)
    words = (_text(body, "title"), _text(body, "description"), _text(place, "name"))
    return {
        "feed": latest["feed"],
        "seq": latest["seq"],
        "ts": latest["ts"],
        "body": latest["body"],
        "kind": _text(body, "kind") or "other",
        "starts_at": starts_at,
        "last_ends_at": None if last is None else last + max(ends_at - starts_at, 0),
        "tour": _text(body, "tour"),
        "network": _text(body, "network"),
        "campaign": _text(body, "campaign"),
        "lat_e6": place.get("lat_e6"),
        "lon_e6": place.get("lon_e6"),
        "tags": _dumps(body.get("tags") or []),
        "cohosts": _dumps(body.get("cohosts") or []),
        "match_text": "\n".join(w for w in words if w).casefold(),
    }


def _cancelled(cursor: SQLiteCursor, event: Event, body: JsonObject) -> None:
    cursor.execute(
        sql.INSERT_CANCELLATION,
        (event.id, body["meeting"], event.feed, event.seq, _text(body, "reason")),
    )


def _changed(cursor: SQLiteCursor, event: Event, body: JsonObject) -> None:
    starts_at = body.get("starts_at")
    ends_at = body.get("ends_at")
    cursor.execute(
        sql.INSERT_CHANGE,
        (
            event.id,
            body["meeting"],
            event.feed,
            event.seq,
            body["occurrence_starts_at"],
            body["change"],
            starts_at if type(starts_at) is int else None,
            ends_at if type(ends_at) is int else None,
            _dumps(body),
        ),
    )


def _agenda(cursor: SQLiteCursor, event: Event, body: JsonObject) -> None:
    cursor.execute(
        sql.INSERT_AGENDA,
        (
            event.id,
            body["meeting"],
            event.feed,
            event.seq,
            event.ts,
            body.get("occurrence_starts_at"),
            body["title"],
            _text(body, "text"),
            body.get("duration_minutes"),
        ),
    )


def _counted(cursor: SQLiteCursor, event: Event, body: JsonObject) -> None:
    cursor.execute(
        sql.INSERT_COUNT,
        (
            event.id,
            body["meeting"],
            event.feed,
            event.seq,
            body.get("occurrence_starts_at"),
            body["yes"],
            body["maybe"],
            body["no"],
            body.get("attended"),
        ),
    )


def _minutes(cursor: SQLiteCursor, event: Event, body: JsonObject) -> None:
    cursor.execute(
        sql.INSERT_MINUTES,
        (
            event.id,
            body["meeting"],
            event.feed,
            event.seq,
            body.get("occurrence_starts_at"),
            body["text"],
        ),
    )


_HANDLERS: dict[str, Callable[[SQLiteCursor, Event, JsonObject], None]] = {
    SCHEDULED: _scheduled,
    UPDATED: _updated,
    "meeting.cancelled": _cancelled,
    "meeting.occurrence_changed": _changed,
    "meeting.agenda_item_added": _agenda,
    "meeting.attendance_counted": _counted,
    "meeting.minutes_recorded": _minutes,
}


def _dumps(value: JsonValue) -> str:
    return orjson.dumps(value).decode()


def _integer(value: JsonObject, key: str) -> int:
    field = value.get(key)
    return field if type(field) is int else 0
