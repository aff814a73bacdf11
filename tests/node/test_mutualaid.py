"""The mutual-aid read model: needs matched to offers across groups by category
and distance in either arrival order; marks, lapsing, redaction, blocking."""

from __future__ import annotations

from typing import Any

import pytest

from node.projections import InvalidCursorError, mutualaid
from node.projections.geo import Near
from node.projections.mutualaid import AidFilters
from node.services.mutualaid import aid_item
from protocol import Event, JsonObject, JsonValue, SigningKey, sign
from tests.node.conftest import KEY_C, Author, Node
from tests.protocol.helpers import KEY_A, KEY_B, T0

KEY_D = SigningKey.from_seed(bytes(range(100, 132)))
NOW = T0 + 10_000_000
#: Tredegar, a village about 9 km west, Abergavenny (about 20 km east) and
#: London (about 210 km east).
TREDEGAR: JsonObject = {"name": "Tredegar", "lat_e6": 51_772_000, "lon_e6": -3_248_000}
MERTHYR: JsonObject = {
    "name": "Merthyr Tydfil", "lat_e6": 51_745_000, "lon_e6": -3_378_000
}  # fmt: skip
ABERGAVENNY: JsonObject = {
    "name": "Abergavenny", "lat_e6": 51_824_000, "lon_e6": -3_017_000
}  # fmt: skip
LONDON: JsonObject = {"name": "London", "lat_e6": 51_507_000, "lon_e6": -128_000}
ITEM_KEYS = {
    "id", "kind", "feed", "group", "title", "category", "text", "place", "tags",
    "until", "posted_at", "status",
}  # fmt: skip


class Pending:
    """Signs a feed's events now and stores them when the test says."""

    def __init__(self, key: SigningKey) -> None:
        self.key = key
        self.events: list[Event] = []

    def sign(self, event_type: str, content: JsonObject) -> Event:
        previous = self.events[-1] if self.events else None
        seq = len(self.events) + 1
        event = sign(self.key, previous, T0 + seq * 1000, event_type, content)
        self.events.append(event)
        return event

    def store(self, node: Node) -> None:
        assert node.store.append(self.events)

    def author(self, node: Node) -> Author:
        author = Author(self.key, node.store)
        author.head = self.events[-1]
        return author


def profile(pending: Pending, name: str, place: JsonObject | None) -> None:
    content: JsonObject = {"name": name, "how_to_join": f"Ask {name}'s organisers."}
    if place is not None:
        content["place"] = place
    pending.sign("group.profile_set", content)


def need(category: str = "transport", **more: JsonValue) -> JsonObject:
    return {"title": "Lift to the hospital", "category": category, **more}


def offer(category: str = "transport", **more: JsonValue) -> JsonObject:
    return {"title": "Driver with a car", "category": category, **more}


def listing(node: Node, kind: str, **kwargs: Any) -> list[JsonObject]:
    filters = kwargs.pop("filters", AidFilters())
    kwargs.setdefault("now", NOW)
    page = node.readmodels.query(mutualaid.list_items, kind, filters, **kwargs)
    return [aid_item(item) for item in page.items]


def ids(node: Node, kind: str, **filters: Any) -> list[JsonValue]:
    return [i["id"] for i in listing(node, kind, filters=AidFilters(**filters))]


def matched(
    node: Node, kind: str, item: Event, km: float = 50, **kwargs: Any
) -> list[JsonObject]:
    found = node.readmodels.query(
        mutualaid.get_item, kind, item.id, now=NOW, blocked=kwargs.get("blocked", ())
    )
    assert found is not None
    page = node.readmodels.query(
        mutualaid.matches,
        found.item,
        km=km,
        now=NOW,
        blocked=kwargs.pop("blocked", ()),
        **kwargs,
    )
    return [aid_item(match) for match in page.items]


def status(node: Node, kind: str, item: Event) -> JsonValue:
    found = node.readmodels.query(
        mutualaid.get_item, kind, item.id, now=NOW, blocked=()
    )
    return None if found is None else aid_item(found.item)["status"]


