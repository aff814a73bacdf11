"""Needs and offers through the API: matched across groups, met, redacted,
blocked; answers as documented; hostile parameters refused."""

from __future__ import annotations

from typing import Any

import pytest

from protocol import Event, JsonObject, SigningKey, sign
from tests.http.conftest import Served
from tests.http.test_openapi import check_answer
from tests.protocol.helpers import KEY_B, T0

KEY_C = SigningKey.from_seed(bytes(range(64, 96)))
TREDEGAR: JsonObject = {"name": "Tredegar", "lat_e6": 51_772_000, "lon_e6": -3_248_000}
ABERGAVENNY: JsonObject = {
    "name": "Abergavenny", "lat_e6": 51_824_000, "lon_e6": -3_017_000
}  # fmt: skip
LONDON: JsonObject = {"name": "London", "lat_e6": 51_507_000, "lon_e6": -128_000}


async def publish(node: Served, event_type: str, body: JsonObject) -> str:
    response = await node.client.post(
        "/api/v1/events",
        json={"type": event_type, "body": body},
        headers=node.organiser,
    )
    assert response.status == 201, await response.text()
    return str((await response.json())["id"])


async def feed(
    node: Served, key: SigningKey, name: str, *items: tuple[str, JsonObject]
) -> list[Event]:
    """Another group's feed (a profile with its base, then items), as synced."""
    profile = sign(
        key,
        None,
        T0,
        "group.profile_set",
        {"name": name, "place": ABERGAVENNY if key == KEY_C else LONDON},
    )
    events, head = [profile], profile
    for event_type, body in items:
        head = sign(key, head, T0 + len(events), event_type, body)
        events.append(head)
    await node.services.writer.append_verified(events)
    return events


async def get(
    node: Served, url: str, documented: str, expect: int = 200, **params: str
) -> Any:
    response = await node.client.get(url, params=params)
    return await check_answer(response, documented, status=expect)


@pytest.mark.parametrize(
    "need_first", [True, False], ids=["need-first", "offers-first"]
)
async def test_a_need_here_is_matched_to_an_offer_two_groups_away(
    node: Served, need_first: bool
) -> None:
    lift: JsonObject = {
        "title": "Lift to the hospital",
        "category": "transport",
        "place": TREDEGAR,
    }
    if need_first:
        need = await publish(node, "need.posted", lift)
    c_events = await feed(
        node,
        KEY_C,
        "Abergavenny Aid",
        ("offer.posted", {"title": "A driver", "category": "transport"}),
    )
    b_events = await feed(
        node,
        KEY_B,
        "London Aid",
        ("offer.posted", {"title": "A driver", "category": "transport"}),
        (
            "offer.posted",
            {"title": "Childminding", "category": "childcare", "place": TREDEGAR},
        ),
    )
    if not need_first:
        need = await publish(node, "need.posted", lift)
    await node.projected()
    near_offer = c_events[1].id
    matches = await get(
        node, f"/api/v1/needs/{need}/matches", "/api/v1/needs/{id}/matches"
    )
    assert [m["id"] for m in matches["offers"]] == [near_offer]
    assert 15 < matches["offers"][0]["distance_km"] < 25
    assert matches["offers"][0]["group"]["name"] == "Abergavenny Aid"
    wide = await get(
        node,
        f"/api/v1/needs/{need}/matches",
        "/api/v1/needs/{id}/matches",
        within_km="1000",
    )
    assert [m["id"] for m in wide["offers"]] == [near_offer, b_events[1].id]
    back = await get(
        node, f"/api/v1/offers/{near_offer}/matches", "/api/v1/offers/{id}/matches"
    )
    assert [m["id"] for m in back["needs"]] == [need]
    # Met, naming the offer two groups away.
    await publish(
        node, "need.met", {"need": need, "offer": near_offer, "note": "Diolch"}
    )
    await node.projected()
    shown = await get(node, f"/api/v1/needs/{need}", "/api/v1/needs/{id}")
    assert shown["status"] == "met"
    assert shown["met"]["offer"]["id"] == near_offer
    assert shown["met"]["note"] == "Diolch"
    offer = await get(node, f"/api/v1/offers/{near_offer}", "/api/v1/offers/{id}")
    assert (offer["status"], offer["answers"], offer["withdrawn"]) == (
        "met",
        None,
        None,
    )
    met = await get(node, "/api/v1/needs", "/api/v1/needs", status="met")
    assert [n["id"] for n in met["needs"]] == [need]
    # The offer that met it is open no longer: it is matched to nothing.
    again = await get(
        node, f"/api/v1/needs/{need}/matches", "/api/v1/needs/{id}/matches"
    )
    assert again["offers"] == []


