"""The campaigns read model: co-owners, endorsements and outcomes across feeds,
in either arrival order; filters, paging, redaction and blocked feeds."""

from __future__ import annotations

from typing import Any

import pytest

from node.projections import InvalidCursorError, campaigns
from node.projections.campaigns import CampaignFilters
from node.projections.geo import Near
from node.services.campaigns import campaign_detail, campaign_item
from protocol import Event, JsonObject, JsonValue, SigningKey, sign
from tests.node.conftest import KEY_C, Author, Node, body, raw_bytes
from tests.protocol.helpers import KEY_A, KEY_B, T0

ITEM_KEYS = {
    "id", "feed", "owner", "title", "target", "demands", "description", "area",
    "place", "tags", "url", "network", "status", "outcome", "launched_at",
    "updated_at", "endorsements", "co_owners",
}  # fmt: skip
PRIVATE_TEXT = "Zanzibarian councillor leak"


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


def listing(node: Node, **kwargs: Any) -> list[JsonObject]:
    filters = kwargs.pop("filters", CampaignFilters())
    page = node.readmodels.query(campaigns.list_campaigns, filters, **kwargs)
    return [campaign_item(record) for record in page.items]


def ids(node: Node, **filters: Any) -> list[JsonValue]:
    return [item["id"] for item in listing(node, filters=CampaignFilters(**filters))]


def detail(node: Node, campaign_id: str, **kwargs: Any) -> JsonObject | None:
    found = node.readmodels.query(campaigns.get_campaign, campaign_id, **kwargs)
    return None if found is None else campaign_detail(found)


def ref(kind: str, campaign: Event, **changes: JsonValue) -> JsonObject:
    return body(kind, campaign=campaign.id, **changes)


def story() -> tuple[Pending, Pending, Pending, Event]:
    """A launches, makes B a co-owner; B updates and calls an action;
    C endorses twice and posts an update although it is not a co-owner."""
    a, b, c = Pending(KEY_A), Pending(KEY_B), Pending(KEY_C)
    a.sign("group.profile_set", body("group.profile_set", name="Tredegar Tenants"))
    launch = a.sign("campaign.launched", body("campaign.launched"))
    a.sign(
        "campaign.co_owner_added",
        ref("campaign.co_owner_added", launch, co_owner=KEY_B.feed),
    )
    b.sign("group.profile_set", body("group.profile_set", name="Ebbw Vale Tenants"))
    b.sign(
        "campaign.updated", ref("campaign.updated", launch, demands=["Keep the homes."])
    )
    b.sign("campaign.action_called", ref("campaign.action_called", launch))
    c.sign("group.profile_set", body("group.profile_set", name="Rhymney Aid"))
    c.sign("campaign.endorsed", ref("campaign.endorsed", launch, statement="First."))
    c.sign("campaign.endorsed", ref("campaign.endorsed", launch, statement="Again."))
    c.sign("campaign.updated", ref("campaign.updated", launch, text="Not ours to say."))
    return a, b, c, launch


@pytest.mark.parametrize(
    "launch_first", [True, False], ids=["launch-first", "refs-first"]
)
def test_co_owners_and_endorsements_across_three_feeds(
    node: Node, launch_first: bool
) -> None:
    a, b, c, launch = story()
    order = [a, b, c] if launch_first else [c, b, a]
    for pending in order:
        pending.store(node)
        node.drain()
    [item] = listing(node)
    assert set(item) == ITEM_KEYS
    assert item["id"] == launch.id
    assert item["owner"] == {"feed": KEY_A.feed, "name": "Tredegar Tenants"}
    assert item["co_owners"] == [{"feed": KEY_B.feed, "name": "Ebbw Vale Tenants"}]
    assert item["endorsements"] == 1
    assert item["demands"] == ["Keep the homes."]
    assert (item["status"], item["outcome"]) == ("live", None)
    assert item["target"] == {
        "name": "Blaenau Gwent County Borough Council", "kind": "council"
    }  # fmt: skip
    assert item["launched_at"] == launch.ts
    assert item["updated_at"] == b.events[2].ts
    full = detail(node, launch.id)
    assert full is not None
    updates, actions = full["updates"], full["actions"]
    assert isinstance(updates, list)
    assert isinstance(actions, list)
    assert [u["feed"] for u in updates if isinstance(u, dict)] == [KEY_B.feed]
    assert [a["title"] for a in actions if isinstance(a, dict)] == [
        "Lobby the cabinet meeting"
    ]
    assert full["endorsed_by"] == [
        {"feed": KEY_C.feed, "name": "Rhymney Aid", "statement": "Again.",
         "ts": c.events[2].ts}
    ]  # fmt: skip

    # C's update shows once the owner makes C a co-owner.
    owner = Author(KEY_A, node.store)
    owner.head = a.events[-1]
    owner.publish(
        "campaign.co_owner_added",
        ref("campaign.co_owner_added", launch, co_owner=KEY_C.feed),
    )
    node.drain()
    full = detail(node, launch.id)
    assert full is not None
    texts = [u["text"] for u in full["updates"] if isinstance(u, dict)]  # type: ignore[union-attr]
    assert texts == ["Not ours to say.", body("campaign.updated")["text"]]


