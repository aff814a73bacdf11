"""The meetings and tours routes, in-process: listings, detail, refusals."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from protocol import Event, JsonObject, SigningKey, sign
from tests.http.conftest import Served
from tests.protocol.helpers import KEY_B, T0

LONDON = ZoneInfo("Europe/London")
INSTITUTE: JsonObject = {"name": "Miners' Institute, Tredegar", "lat_e6": 51_772_200,
             "lon_e6": -3_246_600}  # fmt: skip
NOW = 1_772_323_200_000  # 2026-03-01T00:00:00Z


def ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    moment = datetime(year, month, day, hour, minute, tzinfo=LONDON)
    return int(moment.timestamp() * 1000)


def surgery(**changes: object) -> JsonObject:
    body: dict[str, Any] = {
        "title": "Benefits advice surgery",
        "kind": "advice_surgery",
        "starts_at": ms(2026, 3, 3, 19),
        "ends_at": ms(2026, 3, 3, 21),
        "tz": "Europe/London",
        "place": dict(INSTITUTE),
        "recurrence": {"freq": "weekly", "by_day": ["TU"]},
        "capacity": 30,
    }
    body.update(changes)
    return body


async def publish(node: Served, event_type: str, body: JsonObject) -> str:
    response = await node.client.post(
        "/api/v1/events",
        data=orjson.dumps({"type": event_type, "body": body}),
        headers=node.organiser,
    )
    assert response.status == 201, await response.text()
    return str((await response.json())["id"])


class Peer:
    """Another group's feed, its events stored as if synced."""

    def __init__(self, node: Served, key: SigningKey, name: str) -> None:
        self.node, self.key, self.head = node, key, None
        self.publish("group.profile_set", {"name": name})

    def publish(self, event_type: str, body: JsonObject) -> Event:
        head: Event | None = self.head
        seq = 1 if head is None else head.seq + 1
        event = sign(self.key, head, T0 + seq * 1000, event_type, body)
        assert self.node.services.store.append([event])
        self.head = event  # type: ignore[assignment]
        return event


async def get(node: Served, path: str) -> Any:
    await node.projected()
    response = await node.client.get(path)
    assert response.status == 200, await response.text()
    return await response.json()


@pytest.fixture
def clocked(node: Served) -> Served:
    node.services.clock = lambda: NOW
    return node


async def test_listing_detail_and_exceptions(clocked: Served) -> None:
    node = clocked
    meeting = await publish(node, "meeting.scheduled", surgery())
    await publish(node, "meeting.occurrence_changed", {
        "meeting": meeting, "occurrence_starts_at": ms(2026, 3, 10, 19),
        "change": "cancelled"})  # fmt: skip
    await publish(node, "meeting.occurrence_changed", {
        "meeting": meeting, "occurrence_starts_at": ms(2026, 3, 17, 19),
        "change": "moved", "starts_at": ms(2026, 3, 18, 18),
        "ends_at": ms(2026, 3, 18, 20)})  # fmt: skip
    page = await get(node, f"/api/v1/meetings?to={ms(2026, 3, 25)}")
    assert [m["starts_at"] for m in page["meetings"]] == [
        ms(2026, 3, 3, 19), ms(2026, 3, 18, 18), ms(2026, 3, 24, 19)
    ]  # fmt: skip
    assert page["meetings"][0]["host"]["name"] == "Blaenavon Tenants"
    assert page["next"] is None
    # The default window is from now, 90 days.
    default = await get(node, "/api/v1/meetings?limit=200")
    assert len(default["meetings"]) == 12  # 13 Tuesdays, one cancelled
    found = await get(node, f"/api/v1/meetings/{meeting}")
    assert found["status"] == "scheduled"
    assert [e["change"] for e in found["exceptions"]] == ["cancelled", "moved"]
    assert found["next_occurrences"][1]["starts_at"] == ms(2026, 3, 18, 18)
    for key in ("cohosts", "programme", "recurrence", "agenda", "counts", "minutes",
                "capacity", "tour", "cancel_reason", "host"):  # fmt: skip
        assert key in found


async def test_paging_and_filters(clocked: Served) -> None:
    node = clocked
    await publish(node, "meeting.scheduled", surgery(tags=["advice"]))
    await publish(node, "meeting.scheduled", _without_none(surgery(
        title="Reading group", kind="reading_group", place=None,
        online_url="https://meet.example.org/books", recurrence=None)))  # fmt: skip
    path = f"/api/v1/meetings?to={ms(2026, 4, 1)}&limit=2"
    page = await get(node, path)
    seen = [m["starts_at"] for m in page["meetings"]]
    while page["next"]:
        page = await get(node, f"{path}&after={page['next']}")
        seen += [m["starts_at"] for m in page["meetings"]]
    assert len(seen) == 6
    assert seen == sorted(seen)
    books = await get(node, "/api/v1/meetings?kind=reading_group")
    assert [m["title"] for m in books["meetings"]] == ["Reading group"]
    assert books["meetings"][0]["place"] is None
    tagged = await get(node, "/api/v1/meetings?tag=advice&q=benefits")
    assert {m["kind"] for m in tagged["meetings"]} == {"advice_surgery"}
    near = await get(node, "/api/v1/meetings?lat=51.7722&lon=-3.2466&within_km=5")
    assert near["meetings"]
    assert all(m["distance_km"] == 0.0 for m in near["meetings"])
    far = await get(node, "/api/v1/meetings?lat=53.48&lon=-2.24&within_km=20")
    assert far["meetings"] == []
    mine = await get(node, f"/api/v1/meetings?feed={node.services.key.feed}")
    assert len(mine["meetings"]) == 14


