"""iCalendar (RFC 5545) output of meetings, with the ``icalendar`` library.

One VEVENT per meeting, its UID ``<meeting id>@tredegar`` so a calendar app
updates it in place when it changes. Times are written in the meeting's own
time zone (DTSTART/DTEND with TZID, and a VTIMEZONE for each zone used), so a
weekly meeting's RRULE keeps its local time across clock changes in the app
as it does here. A cancelled occurrence is an EXDATE; a moved one is a
separate VEVENT with the same UID and a RECURRENCE-ID naming its original
start. DTSTAMP, LAST-MODIFIED and SEQUENCE come from the events themselves,
never from this node's clock, so every node serves the same calendar.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from typing import cast

from icalendar import Calendar, Event

from node.projections.meeting_views import CalendarMeetings
from node.projections.occurrences import Change, Meeting
from node.projections.recurrence import MAX_TIME, Recurrence, to_datetime, zone
from protocol import JsonObject, JsonValue

__all__ = ["PRODID", "calendar_bytes"]

PRODID = "-//Tredegar//Tredegar node//EN"
#: Years of time-zone rules written for a meeting that repeats without end.
_ENDLESS_YEARS = 5
_LAST_YEAR = 9000


def calendar_bytes(chosen: CalendarMeetings) -> bytes:
    """Write meetings as an iCalendar file.

    Args:
        chosen: The meetings, their occurrence changes and hosts' names.

    Returns:
        The ``.ics`` text, UTF-8 with CRLF line ends.
    """
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    years: list[int] = []
    for meeting in chosen.meetings:
        if meeting.starts_at >= MAX_TIME:
            continue
        changes = chosen.changes.get(meeting.id, {})
        for component in _components(meeting, changes, chosen.names):
            calendar.add_component(component)
        years.extend(_years(meeting))
    if years:
        calendar.add_missing_timezones(
            first_date=date(min(years), 1, 1),
            last_date=date(min(max(years) + 1, _LAST_YEAR), 1, 1),
        )
    return cast(bytes, calendar.to_ical())


def _years(meeting: Meeting) -> tuple[int, int]:
    first = to_datetime(meeting.starts_at, UTC).year
    rule = meeting.rule
    if rule is None:
        return first, first
    if rule.until is not None:
        return first, to_datetime(min(rule.until, MAX_TIME), UTC).year
    return first, min(first + _ENDLESS_YEARS, _LAST_YEAR)


def _components(
    meeting: Meeting, changes: dict[int, Change], names: dict[str, str]
) -> list[Event]:
    tz = zone(meeting.tz)
    rule = meeting.rule
    master = _event(meeting, names)
    start, end = meeting.starts_at, meeting.starts_at + meeting.duration
    if rule is None:
        change = changes.get(start)
        if change is not None and change.change == "cancelled":
            return []
        if change is not None:
            _move(master, meeting, change, tz)
        else:
            _times(master, start, end, tz)
            _where(master, meeting.place, meeting.text("online_url"))
        return [master]
    _times(master, start, end, tz)
    _where(master, meeting.place, meeting.text("online_url"))
    master.add("rrule", _rrule(rule))
    cancelled = [c.occurrence for c in changes.values() if c.change == "cancelled"]
    if cancelled:
        master.add("exdate", [to_datetime(ms, tz) for ms in cancelled])
    components = [master]
    for change in changes.values():
        if change.change == "moved":
            moved = _event(meeting, names)
            moved.add("recurrence-id", to_datetime(change.occurrence, tz))
            _move(moved, meeting, change, tz)
            components.append(moved)
    return components


def _event(meeting: Meeting, names: dict[str, str]) -> Event:
    event = Event()
    event.add("uid", f"{meeting.id}@tredegar")
    event.add("dtstamp", _utc(meeting.ts))
    event.add("created", _utc(meeting.created_ts))
    event.add("last-modified", _utc(meeting.ts))
    event.add("sequence", meeting.revision)
    event.add("summary", meeting.text("title") or "")
    description = _description(meeting, names)
    if description:
        event.add("description", description)
    event.add("status", "CONFIRMED")
    event.add("categories", [meeting.text("kind") or "other"])
    return event


def _description(meeting: Meeting, names: dict[str, str]) -> str:
    parts = [
        meeting.text("description"),
        meeting.text("accessibility"),
        f"Hosted by {names[meeting.feed]}." if meeting.feed in names else None,
    ]
    return "\n\n".join(part for part in parts if part)


def _utc(ms: int) -> datetime:
    # An author's clock can say anything (DESIGN §3: ts is advisory).
    return to_datetime(min(max(ms, 0), MAX_TIME), UTC)


def _times(event: Event, start: int, end: int, tz: tzinfo) -> None:
    start = min(start, MAX_TIME)
    event.add("dtstart", to_datetime(start, tz))
    event.add("dtend", to_datetime(min(max(end, start), MAX_TIME), tz))


def _where(event: Event, place: JsonValue, online_url: str | None) -> None:
    if isinstance(place, dict):
        name = place.get("name")
        if isinstance(name, str):
            event.add("location", name)
        lat, lon = place.get("lat_e6"), place.get("lon_e6")
        if type(lat) is int and type(lon) is int:
            event.add("geo", (lat / 1_000_000, lon / 1_000_000))
    if online_url:
        event.add("url", online_url)


def _move(event: Event, meeting: Meeting, change: Change, tz: tzinfo) -> None:
    """An occurrence at its new time and place (what is not moved stays)."""
    new_start, new_end = change.field("starts_at"), change.field("ends_at")
    if type(new_start) is int and type(new_end) is int:
        _times(event, new_start, new_end, tz)
    else:
        _times(event, change.occurrence, change.occurrence + meeting.duration, tz)
    place = change.field("place")
    online_url = change.field("online_url")
    _where(
        event,
        place if isinstance(place, dict) else meeting.place,
        online_url if isinstance(online_url, str) else meeting.text("online_url"),
    )
    note = change.field("note")
    if isinstance(note, str):
        event.add("comment", note)


def _rrule(rule: Recurrence) -> JsonObject:
    recur: JsonObject = {"freq": rule.freq.upper()}
    if rule.interval != 1:
        recur["interval"] = rule.interval
    if rule.count is not None:
        recur["count"] = rule.count
    if rule.by_day:
        # A week of the month ("1TU") means something only monthly (RFC 5545).
        days = rule.by_day if rule.freq == "monthly" else [d[-2:] for d in rule.by_day]
        recur["byday"] = list(dict.fromkeys(days))
    return recur if rule.until is None else {**recur, "until": _until(rule.until)}


def _until(ms: int) -> JsonValue:
    return cast(JsonValue, _utc(ms))