def test_only_the_owner_adds_co_owners(node: Node) -> None:
    a, b = node.author(KEY_A), node.author(KEY_B)
    launch = a.publish("campaign.launched", body("campaign.launched"))
    b.publish(
        "campaign.co_owner_added",
        ref("campaign.co_owner_added", launch, co_owner=KEY_B.feed),
    )
    b.publish("campaign.outcome_declared", ref("campaign.outcome_declared", launch))
    node.drain()
    [item] = listing(node)
    assert (item["co_owners"], item["status"]) == ([], "live")
    assert ids(node, feed=KEY_B.feed) == []
    assert ids(node, feed=KEY_A.feed) == [launch.id]


def test_status_filters_follow_the_latest_outcome(node: Node) -> None:
    a, b = node.author(KEY_A), node.author(KEY_B)
    live = a.publish("campaign.launched", body("campaign.launched", title="Live one"))
    ended = a.publish("campaign.launched", body("campaign.launched", title="Ended"))
    a.publish(
        "campaign.co_owner_added",
        ref("campaign.co_owner_added", ended, co_owner=KEY_B.feed),
    )
    a.publish(
        "campaign.outcome_declared",
        ref("campaign.outcome_declared", ended, outcome="lost"),
    )
    for _ in range(4):  # so B's clock is ahead of A's declaration
        b.profile()
    # A co-owner's later declaration replaces the owner's.
    won = b.publish(
        "campaign.outcome_declared",
        ref("campaign.outcome_declared", ended, outcome="won", story="We won."),
    )
    node.drain()
    assert ids(node, status="live") == [live.id]
    assert ids(node, status="ended") == ids(node, status="won") == [ended.id]
    assert ids(node, status="lost") == ids(node, status="dropped") == []
    assert ids(node) == [ended.id, live.id]
    full = detail(node, ended.id)
    assert full is not None
    assert full["status"] == "won"
    assert full["outcome"] == {"outcome": "won", "story": "We won.", "ts": won.ts}
    b.redact(won)
    node.drain()
    assert ids(node, status="lost") == [ended.id]