def _without_none(body: JsonObject) -> JsonObject:
    return {k: v for k, v in body.items() if v is not None}


async def test_other_groups_counts_tours_and_blocking(clocked: Served) -> None:
    node = clocked
    other = Peer(node, KEY_B, "Ebbw Vale Tenants")
    meeting = await publish(
        node, "meeting.scheduled", _without_none(surgery(recurrence=None))
    )
    other.publish("meeting.attendance_counted",
                  {"meeting": meeting, "yes": 4, "maybe": 1, "no": 0})  # fmt: skip
    await publish(node, "meeting.attendance_counted",
                  {"meeting": meeting, "yes": 6, "maybe": 0, "no": 1})  # fmt: skip
    tour = await publish(node, "tour.announced", {
        "title": "Homes not demolition", "starts_at": ms(2026, 3, 1),
        "ends_at": ms(2026, 4, 1), "tz": "Europe/London"})  # fmt: skip
    stop = other.publish("meeting.scheduled", _without_none(surgery(
        title="Tour stop: Ebbw Vale", kind="tour_stop", tour=tour, recurrence=None,
        starts_at=ms(2026, 3, 12, 19), ends_at=ms(2026, 3, 12, 21))))  # fmt: skip
    listed = await get(node, "/api/v1/meetings")
    assert listed["meetings"][0]["counts"] == {
        "yes": 10, "maybe": 1, "no": 1, "attended": 0}  # fmt: skip
    tours = await get(node, "/api/v1/tours")
    assert [t["title"] for t in tours["tours"]] == ["Homes not demolition"]
    found = await get(node, f"/api/v1/tours/{tour}")
    assert [s["host"]["name"] for s in found["stops"]] == ["Ebbw Vale Tenants"]
    assert found["stops"][0]["id"] == stop.id
    node.services.store.federation.block(KEY_B.feed, "feed", now=NOW)
    listed = await get(node, "/api/v1/meetings")
    assert [m["title"] for m in listed["meetings"]] == ["Benefits advice surgery"]
    assert listed["meetings"][0]["counts"]["yes"] == 6
    assert (await get(node, f"/api/v1/tours/{tour}"))["stops"] == []
    response = await node.client.get(f"/api/v1/meetings/{stop.id}")
    assert (response.status, (await response.json())["code"]) == (404, "not-found")


async def test_redaction_removes_the_meeting(clocked: Served) -> None:
    node = clocked
    meeting = await publish(node, "meeting.scheduled", surgery(title="Ashvale surgery"))
    await publish(node, "event.redacted", {"id": meeting})
    await node.projected()
    response = await node.client.get(f"/api/v1/meetings/{meeting}")
    assert response.status == 404
    assert "Ashvale" not in await (await node.client.get("/api/v1/meetings")).text()


NOT_AN_ID = "sha256:" + "A" * 42


@pytest.mark.parametrize(
    "query",
    [
        "from=abc",
        "from=-5",
        "to=1.5",
        f"from={NOW}&to={NOW - 1}",
        f"from={NOW}&to={NOW + 401 * 86_400_000}",
        "from=999999999999999999",
        "kind=party",
        "kind=" + "x" * 100,
        "feed=ed25519:nope",
        f"network={NOT_AN_ID}",
        "tour=nope",
        "campaign=sha256:!!",
        "limit=0",
        "limit=-1",
        "limit=ten",
        "after=%%%",
        "after=bm90IGEgY3Vyc29y",
        "after=" + "A" * 301,
        "lat=51.7",
        "lat=91&lon=0",
        "within_km=5",
        "q=" + "x" * 201,
        "tag=" + "x" * 40,
    ],
)
async def test_hostile_listing_parameters_are_malformed(
    node: Served, query: str
) -> None:
    response = await node.client.get(f"/api/v1/meetings?{query}")
    assert response.status == 400, query
    assert response.content_type == "application/problem+json"
    assert (await response.json())["code"] == "malformed"
    calendar = await node.client.get(f"/calendar.ics?{query}")
    if "after" not in query and "limit" not in query:
        assert calendar.status == 400, query


async def test_huge_limits_are_clamped_and_odd_texts_answered(node: Served) -> None:
    for query in ("limit=100000000", "q=%22%27%3B%20DROP", "q=*", "tag=%00"):
        response = await node.client.get(f"/api/v1/meetings?{query}")
        assert response.status == 200, query


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/v1/meetings/nope", 400, "malformed"),
        (f"/api/v1/meetings/{NOT_AN_ID}A", 404, "not-found"),
        ("/api/v1/tours/sha256:x", 400, "malformed"),
        (f"/api/v1/tours/{NOT_AN_ID}A", 404, "not-found"),
        ("/api/v1/tours?after=nope", 400, "malformed"),
        ("/api/v1/tours?from=x", 400, "malformed"),
        ("/groups/nope/calendar.ics", 400, "malformed"),
        ("/groups/ed25519:" + "A" * 43 + "/calendar.ics", 404, "not-found"),
    ],
)
async def test_bad_paths(node: Served, path: str, status: int, code: str) -> None:
    response = await node.client.get(path)
    assert response.status == status
    assert response.content_type == "application/problem+json"
    assert (await response.json())["code"] == code