def three_groups() -> tuple[
    Pending, Pending, Pending, Pending, Event, dict[str, Event]
]:
    """A (Tredegar) needs a lift; B (Merthyr) offers childcare; C
    (Abergavenny, two groups away) offers a driver from its base; D (London)
    offers a driver too, 200 km away."""
    a, b, c, d = Pending(KEY_A), Pending(KEY_B), Pending(KEY_C), Pending(KEY_D)
    profile(a, "Tredegar Aid", TREDEGAR)
    profile(b, "Merthyr Aid", MERTHYR)
    profile(c, "Abergavenny Aid", ABERGAVENNY)
    profile(d, "London Aid", LONDON)
    lift = a.sign("need.posted", need(place=TREDEGAR, until=NOW + 1000))
    offers = {
        "childcare": b.sign("offer.posted", offer("childcare", place=MERTHYR)),
        "near": c.sign("offer.posted", offer(need=lift.id, text="Weekdays.")),
        "far": d.sign("offer.posted", offer(place=LONDON)),
    }
    return a, b, c, d, lift, offers


@pytest.mark.parametrize(
    "need_first", [True, False], ids=["need-first", "offers-first"]
)
def test_a_need_finds_an_offer_two_groups_away(node: Node, need_first: bool) -> None:
    a, b, c, d, lift, offers = three_groups()
    for pending in [a, b, c, d] if need_first else [d, c, b, a]:
        pending.store(node)
        node.drain()
    [found] = matched(node, "need", lift)
    assert found["id"] == offers["near"].id
    assert set(found) == ITEM_KEYS | {"need", "distance_km"}
    assert 15 < float(found["distance_km"]) < 25  # type: ignore[arg-type]
    assert found["group"] == {
        "feed": KEY_C.feed,
        "name": "Abergavenny Aid",
        "how_to_join": "Ask Abergavenny Aid's organisers.",
    }
    assert (found["place"], found["need"], found["status"]) == (None, lift.id, "open")
    # A wider radius reaches London; the other way round finds the need.
    wide = matched(node, "need", lift, km=1000)
    assert [m["id"] for m in wide] == [offers["near"].id, offers["far"].id]
    [back] = matched(node, "offer", offers["near"])
    assert back["id"] == lift.id
    assert matched(node, "offer", offers["childcare"]) == []


def test_an_item_without_a_point_of_its_own_or_its_groups_matches_nothing(
    node: Node,
) -> None:
    a, c = node.author(KEY_A), node.author(KEY_C)
    a.publish("group.profile_set", {"name": "Tredegar Aid"})
    lonely = a.publish("need.posted", need())
    c.publish("offer.posted", offer(place=ABERGAVENNY))
    node.drain()
    assert matched(node, "need", lonely) == []
    # Once its group gives a base, it is matched from there.
    a.publish("group.profile_set", {"name": "Tredegar Aid", "place": TREDEGAR})
    node.drain()
    assert len(matched(node, "need", lonely)) == 1


@pytest.mark.parametrize("met_first", [True, False], ids=["met-first", "need-first"])
def test_marked_met_by_the_needing_group_only(node: Node, met_first: bool) -> None:
    a, b, c, d, lift, offers = three_groups()
    near = offers["near"]
    a.sign("need.met", {"need": lift.id, "offer": near.id, "note": "Diolch!"})
    b.sign("need.met", {"need": lift.id})  # not B's need: ignored
    d.sign("offer.withdrawn", {"offer": near.id})  # not D's offer: ignored
    for pending in [c, b, d, a] if met_first else [a, b, c, d]:
        pending.store(node)
        node.drain()
    assert status(node, "need", lift) == "met"
    assert status(node, "offer", near) == "met"
    assert ids(node, "need", status="met") == [lift.id]
    assert ids(node, "need", status="open") == []
    assert ids(node, "offer", status="met") == [near.id]
    # A met need is no longer matched to, nor offered for.
    assert matched(node, "offer", offers["far"], km=1000) == []
    # Withdrawn by its own group.
    c.author(node).publish("offer.withdrawn", {"offer": near.id, "reason": "Gone."})
    node.drain()
    assert status(node, "offer", near) == "withdrawn"