async def test_listing_filters_near_and_paging(node: Served) -> None:
    for n in range(3):
        await publish(
            node,
            "offer.posted",
            {"title": f"Spare chairs {n}", "category": "goods", "place": TREDEGAR},
        )
    await feed(
        node,
        KEY_B,
        "London Aid",
        ("offer.posted", {"title": "Spare tables", "category": "goods"}),
    )
    await node.projected()
    near = await get(
        node,
        "/api/v1/offers",
        "/api/v1/offers",
        lat="51.77",
        lon="-3.25",
        within_km="10",
    )
    assert len(near["offers"]) == 3
    assert all("distance_km" in o for o in near["offers"])
    words = await get(node, "/api/v1/offers", "/api/v1/offers", q="TABLES")
    assert [o["group"]["name"] for o in words["offers"]] == ["London Aid"]
    seen: list[str] = []
    after = ""
    while True:
        page = await get(
            node, "/api/v1/offers", "/api/v1/offers", limit="2", after=after
        )
        seen += [o["id"] for o in page["offers"]]
        if page["next"] is None:
            break
        after = page["next"]
    assert len(seen) == len(set(seen)) == 4


async def test_redacted_and_blocked_items_disappear(node: Served) -> None:
    private_text = "Ask for Mrs Jones at number 12"
    need = await publish(
        node,
        "need.posted",
        {"title": "Shopping", "category": "food", "text": private_text},
    )
    events = await feed(
        node,
        KEY_B,
        "London Aid",
        ("offer.posted", {"title": "Groceries", "category": "food", "need": need}),
    )
    await node.projected()
    shown = await get(node, f"/api/v1/needs/{need}", "/api/v1/needs/{id}")
    assert [o["id"] for o in shown["offers"]] == [events[1].id]
    await publish(node, "event.redacted", {"id": need})
    await node.projected()
    await get(node, f"/api/v1/needs/{need}", "/api/v1/needs/{id}", expect=404)
    for url in ("/api/v1/needs", "/api/v1/offers", f"/api/v1/offers/{events[1].id}"):
        response = await node.client.get(url)
        assert private_text not in await response.text()
    await node.services.read(
        node.services.store.federation.block, KEY_B.feed, "feed", now=1
    )
    await get(node, f"/api/v1/offers/{events[1].id}", "/api/v1/offers/{id}", expect=404)
    assert (await get(node, "/api/v1/offers", "/api/v1/offers"))["offers"] == []


async def test_hostile_parameters_are_malformed_or_not_found(node: Served) -> None:
    unheld = "sha256:" + "A" * 43
    bad = [
        ("/api/v1/needs?category=boats", 400),
        ("/api/v1/needs?status=sleeping", 400),
        ("/api/v1/needs?feed=nope", 400),
        ("/api/v1/needs?after=nope", 400),
        ("/api/v1/needs?limit=0", 400),
        ("/api/v1/needs?within_km=5", 400),
        ("/api/v1/offers?lat=100&lon=0", 400),
        ("/api/v1/needs/nope", 400),
        (f"/api/v1/needs/{unheld}", 404),
        (f"/api/v1/offers/{unheld}/matches", 404),
        (f"/api/v1/needs/{unheld}/matches?within_km=x", 400),
    ]
    for url, status in bad:
        response = await node.client.get(url)
        assert response.status == status, (url, await response.text())
        assert response.content_type == "application/problem+json"
    need = await publish(node, "need.posted", {"title": "Chairs", "category": "goods"})
    await node.projected()
    response = await node.client.get(f"/api/v1/needs/{need}/matches?after=zzz")
    assert response.status == 400
    # A need with no point, its group without a base: nothing to match.
    empty = await get(
        node, f"/api/v1/needs/{need}/matches", "/api/v1/needs/{id}/matches"
    )
    assert empty == {"offers": [], "next": None}