def test_filters_paging_and_near(node: Node) -> None:
    a, b = node.author(KEY_A), node.author(KEY_B)
    net = "sha256:" + "N" * 43
    first = a.publish(
        "campaign.launched",
        body("campaign.launched", area="Upper Rhymney Valley", tags=["food"],
             target={"name": "Valley Foods plc", "kind": "company"}, network=net),
    )  # fmt: skip
    second = a.publish("campaign.launched", body("campaign.launched"))
    b.profile()
    b.profile()
    third = b.publish(
        "campaign.launched",
        body("campaign.launched", title="Bus routes", place={"name": "Far away",
             "lat_e6": 10_000_000, "lon_e6": 10_000_000},
             description="Keep the 43 running.", demands=["Restore the 43."]),
    )  # fmt: skip
    node.drain()
    assert ids(node) == [third.id, second.id, first.id]
    assert ids(node, area="rhymney VALLEY") == [first.id]
    assert ids(node, target="valley FOODS") == [first.id]
    assert ids(node, target_kind="company") == [first.id]
    assert ids(node, tag="food") == [first.id]
    assert ids(node, q="ashvale DEMOLISH") == [second.id, first.id]
    assert ids(node, q="bus routes") == [third.id]
    assert ids(node, q="%") == ids(node, area="_") == ids(node, tag="none") == []
    assert ids(node, feed=KEY_B.feed) == [third.id]
    assert ids(node, network=net) == [first.id]
    grouped = listing(
        node, filters=CampaignFilters(network="sha256:x"), network_groups=(KEY_B.feed,)
    )
    assert [i["id"] for i in grouped] == [third.id]

    near = Near(51_775_000, -3_240_000, 10.0)
    close = listing(node, near=near)
    assert [i["id"] for i in close] == [second.id, first.id]
    assert close[0]["distance_km"] == 0.0

    seen: list[JsonValue] = []
    after: Any = None
    while True:
        page: Any = node.readmodels.query(
            campaigns.list_campaigns, CampaignFilters(), limit=1, after=after
        )
        seen += [campaign_item(i)["id"] for i in page.items]
        if page.next is None:
            break
        after = page.next
        assert isinstance(after, str)
    assert seen == [third.id, second.id, first.id]
    for cursor in ("not a cursor", "WzFd", "WyJhIiwiYiJd"):
        with pytest.raises(InvalidCursorError):
            node.readmodels.query(
                campaigns.list_campaigns, CampaignFilters(), after=cursor
            )


def test_redaction_removes_what_each_event_contributed(node: Node) -> None:
    a, b, c = node.author(KEY_A), node.author(KEY_B), node.author(KEY_C)
    launch = a.publish("campaign.launched", body("campaign.launched"))
    a.publish(
        "campaign.co_owner_added",
        ref("campaign.co_owner_added", launch, co_owner=KEY_B.feed),
    )
    update = b.publish(
        "campaign.updated", ref("campaign.updated", launch, text=PRIVATE_TEXT)
    )
    c.publish(
        "campaign.endorsed", ref("campaign.endorsed", launch, statement="Earlier.")
    )
    latest = c.publish(
        "campaign.endorsed", ref("campaign.endorsed", launch, statement="Later.")
    )
    node.drain()
    b.redact(update)
    c.redact(latest)
    node.drain()
    full = detail(node, launch.id)
    assert full is not None
    assert full["updates"] == []
    assert full["endorsements"] == 1
    endorsed: Any = full["endorsed_by"]
    assert [e["statement"] for e in endorsed] == ["Earlier."]
    assert PRIVATE_TEXT.encode() not in raw_bytes(node.path)
    # Another feed cannot redact the launch; the owner can.
    c.redact(launch)
    node.drain()
    assert ids(node) == [launch.id]
    a.redact(launch)
    node.drain()
    assert ids(node) == []
    assert detail(node, launch.id) is None


def test_blocked_feeds_are_left_out(node: Node) -> None:
    a, b, c = node.author(KEY_A), node.author(KEY_B), node.author(KEY_C)
    launch = a.publish("campaign.launched", body("campaign.launched"))
    a.publish(
        "campaign.co_owner_added",
        ref("campaign.co_owner_added", launch, co_owner=KEY_B.feed),
    )
    b.publish("campaign.updated", ref("campaign.updated", launch))
    b.publish("campaign.outcome_declared", ref("campaign.outcome_declared", launch))
    c.publish("campaign.endorsed", ref("campaign.endorsed", launch))
    own = b.publish("campaign.launched", body("campaign.launched", title="B's own"))
    node.drain()
    blocked = frozenset({KEY_B.feed, KEY_C.feed})
    [item] = listing(node, blocked=blocked)
    assert item["id"] == launch.id
    assert (item["co_owners"], item["endorsements"], item["status"]) == ([], 0, "live")
    assert listing(node, blocked=blocked, filters=CampaignFilters(status="won")) == []
    full = detail(node, launch.id, blocked=blocked)
    assert full is not None
    assert full["updates"] == []
    assert detail(node, own.id, blocked=blocked) is None
    assert detail(node, own.id) is not None


def test_invalid_events_enter_nothing(node: Node) -> None:
    a = node.author(KEY_A)
    a.publish("campaign.launched", {"title": "No target or demands"})
    node.drain()
    assert listing(node) == []
