"""The meetings and tours read models on a real feed store, several feeds."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest

from node.projections import InvalidCursorError
from node.projections.geo import Near
from node.projections.meeting_views import get_meeting, list_meetings
from node.projections.meetings import MeetingFilters
from node.projections.tours import get_tour, list_tours
from protocol import Event, JsonObject, JsonValue
from tests.node.conftest import KEY_C, Author, Node
from tests.protocol.helpers import KEY_A, KEY_B

LONDON = ZoneInfo("Europe/London")
NOBODY: frozenset[str] = frozenset()
Json = dict[str, Any]
INSTITUTE: JsonObject = {"name": "Miners' Institute, Tredegar", "lat_e6": 51_772_200,
             "lon_e6": -3_246_600}  # fmt: skip
LIBRARY: JsonObject = {
    "name": "Ebbw Vale Library",
    "lat_e6": 51_777_000,
    "lon_e6": -3_207_000,
}
CARDIFF: JsonObject = {"name": "Cardiff Central Library", "lat_e6": 51_478_000,
           "lon_e6": -3_175_000}  # fmt: skip


def ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    moment = datetime(year, month, day, hour, minute, tzinfo=LONDON)
    return int(moment.timestamp() * 1000)


WINDOW = MeetingFilters(start=ms(2026, 3, 1), end=ms(2026, 5, 1))


def surgery(**changes: JsonValue) -> JsonObject:
    """A weekly advice surgery on Tuesdays, 19:00 to 21:00 London time."""
    body: JsonObject = {
        "title": "Benefits advice surgery",
        "kind": "advice_surgery",
        "starts_at": ms(2026, 3, 3, 19),
        "ends_at": ms(2026, 3, 3, 21),
        "tz": "Europe/London",
        "place": dict(INSTITUTE),
        "description": "Bring letters from the council.",
        "recurrence": {"freq": "weekly", "by_day": ["TU"]},
        "capacity": 30,
        "tags": ["advice", "benefits"],
    }
    body.update(changes)
    return body


def single(title: str, start: int, **changes: JsonValue) -> JsonObject:
    body: JsonObject = {
        "title": title,
        "kind": "public_meeting",
        "starts_at": start,
        "ends_at": start + 2 * 3_600_000,
        "tz": "Europe/London",
        "place": dict(LIBRARY),
    }
    body.update(changes)
    return body


def listing(
    node: Node,
    filters: MeetingFilters = WINDOW,
    *,
    limit: int = 200,
    after: str | None = None,
    blocked: frozenset[str] = NOBODY,
) -> Json:
    node.drain()
    return node.readmodels.query(list_meetings, filters, limit, after, blocked)


def items(page: Json) -> list[Json]:
    return cast(list[Json], page["meetings"])


def detail(node: Node, meeting: Event, blocked: frozenset[str] = NOBODY) -> Json:
    node.drain()
    found = node.readmodels.query(get_meeting, meeting.id, blocked, ms(2026, 3, 1))
    assert found is not None
    return found


def starts(page: Json) -> list[int]:
    return [cast(int, item["starts_at"]) for item in items(page)]


def test_a_weekly_surgery_with_one_week_cancelled_and_one_moved(node: Node) -> None:
    a = node.author(KEY_A)
    a.profile(name="Tredegar Unemployed")
    meeting = a.publish("meeting.scheduled", surgery())
    a.publish("meeting.occurrence_changed", {
        "meeting": meeting.id, "occurrence_starts_at": ms(2026, 3, 17, 19),
        "change": "cancelled", "note": "St Patrick's day",
    })  # fmt: skip
    a.publish("meeting.occurrence_changed", {
        "meeting": meeting.id, "occurrence_starts_at": ms(2026, 3, 31, 19),
        "change": "moved", "starts_at": ms(2026, 4, 1, 18),
        "ends_at": ms(2026, 4, 1, 20), "place": dict(LIBRARY),
    })  # fmt: skip
    # A change naming a start the rule never gives is ignored.
    a.publish("meeting.occurrence_changed", {
        "meeting": meeting.id, "occurrence_starts_at": ms(2026, 3, 18, 19),
        "change": "cancelled",
    })  # fmt: skip
    page = listing(node, MeetingFilters(start=ms(2026, 3, 1), end=ms(2026, 4, 15)))
    assert starts(page) == [
        ms(2026, 3, 3, 19), ms(2026, 3, 10, 19), ms(2026, 3, 24, 19),
        ms(2026, 4, 1, 18), ms(2026, 4, 7, 19), ms(2026, 4, 14, 19),
    ]  # fmt: skip
    first, moved = items(page)[0], items(page)[3]
    assert first == {
        "id": meeting.id, "feed": KEY_A.feed,
        "host": {"feed": KEY_A.feed, "name": "Tredegar Unemployed"},
        "title": "Benefits advice surgery", "kind": "advice_surgery",
        "starts_at": ms(2026, 3, 3, 19), "ends_at": ms(2026, 3, 3, 21),
        "occurrence_starts_at": ms(2026, 3, 3, 19), "tz": "Europe/London",
        "place": INSTITUTE, "online_url": None, "is_recurring": True,
        "is_moved": False, "capacity": 30,
        "counts": {"yes": 0, "maybe": 0, "no": 0, "attended": 0},
        "network": None, "tour": None, "campaign": None,
        "tags": ["advice", "benefits"],
    }  # fmt: skip
    assert (moved["occurrence_starts_at"], moved["is_moved"], moved["place"]) == (
        ms(2026, 3, 31, 19), True, LIBRARY
    )  # fmt: skip
    # 19:00 local after the clock change (29 March) too.
    assert items(page)[4]["starts_at"] == ms(2026, 4, 7, 19)
    found = detail(node, meeting)
    assert [e["occurrence_starts_at"] for e in found["exceptions"]] == [
        ms(2026, 3, 17, 19), ms(2026, 3, 31, 19)
    ]  # fmt: skip
    coming = cast(list[JsonObject], found["next_occurrences"])
    assert [o["starts_at"] for o in coming[:4]] == starts(page)[:4]
    assert len(coming) == 10


def test_a_later_change_of_an_occurrence_replaces_an_earlier(node: Node) -> None:
    a = node.author(KEY_A)
    meeting = a.publish("meeting.scheduled", surgery())
    week = ms(2026, 3, 10, 19)
    a.publish(
        "meeting.occurrence_changed",
        {"meeting": meeting.id, "occurrence_starts_at": week, "change": "cancelled"},
    )
    second = a.publish("meeting.occurrence_changed", {
        "meeting": meeting.id, "occurrence_starts_at": week, "change": "moved",
        "online_url": "https://meet.example.org/surgery"})  # fmt: skip
    page = listing(node, MeetingFilters(start=ms(2026, 3, 9), end=ms(2026, 3, 11)))
    assert [(i["starts_at"], i["online_url"], i["is_moved"]) for i in items(page)] == [
        (week, "https://meet.example.org/surgery", True)
    ]
    a.redact(second)
    assert items(listing(node, MeetingFilters(ms(2026, 3, 9), ms(2026, 3, 11)))) == []


def test_update_replaces_and_other_feeds_cannot_update_or_cancel(node: Node) -> None:
    a, b = node.author(KEY_A), node.author(KEY_B)
    # B's update and cancellation arrive before the meeting itself.
    b.publish("meeting.updated", {"meeting": "sha256:" + "A" * 43, **surgery()})
    meeting = a.publish("meeting.scheduled", surgery())
    b.publish("meeting.updated", {**surgery(title="Hijacked"), "meeting": meeting.id})
    b.publish("meeting.cancelled", {"meeting": meeting.id, "reason": "Not yours"})
    a.publish("meeting.updated", {
        **surgery(title="Advice surgery (new hall)", place=dict(LIBRARY)),
        "meeting": meeting.id, "note": "New hall"})  # fmt: skip
    found = detail(node, meeting)
    assert (found["title"], found["place"], found["status"]) == (
        "Advice surgery (new hall)", LIBRARY, "scheduled"
    )  # fmt: skip
    assert (found["revision"], found["capacity"], found["note"]) == (1, 30, "New hall")
    assert {i["title"] for i in items(listing(node))} == {"Advice surgery (new hall)"}
    # A field left out of an update is cleared.
    a.publish("meeting.updated", {**surgery(), "meeting": meeting.id})
    a.publish("meeting.updated", {
        "meeting": meeting.id, **{k: v for k, v in surgery().items() if k != "capacity"}
    })  # fmt: skip
    assert detail(node, meeting)["capacity"] is None
    a.publish("meeting.cancelled", {"meeting": meeting.id, "reason": "Hall closed"})
    found = detail(node, meeting)
    assert (found["status"], found["cancel_reason"]) == ("cancelled", "Hall closed")
    assert found["next_occurrences"] == []
    assert items(listing(node)) == []


def test_agenda_items_come_from_allowed_feeds_only(node: Node) -> None:
    a, b, c = node.author(KEY_A), node.author(KEY_B), node.author(KEY_C)
    ref = {"meeting": "", "title": ""}
    planning = a.publish("meeting.scheduled", single(
        "Estate campaign planning", ms(2026, 3, 12, 19), kind="campaign_planning",
        cohosts=[KEY_B.feed]))  # fmt: skip
    conference = c.publish("meeting.scheduled", single(
        "Valleys conference", ms(2026, 4, 18, 10), kind="conference"))  # fmt: skip
    for author, title in ((a, "Host item"), (b, "Cohost item"), (c, "Outsider item")):
        author.publish("meeting.agenda_item_added",
                       {**ref, "meeting": planning.id, "title": title})  # fmt: skip
        author.publish("meeting.agenda_item_added", {
            **ref, "meeting": conference.id, "title": f"{title} at the conference",
            "duration_minutes": 15})  # fmt: skip
    agenda = cast(list[JsonObject], detail(node, planning)["agenda"])
    # In the order the groups wrote them (by their clocks), whatever the arrival.
    assert [(i["title"], i["feed"]) for i in agenda] == [
        ("Cohost item", KEY_B.feed), ("Host item", KEY_A.feed)
    ]  # fmt: skip
    agenda = cast(list[JsonObject], detail(node, conference)["agenda"])
    assert len(agenda) == 3
    assert set(agenda[0]) == {
        "id", "feed", "title", "text", "duration_minutes", "occurrence_starts_at"
    }  # fmt: skip
    blocked = frozenset({KEY_B.feed})
    assert len(cast(list[JsonValue], detail(node, conference, blocked)["agenda"])) == 2
    # Redacting an agenda item removes it.
    item = next(i for i in agenda if i["feed"] == KEY_A.feed)
    a.redact(next(e for e in _events(node, KEY_A.feed) if e.id == item["id"]))
    titles = [i["title"] for i in detail(node, conference)["agenda"]]
    assert "Host item at the conference" not in titles


def test_counts_from_three_feeds_are_summed_latest_per_feed(node: Node) -> None:
    a, b, c = node.author(KEY_A), node.author(KEY_B), node.author(KEY_C)
    # B counts for A's meeting before the meeting arrives here.
    meeting_id = _future_id(a, surgery())
    second = ms(2026, 3, 10, 19)
    b.publish("meeting.attendance_counted",
              {"meeting": meeting_id, "yes": 5, "maybe": 1, "no": 0})  # fmt: skip
    meeting = a.publish("meeting.scheduled", surgery())
    assert meeting.id == meeting_id
    a.publish("meeting.attendance_counted", {"meeting": meeting.id,
              "occurrence_starts_at": ms(2026, 3, 3, 19), "yes": 10, "maybe": 2,
              "no": 1, "attended": 9})  # fmt: skip
    c.publish(
        "meeting.attendance_counted",
        {
            "meeting": meeting.id,
            "occurrence_starts_at": second,
            "yes": 4,
            "maybe": 0,
            "no": 2,
        },
    )
    b.publish("meeting.attendance_counted",
              {"meeting": meeting.id, "yes": 7, "maybe": 0, "no": 1})  # fmt: skip
    c.publish(
        "meeting.attendance_counted",
        {
            "meeting": meeting.id,
            "occurrence_starts_at": second,
            "yes": 6,
            "maybe": 1,
            "no": 0,
        },
    )
    page = items(listing(node))
    assert page[0]["counts"] == {"yes": 17, "maybe": 2, "no": 2, "attended": 9}
    assert page[1]["counts"] == {"yes": 6, "maybe": 1, "no": 0, "attended": 0}
    assert page[0]["capacity"] == 30
    counts = cast(list[Json], detail(node, meeting)["counts"])
    assert [c["occurrence_starts_at"] for c in counts] == [ms(2026, 3, 3, 19), second]
    expected: list[Json] = [
        {"feed": KEY_A.feed, "yes": 10, "maybe": 2, "no": 1, "attended": 9},
        {"feed": KEY_B.feed, "yes": 7, "maybe": 0, "no": 1, "attended": None},
    ]
    assert counts[0]["by_group"] == sorted(expected, key=lambda g: str(g["feed"]))
    blocked = frozenset({KEY_B.feed})
    assert items(listing(node, blocked=blocked))[0]["counts"]["yes"] == 10


def test_minutes_are_the_hosts_latest_per_occurrence(node: Node) -> None:
    a, b = node.author(KEY_A), node.author(KEY_B)
    meeting = a.publish("meeting.scheduled", surgery())
    a.publish("meeting.minutes_recorded", {"meeting": meeting.id, "text": "Draft"})
    latest = a.publish(
        "meeting.minutes_recorded",
        {
            "meeting": meeting.id,
            "occurrence_starts_at": ms(2026, 3, 3, 19),
            "text": "Final",
        },
    )
    b.publish("meeting.minutes_recorded", {"meeting": meeting.id, "text": "Forged"})
    assert detail(node, meeting)["minutes"] == [
        {"occurrence_starts_at": ms(2026, 3, 3, 19), "text": "Final", "id": latest.id}
    ]
    a.redact(latest)
    minutes = cast(list[JsonObject], detail(node, meeting)["minutes"])
    assert [m["text"] for m in minutes] == ["Draft"]


@pytest.mark.parametrize("tour_first", [True, False])
def test_tour_stops_from_other_feeds_in_either_order(
    node: Node, tour_first: bool
) -> None:
    a, b, c = node.author(KEY_A), node.author(KEY_B), node.author(KEY_C)
    for author, name in ((a, "Tredegar"), (b, "Ebbw Vale"), (c, "Rhymney")):
        author.profile(name=name)
    tour_body: JsonObject = {
        "title": "Homes not demolition", "starts_at": ms(2026, 4, 1),
        "ends_at": ms(2026, 4, 30), "tz": "Europe/London", "hosts": [KEY_B.feed],
    }  # fmt: skip
    tour_id = _future_id(a, tour_body)
    if tour_first:
        a.publish("tour.announced", tour_body)
    stop = {"kind": "tour_stop", "tour": tour_id}
    b.publish(
        "meeting.scheduled", single("Stop: Ebbw Vale", ms(2026, 4, 9, 19), **stop)
    )
    c.publish("meeting.scheduled", single("Stop: Rhymney", ms(2026, 4, 2, 19), **stop))
    if not tour_first:
        a.publish("tour.announced", tour_body)
    a.publish(
        "meeting.scheduled", single("Stop: Tredegar", ms(2026, 4, 16, 19), **stop)
    )
    node.drain()
    tour = node.readmodels.query(get_tour, tour_id, NOBODY)
    assert tour is not None
    stops = cast(list[JsonObject], tour["stops"])
    # Rhymney is not among the hosts the tour names: its stop does not belong.
    assert [(s["title"], s["host"]) for s in stops] == [
        ("Stop: Ebbw Vale", {"feed": KEY_B.feed, "name": "Ebbw Vale"}),
        ("Stop: Tredegar", {"feed": KEY_A.feed, "name": "Tredegar"}),
    ]  # fmt: skip
    assert tour["hosts"] == [{"feed": KEY_B.feed, "name": "Ebbw Vale"}]
    filtered = listing(
        node, MeetingFilters(ms(2026, 3, 1), ms(2026, 5, 1), tour=tour_id)
    )
    assert [i["title"] for i in items(filtered)] == [
        "Stop: Ebbw Vale",
        "Stop: Tredegar",
    ]
    tours: Json = node.readmodels.query(list_tours, ms(2026, 3, 1), 10, None, NOBODY)
    assert [t["id"] for t in tours["tours"]] == [tour_id]
    stop_event = _events(node, KEY_B.feed)[-1]
    assert detail(node, stop_event)["tour"] == {
        "id": tour_id,
        "title": "Homes not demolition",
    }
    assert node.readmodels.query(get_tour, tour_id, frozenset({KEY_A.feed})) is None


def test_redacting_a_meeting_or_an_update_removes_its_text(node: Node) -> None:
    a = node.author(KEY_A)
    meeting = a.publish("meeting.scheduled", surgery())
    update = a.publish("meeting.updated", {**surgery(title="Secret venue change"),
                                            "meeting": meeting.id})  # fmt: skip
    assert detail(node, meeting)["title"] == "Secret venue change"
    a.redact(update)
    assert detail(node, meeting)["title"] == "Benefits advice surgery"
    assert "Secret" not in str(listing(node))
    a.redact(meeting)
    node.drain()
    assert node.readmodels.query(get_meeting, meeting.id, NOBODY, 0) is None
    assert items(listing(node)) == []


def test_blocked_feeds_are_left_out(node: Node) -> None:
    a, b = node.author(KEY_A), node.author(KEY_B)
    mine = a.publish("meeting.scheduled", single("Ours", ms(2026, 3, 5, 19)))
    theirs = b.publish("meeting.scheduled", single("Theirs", ms(2026, 3, 6, 19)))
    blocked = frozenset({KEY_B.feed})
    assert [i["title"] for i in items(listing(node, blocked=blocked))] == ["Ours"]
    node.drain()
    assert node.readmodels.query(get_meeting, theirs.id, blocked, 0) is None
    assert node.readmodels.query(get_meeting, mine.id, blocked, 0) is not None


def test_filters_and_paging(node: Node) -> None:
    a, b = node.author(KEY_A), node.author(KEY_B)
    network = "sha256:" + "N" * 43
    a.publish("meeting.scheduled", surgery(recurrence={"freq": "weekly", "count": 6}))
    b.publish("meeting.scheduled", single("Reading group: Tawney", ms(2026, 3, 4, 19),
              kind="reading_group", network=network, tags=["books"],
              cohosts=[KEY_A.feed], place=dict(CARDIFF)))  # fmt: skip
    b.publish("meeting.scheduled", single("Social", ms(2026, 3, 20, 19), kind="social",
              online_url="https://meet.example.org/social"))  # fmt: skip

    def titles(**filters: object) -> list[str]:
        f = MeetingFilters(start=ms(2026, 3, 1), end=ms(2026, 5, 1), **filters)  # type: ignore[arg-type]
        return [cast(str, i["title"]) for i in items(listing(node, f))]

    assert len(titles()) == 8
    assert titles(kind="reading_group") == ["Reading group: Tawney"]
    assert titles(q="TAWNEY reading") == ["Reading group: Tawney"]
    assert titles(q="cardiff") == ["Reading group: Tawney"]
    assert titles(q="nothing like it") == []
    assert titles(network=network) == titles(tag="books") == ["Reading group: Tawney"]
    assert titles(feeds=(KEY_B.feed,)) == ["Reading group: Tawney", "Social"]
    assert len(titles(feeds=(KEY_A.feed,))) == 7  # hosts six, co-hosts one
    near = Near(51_772_200, -3_246_600, 10.0)
    page = items(
        listing(node, MeetingFilters(ms(2026, 3, 1), ms(2026, 5, 1), near=near))
    )
    assert {i["title"] for i in page} == {"Benefits advice surgery", "Social"}
    assert {i["distance_km"] for i in page if i["kind"] == "advice_surgery"} == {0.0}
    assert len(page) == 7
    wide = Near(51_772_200, -3_246_600, 50.0)
    page = items(
        listing(node, MeetingFilters(ms(2026, 3, 1), ms(2026, 5, 1), near=wide))
    )
    tawney = next(i for i in page if i["kind"] == "reading_group")
    assert 30 < cast(float, tawney["distance_km"]) < 40
    # Paging: three at a time gives the whole listing, in order, once.
    whole = starts(listing(node))
    seen: list[int] = []
    after = None
    while True:
        page_json = listing(node, limit=3, after=after)
        seen += starts(page_json)
        after = cast(str | None, page_json["next"])
        if after is None:
            break
    assert seen == whole
    for bad in ("nope", "WzEsMiwzXQ", "W10", "!!"):
        with pytest.raises(InvalidCursorError):
            listing(node, after=bad)


def test_an_endless_daily_meeting_is_expanded_only_as_far_as_needed(
    node: Node,
) -> None:
    a = node.author(KEY_A)
    for hour in range(8, 20):
        a.publish("meeting.scheduled", single(f"Daily {hour}", ms(2000, 1, 1, hour),
                  recurrence={"freq": "daily"}))  # fmt: skip
    filters = MeetingFilters(ms(2026, 3, 1), ms(2027, 4, 1))
    page = listing(node, filters, limit=200)
    assert len(items(page)) == 200
    assert page["next"] is not None
    assert starts(page) == sorted(starts(page))


def _future_id(author: Author, content: JsonObject) -> str:
    """The id the author's next event will have (signing is deterministic)."""
    from protocol import sign
    from tests.protocol.helpers import T0

    seq = 1 if author.head is None else author.head.seq + 1
    event_type = "tour.announced" if "hosts" in content else "meeting.scheduled"
    return sign(author.key, author.head, T0 + seq * 1000, event_type, content).id


def _events(node: Node, feed: str) -> list[Event]:
    return [
        logged.event for logged in node.store.log(0, 1000) if logged.event.feed == feed
    ]


def test_a_meeting_claiming_to_last_for_years_does_not_swamp_listings(
    node: Node,
) -> None:
    a, b = node.author(KEY_A), node.author(KEY_B)
    b.publish("meeting.scheduled", single("Endless", ms(1971, 1, 1, 9),
              ends_at=2**53 - 1, recurrence={"freq": "daily"}))  # fmt: skip
    a.publish("meeting.scheduled", single("Real", ms(2026, 3, 5, 19)))
    page = listing(node, limit=50)
    assert "Real" in {i["title"] for i in items(page)}
    assert page["next"] is not None
