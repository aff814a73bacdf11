"""Meetings near a point, and listings read lazily in start order."""

from __future__ import annotations

from typing import cast

from node.projections.geo import Near
from node.projections.meeting_queries import FIRST_CHUNK
from node.projections.meetings import MeetingFilters
from node.storage.sqldb import Cursor
from tests.node.conftest import Node
from tests.node.test_meetings import (
    CARDIFF,
    INSTITUTE,
    LIBRARY,
    WINDOW,
    items,
    listing,
    ms,
    single,
    starts,
    surgery,
)
from tests.protocol.helpers import KEY_A, KEY_B

TREDEGAR = Near(51_772_200, -3_246_600, 10.0)
NEAR_TREDEGAR = MeetingFilters(WINDOW.start, WINDOW.end, near=TREDEGAR)


def titles(node: Node, filters: MeetingFilters = NEAR_TREDEGAR) -> list[str]:
    return [cast(str, item["title"]) for item in items(listing(node, filters))]


def test_an_update_moving_the_place_moves_the_meeting_in_and_out(node: Node) -> None:
    a = node.author(KEY_A)
    meeting = a.publish("meeting.scheduled", single("Hustings", ms(2026, 3, 5, 19)))
    assert titles(node) == ["Hustings"]  # Ebbw Vale, 3 km away
    moved = single("Hustings", ms(2026, 3, 5, 19), place=dict(CARDIFF))
    a.publish("meeting.updated", {"meeting": meeting.id, **moved})
    assert titles(node) == []
    back = single("Hustings again", ms(2026, 3, 5, 19), place=dict(INSTITUTE))
    a.publish("meeting.updated", {"meeting": meeting.id, **back})
    assert titles(node) == ["Hustings again"]
    # Another feed cannot move it.
    away = single("Hijacked", ms(2026, 3, 5, 19), place=dict(CARDIFF))
    node.author(KEY_B).publish("meeting.updated", {"meeting": meeting.id, **away})
    assert titles(node) == ["Hustings again"]
    a.redact(meeting)
    assert titles(node) == []


def test_redacting_the_update_brings_back_the_place_before(node: Node) -> None:
    a = node.author(KEY_A)
    meeting = a.publish("meeting.scheduled", single("Rally", ms(2026, 3, 5, 19)))
    moved = single("Rally", ms(2026, 3, 5, 19), place=dict(CARDIFF))
    update = a.publish("meeting.updated", {"meeting": meeting.id, **moved})
    assert titles(node) == []
    a.redact(update)
    assert titles(node) == ["Rally"]


def test_an_occurrence_moved_near_is_listed_alone(node: Node) -> None:
    a = node.author(KEY_A)
    weekly = surgery(place=dict(CARDIFF), recurrence={"freq": "weekly", "count": 4})
    meeting = a.publish("meeting.scheduled", weekly)
    assert titles(node) == []
    a.publish("meeting.occurrence_changed", {
        "meeting": meeting.id, "occurrence_starts_at": ms(2026, 3, 17, 19),
        "change": "moved", "place": dict(LIBRARY),
    })  # fmt: skip
    page = items(listing(node, NEAR_TREDEGAR))
    assert [item["starts_at"] for item in page] == [ms(2026, 3, 17, 19)]
    assert len(items(listing(node))) == 4


def test_a_moved_occurrence_is_listed_before_later_meetings(node: Node) -> None:
    a, b = node.author(KEY_A), node.author(KEY_B)
    weekly = surgery(starts_at=ms(2026, 3, 10, 19), ends_at=ms(2026, 3, 10, 21),
                     recurrence={"freq": "weekly", "count": 3})  # fmt: skip
    meeting = a.publish("meeting.scheduled", weekly)
    a.publish("meeting.occurrence_changed", {
        "meeting": meeting.id, "occurrence_starts_at": ms(2026, 3, 24, 19),
        "change": "moved", "starts_at": ms(2026, 3, 2, 18),
        "ends_at": ms(2026, 3, 2, 20),
    })  # fmt: skip
    b.publish("meeting.scheduled", single("Reading group", ms(2026, 3, 5, 19)))
    for filters in (WINDOW, NEAR_TREDEGAR):
        assert starts(listing(node, filters)) == [
            ms(2026, 3, 2, 18), ms(2026, 3, 5, 19), ms(2026, 3, 10, 19),
            ms(2026, 3, 17, 19),
        ]  # fmt: skip


def test_pages_past_the_first_read_give_every_meeting_once(node: Node) -> None:
    a = node.author(KEY_A)
    count = FIRST_CHUNK * 3 + 5
    for n in range(count):
        place = dict(LIBRARY) if n % 3 else dict(CARDIFF)
        start = ms(2026, 3, 2) + (n % 40) * 3_600_000 * 7
        a.publish("meeting.scheduled", single(f"Meeting {n}", start, place=place))
    near = [n for n in range(count) if n % 3]
    whole = listing(node, NEAR_TREDEGAR)
    assert len(items(whole)) == len(near)
    assert starts(whole) == sorted(starts(whole))
    seen: list[object] = []
    after = None
    while True:
        page = listing(node, NEAR_TREDEGAR, limit=7, after=after)
        seen += [item["title"] for item in items(page)]
        after = cast(str | None, page["next"])
        if after is None:
            break
    assert seen == [item["title"] for item in items(whole)]
    assert len(items(listing(node, limit=200))) == count


def test_the_box_columns_follow_the_place(node: Node) -> None:
    a = node.author(KEY_A)
    meeting = a.publish("meeting.scheduled", single("Online", ms(2026, 3, 5, 19)))
    node.drain()
    assert node.readmodels.query(_columns, meeting.id) == (51_777_000, -3_207_000, 0)
    online = single("Online", ms(2026, 3, 5, 19), online_url="https://example.org/m")
    del online["place"]
    a.publish("meeting.updated", {"meeting": meeting.id, **online})
    node.drain()
    assert node.readmodels.query(_columns, meeting.id) == (None, None, 1)
    assert titles(node) == []


def _columns(cursor: Cursor, meeting_id: str) -> tuple[object, ...]:
    cursor.execute(
        "SELECT lat_e6, lon_e6, revision FROM meetings WHERE id = ?", (meeting_id,)
    )
    return tuple(cursor.fetchone())
