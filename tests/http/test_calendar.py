"""``/calendar.ics`` and ``/groups/{feed}/calendar.ics``, parsed back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from icalendar import Calendar

from protocol import JsonObject, SigningKey, sign
from tests.http.conftest import Served
from tests.http.test_meetings_api import (
    INSTITUTE,
    LONDON,
    NOW,
    Peer,
    _without_none,
    ms,
    publish,
    surgery,
)
from tests.protocol.helpers import KEY_B

LIBRARY: JsonObject = {
    "name": "Ebbw Vale Library",
    "lat_e6": 51_777_000,
    "lon_e6": -3_207_000,
}


async def fetch(node: Served, path: str = "/calendar.ics") -> Calendar:
    await node.projected()
    response = await node.client.get(path)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(await response.read())


def events(calendar: Calendar) -> list[Any]:
    return list(calendar.walk("VEVENT"))


async def test_a_weekly_surgery_with_a_week_cancelled_and_one_moved(
    node: Served,
) -> None:
    node.services.clock = lambda: NOW
    meeting = await publish(node, "meeting.scheduled", surgery(
        description="Bring letters.", tags=["advice"],
        online_url="https://meet.example.org/surgery"))  # fmt: skip
    await publish(node, "meeting.occurrence_changed", {
        "meeting": meeting, "occurrence_starts_at": ms(2026, 3, 10, 19),
        "change": "cancelled"})  # fmt: skip
    await publish(node, "meeting.occurrence_changed", {
        "meeting": meeting, "occurrence_starts_at": ms(2026, 4, 7, 19),
        "change": "moved", "starts_at": ms(2026, 4, 8, 18),
        "ends_at": ms(2026, 4, 8, 20), "place": LIBRARY,
        "note": "The institute is closed for Easter."})  # fmt: skip
    calendar = await fetch(node)
    assert str(calendar["PRODID"]) == "-//Tredegar//Tredegar node//EN"
    assert str(calendar["VERSION"]) == "2.0"
    zones = [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")]
    assert zones == ["Europe/London"]
    master, moved = events(calendar)
    assert str(master["UID"]) == f"{meeting}@tredegar" == str(moved["UID"])
    assert master["DTSTART"].params["TZID"] == "Europe/London"
    assert master.decoded("DTSTART") == datetime(2026, 3, 3, 19, tzinfo=LONDON)
    assert master.decoded("DTEND") == datetime(2026, 3, 3, 21, tzinfo=LONDON)
    assert master["RRULE"].to_ical() == b"FREQ=WEEKLY;BYDAY=TU"
    exdates = [d.dt for d in master["EXDATE"].dts]
    assert exdates == [datetime(2026, 3, 10, 19, tzinfo=LONDON)]
    assert str(master["SUMMARY"]) == "Benefits advice surgery"
    assert "Bring letters." in str(master["DESCRIPTION"])
    assert "Blaenavon Tenants" in str(master["DESCRIPTION"])
    assert str(master["LOCATION"]) == INSTITUTE["name"]
    assert (master["GEO"].latitude, master["GEO"].longitude) == (51.7722, -3.2466)
    assert str(master["URL"]) == "https://meet.example.org/surgery"
    assert str(master["STATUS"]) == "CONFIRMED"
    assert master.decoded("SEQUENCE") == 0
    assert master.decoded("DTSTAMP").tzinfo is not None
    # The moved occurrence: its original start names it, after the clock change.
    assert moved.decoded("RECURRENCE-ID") == datetime(2026, 4, 7, 19, tzinfo=LONDON)
    assert moved.decoded("DTSTART") == datetime(2026, 4, 8, 18, tzinfo=LONDON)
    assert str(moved["LOCATION"]) == "Ebbw Vale Library"
    assert "Easter" in str(moved["COMMENT"])
    # Served the same twice: nothing comes from the clock of the moment.
    again = await node.client.get("/calendar.ics")
    assert await again.read() == calendar.to_ical()


async def test_updates_cancellations_and_redactions(node: Served) -> None:
    node.services.clock = lambda: NOW
    meeting = await publish(node, "meeting.scheduled", surgery(
        recurrence={"freq": "monthly", "by_day": ["1TU"], "count": 6}))  # fmt: skip
    await publish(node, "meeting.updated", {**surgery(
        title="Monthly surgery", recurrence={"freq": "monthly", "by_day": ["1TU"],
        "until": ms(2026, 12, 31)}), "meeting": meeting})  # fmt: skip
    gone = await publish(node, "meeting.scheduled", _without_none(surgery(
        title="Cancelled social", kind="social", recurrence=None)))  # fmt: skip
    await publish(node, "meeting.cancelled", {"meeting": gone})
    redacted = await publish(node, "meeting.scheduled", _without_none(surgery(
        title="Quarrington planning", recurrence=None)))  # fmt: skip
    await publish(node, "event.redacted", {"id": redacted})
    (event,) = events(await fetch(node))
    assert str(event["SUMMARY"]) == "Monthly surgery"
    assert event.decoded("SEQUENCE") == 1
    assert event["RRULE"]["FREQ"] == ["MONTHLY"]
    assert event["RRULE"]["BYDAY"] == ["1TU"]
    assert event["RRULE"]["UNTIL"][0].astimezone(UTC) == datetime(
        2026, 12, 31, tzinfo=LONDON
    ).astimezone(UTC)
    text = await (await node.client.get("/calendar.ics")).text()
    assert "Quarrington" not in text
    assert "Cancelled social" not in text


async def test_group_calendars_filters_and_blocked_feeds(node: Served) -> None:
    node.services.clock = lambda: NOW
    own = node.services.key.feed
    other = Peer(node, KEY_B, "Ebbw Vale Tenants")
    theirs = other.publish("meeting.scheduled", _without_none(surgery(
        title="Ebbw Vale reading group", kind="reading_group", recurrence=None,
        starts_at=ms(2026, 3, 5, 19), ends_at=ms(2026, 3, 5, 21))))  # fmt: skip
    await publish(node, "meeting.scheduled", surgery())
    both = await fetch(node)
    assert len(events(both)) == 2
    ours = await fetch(node, f"/groups/{own}/calendar.ics")
    assert [str(e["SUMMARY"]) for e in events(ours)] == ["Benefits advice surgery"]
    b = await fetch(node, f"/groups/{KEY_B.feed}/calendar.ics")
    assert [str(e["UID"]) for e in events(b)] == [f"{theirs.id}@tredegar"]
    books = await fetch(node, "/calendar.ics?kind=reading_group")
    assert len(events(books)) == 1
    later = await fetch(node, f"/calendar.ics?from={ms(2026, 6, 1)}")
    assert [str(e["SUMMARY"]) for e in events(later)] == ["Benefits advice surgery"]
    node.services.store.federation.block(KEY_B.feed, "feed", now=NOW)
    assert len(events(await fetch(node))) == 1
    response = await node.client.get(f"/groups/{KEY_B.feed}/calendar.ics")
    assert response.status == 404
    empty = await fetch(node, "/calendar.ics?q=nothing+at+all")
    assert events(empty) == []
    assert str(empty["VERSION"]) == "2.0"


async def test_extreme_times_from_another_feed_never_break_an_answer(
    node: Served,
) -> None:
    node.services.clock = lambda: NOW
    edge = 2**53 - 1
    key = SigningKey.from_seed(bytes(range(96, 128)))
    profile = sign(key, None, edge, "group.profile_set", {"name": "Far future"})
    odd = sign(key, profile, edge, "meeting.scheduled", surgery(ends_at=edge))
    later = sign(key, odd, edge, "meeting.scheduled", surgery(starts_at=edge - 1,
                 ends_at=edge))  # fmt: skip
    moved = sign(key, later, edge, "meeting.occurrence_changed", {
        "meeting": odd.id, "occurrence_starts_at": ms(2026, 3, 10, 19),
        "change": "moved", "starts_at": edge - 1, "ends_at": edge})  # fmt: skip
    assert node.services.store.append([profile, odd, later, moved])
    calendar = await fetch(node)
    assert len(events(calendar)) == 2
    listed = await node.client.get("/api/v1/meetings?limit=3")
    assert listed.status == 200
    found = await node.client.get(f"/api/v1/meetings/{odd.id}")
    assert found.status == 200
    assert (await node.client.get(f"/api/v1/meetings/{later.id}")).status == 200
