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

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import orjson

from node.projections import meetings_sql as sql
from node.projections.fields import text as _text
from node.projections.geo import Near
from node.projections.model import Projected
from node.projections.recurrence import Recurrence, last_start
from node.storage.feeds import redaction_target
from node.storage.sqldb import Cursor
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


def create(cursor: Cursor) -> None:
    """Create the meetings tables."""
    for statement in sql.CREATE:
        cursor.execute(statement)


def reset(cursor: Cursor) -> None:
    """Drop the meetings tables and create them empty."""
    for statement in sql.DROP:
        cursor.execute(statement)
    create(cursor)


def finish(cursor: Cursor, items: Sequence[Projected]) -> None:
    """Nothing to tidy per batch."""


def apply(cursor: Cursor, item: Projected) -> None:
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


def _redact(cursor: Cursor, target: str, feed: str) -> None:
    for statement in sql.REDACT_REFERRING:
        cursor.execute(statement, (target, feed))
    cursor.execute(sql.REDACT_VERSION, (target, feed))
    for row in cursor.fetchall():
        _refresh(cursor, row["meeting"])


def _scheduled(cursor: Cursor, event: Event, body: JsonObject) -> None:
    """Keep the first version and write the meeting's row from it.

    Its own feed's updates come after it in the log (see
    :data:`~.meetings_sql.UPDATE_MEETING`), so none is held yet: the row is
    this version, revision 0.
    """
    text = _version(cursor, event, event.id, body)
    row = _row(body, text, event.feed, event.seq, event.ts)
    row.update(id=event.id, created_ts=event.ts, revision=0)
    cursor.execute(sql.UPSERT_MEETING, row)


def _updated(cursor: Cursor, event: Event, body: JsonObject) -> None:
    """Keep the version; when it is by the meeting's own feed, it is the row."""
    meeting = _text(body, "meeting")
    if meeting is not None:
        fields = {k: v for k, v in body.items() if k != "meeting"}
        text = _version(cursor, event, meeting, fields)
        row = _row(fields, text, event.feed, event.seq, event.ts)
        row["id"] = meeting
        cursor.execute(sql.UPDATE_MEETING, row)


def _version(cursor: Cursor, event: Event, meeting: str, fields: JsonObject) -> str:
    """Keep a version of a meeting; return its fields as stored."""
    text = _dumps(fields)
    cursor.execute(
        sql.INSERT_VERSION, (event.id, meeting, event.feed, event.seq, event.ts, text)
    )
    return text


def _refresh(cursor: Cursor, meeting: str) -> None:
    """Rebuild a meeting's row from its versions by its own feed."""
    cursor.execute(sql.SELECT_VERSIONS, (meeting,))
    versions = cursor.fetchall()
    first = next((v for v in versions if v["event_id"] == meeting), None)
    if first is None:
        cursor.execute(sql.DELETE_MEETING, (meeting,))
        return
    own = [v for v in versions if v["feed"] == first["feed"]]
    latest = own[-1]
    row = _row(
        orjson.loads(latest["body"]),
        latest["body"],
        latest["feed"],
        latest["seq"],
        latest["ts"],
    )
    row.update(id=meeting, created_ts=first["ts"], revision=len(own) - 1)
    cursor.execute(sql.UPSERT_MEETING, row)


def _row(
    body: JsonObject, text: str, feed: str, seq: int, ts: int
) -> dict[str, object]:
    """The ``meetings`` columns a version gives (its fields, also as JSON text)."""
    place = _place(body)
    starts_at, ends_at = _integer(body, "starts_at"), _integer(body, "ends_at")
    rule = Recurrence.from_json(body.get("recurrence"))
    last = last_start(starts_at, _text(body, "tz") or "UTC", rule)
    words = (_text(body, "title"), _text(body, "description"), _text(place, "name"))
    return {
        "feed": feed,
        "seq": seq,
        "ts": ts,
        "body": text,
        "kind": _text(body, "kind") or "other",
        "starts_at": starts_at,
        "last_ends_at": None if last is None else last + max(ends_at - starts_at, 0),
        "tour": _text(body, "tour"),
        "network": _text(body, "network"),
        "campaign": _text(body, "campaign"),
        "lat_e6": _coordinate(place, "lat_e6"),
        "lon_e6": _coordinate(place, "lon_e6"),
        "tags": _dumps(body.get("tags") or []),
        "cohosts": _dumps(body.get("cohosts") or []),
        "match_text": "\n".join(w for w in words if w).casefold(),
    }


def _cancelled(cursor: Cursor, event: Event, body: JsonObject) -> None:
    cursor.execute(
        sql.INSERT_CANCELLATION,
        (event.id, body["meeting"], event.feed, event.seq, _text(body, "reason")),
    )


def _changed(cursor: Cursor, event: Event, body: JsonObject) -> None:
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
            _coordinate(_place(body), "lat_e6"),
            _coordinate(_place(body), "lon_e6"),
        ),
    )


def _agenda(cursor: Cursor, event: Event, body: JsonObject) -> None:
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


def _counted(cursor: Cursor, event: Event, body: JsonObject) -> None:
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


def _minutes(cursor: Cursor, event: Event, body: JsonObject) -> None:
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


_HANDLERS: dict[str, Callable[[Cursor, Event, JsonObject], None]] = {
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


def _place(body: JsonObject) -> JsonObject:
    place = body.get("place")
    return place if isinstance(place, dict) else {}


def _coordinate(place: JsonObject, key: str) -> int | None:
    field = place.get(key)
    return field if type(field) is int else None