def test_lapsed_by_until(node: Node) -> None:
    a, c = node.author(KEY_A), node.author(KEY_C)
    a.publish("group.profile_set", {"name": "Tredegar Aid", "place": TREDEGAR})
    soon = a.publish("need.posted", need(until=NOW - 1))
    later = a.publish("need.posted", need(until=NOW + 1))
    spare = c.publish("offer.posted", offer(place=ABERGAVENNY, until=NOW - 5))
    node.drain()
    assert (status(node, "need", soon), status(node, "need", later)) == (
        "lapsed",
        "open",
    )
    assert status(node, "offer", spare) == "lapsed"
    assert ids(node, "need", status="lapsed") == [soon.id]
    assert matched(node, "need", later) == []  # the offer lapsed


def test_redaction_removes_items_and_marks(node: Node) -> None:
    a, b, c, d, lift, offers = three_groups()
    met = a.sign("need.met", {"need": lift.id, "offer": offers["near"].id})
    for pending in (a, b, c, d):
        pending.store(node)
    node.drain()
    assert status(node, "need", lift) == "met"
    a.author(node).redact(met)
    node.drain()
    assert status(node, "need", lift) == "open"
    c.author(node).redact(offers["near"])
    node.drain()
    assert status(node, "offer", offers["near"]) is None
    assert matched(node, "need", lift) == []
    assert "Weekdays." not in str(listing(node, "offer"))


def test_blocked_feeds_are_left_out(node: Node) -> None:
    _, _, _, _, lift, offers = three_groups()
    for pending in three_groups()[:4]:
        pending.store(node)
    node.drain()
    blocked = {KEY_C.feed}
    assert offers["near"].id not in [
        i["id"] for i in listing(node, "offer", blocked=blocked)
    ]
    assert matched(node, "need", lift, blocked=blocked) == []
    assert (
        node.readmodels.query(
            mutualaid.get_item, "offer", offers["near"].id, now=NOW, blocked=blocked
        )
        is None
    )
    offers_named = node.readmodels.query(
        mutualaid.offers_for, lift.id, now=NOW, blocked=blocked
    )
    assert offers_named == []


def test_filters_near_and_paging(node: Node) -> None:
    for pending in three_groups()[:4]:
        pending.store(node)
    node.drain()
    assert len(ids(node, "offer")) == 3
    assert len(ids(node, "offer", category="transport")) == 2
    assert len(ids(node, "offer", q="WEEKDAYS")) == 1
    assert len(ids(node, "offer", feed=KEY_D.feed)) == 1
    close = listing(node, "offer", near=Near(51_772_000, -3_248_000, 25))
    assert sorted(str(i["group"]) for i in close) == [
        str({"feed": KEY_C.feed, "name": "Abergavenny Aid",
             "how_to_join": "Ask Abergavenny Aid's organisers."}),
        str({"feed": KEY_B.feed, "name": "Merthyr Aid",
             "how_to_join": "Ask Merthyr Aid's organisers."}),
    ]  # fmt: skip
    assert all("distance_km" in item for item in close)
    seen: list[JsonValue] = []
    after = None
    while True:
        page = node.readmodels.query(
            mutualaid.list_items, "offer", AidFilters(), now=NOW, limit=1, after=after
        )
        seen += [item.row["id"] for item in page.items]
        if page.next is None:
            break
        after = page.next
    assert seen == ids(node, "offer")
    with pytest.raises(InvalidCursorError):
        node.readmodels.query(
            mutualaid.list_items, "offer", AidFilters(), now=NOW, after="bogus"
        )
