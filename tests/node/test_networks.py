"""The networks read model: membership by join, leave and re-join, in either
arrival order; listing filters and paging; redaction and blocked feeds."""

from __future__ import annotations

from typing import Any

import pytest

from node.projections import InvalidCursorError, networks
from node.projections.geo import Near
from protocol import Event, JsonObject, JsonValue, sign
from tests.node.conftest import KEY_C, Node, body
from tests.protocol.helpers import KEY_A, KEY_B, T0

NETWORK_KEYS = {
    "id", "feed", "convenor", "name", "kind", "description", "area", "place",
    "tags", "url", "members", "formed_at",
}  # fmt: skip


def joined(network: Event) -> JsonObject:
    return body("network.joined", network=network.id)


def left(network: Event) -> JsonObject:
    return body("network.left", network=network.id)


def members(node: Node, network: Event, **kwargs: Any) -> tuple[str, ...]:
    return node.readmodels.query(networks.member_feeds, network.id, **kwargs)


def listing(node: Node, **kwargs: Any) -> list[JsonValue]:
    page = node.readmodels.query(networks.list_networks, **kwargs)
    items = page["networks"]
    assert isinstance(items, list)
    return [item["id"] for item in items if isinstance(item, dict)]


@pytest.mark.parametrize(
    "formed_first", [True, False], ids=["formed-first", "joins-first"]
)
def test_members_join_leave_and_rejoin(node: Node, formed_first: bool) -> None:
    a, b, c = node.author(KEY_A), node.author(KEY_B), node.author(KEY_C)
    a.profile(name="Tredegar Tenants", area="Tredegar")
    b.profile(name="Ebbw Vale Tenants", area="Ebbw Vale")
    node.drain()
    formed_body = body("network.formed")
    if formed_first:
        network = a.publish("network.formed", formed_body)
        node.drain()
        b.publish("network.joined", joined(network))
        c.publish("network.joined", joined(network))
    else:
        # The joining groups' nodes saw the network first; this node gets
        # their joins before the network.formed itself.
        network = sign(KEY_A, a.head, T0 + 2000, "network.formed", formed_body)
        b.publish("network.joined", joined(network))
        c.publish("network.joined", joined(network))
        node.drain()
        assert members(node, network) == ()
        assert node.store.append([network])
        a.head = network
    node.drain()
    # The convenor first, then by joining (C's join is older by its clock).
    assert members(node, network) == (KEY_A.feed, KEY_C.feed, KEY_B.feed)

    found = node.readmodels.query(networks.get_network, network.id)
    assert found is not None
    assert set(found) == NETWORK_KEYS | {"groups"}
    assert found["members"] == 3
    assert found["convenor"] == {"feed": KEY_A.feed, "name": "Tredegar Tenants"}
    groups = found["groups"]
    assert isinstance(groups, list)
    assert [g["name"] for g in groups if isinstance(g, dict)] == [
        "Tredegar Tenants", None, "Ebbw Vale Tenants"
    ]  # fmt: skip
    first = groups[2]
    assert isinstance(first, dict)
    assert set(first) == {"feed", "name", "area", "joined_at"}
    assert first["area"] == "Ebbw Vale"

    b.publish("network.left", left(network))
    node.drain()
    assert members(node, network) == (KEY_A.feed, KEY_C.feed)
    assert node.readmodels.query(networks.networks_of, KEY_B.feed) == []
    rejoin = b.publish("network.joined", joined(network))
    node.drain()
    assert members(node, network) == (KEY_A.feed, KEY_C.feed, KEY_B.feed)
    [of_b] = node.readmodels.query(networks.networks_of, KEY_B.feed)
    assert isinstance(of_b, dict)
    assert (of_b["id"], of_b["members"]) == (network.id, 3)

    # A redacted join no longer makes its group a member: the group's
    # previous word on the network (here: it left) decides.
    b.redact(rejoin)
    node.drain()
    assert members(node, network) == (KEY_A.feed, KEY_C.feed)


def test_redacted_formed_hides_the_network(node: Node) -> None:
    a, c = node.author(KEY_A), node.author(KEY_C)
    network = a.publish("network.formed", body("network.formed"))
    join = c.publish("network.joined", joined(network))
    node.drain()
    c.redact(join)
    node.drain()
    assert members(node, network) == (KEY_A.feed,)
    c.redact(network)  # another feed's redaction changes nothing
    node.drain()
    assert listing(node) == [network.id]
    a.redact(network)
    node.drain()
    assert listing(node) == []
    assert node.readmodels.query(networks.get_network, network.id) is None
    assert members(node, network) == ()


def test_listing_filters_paging_and_near(node: Node) -> None:
    a, b = node.author(KEY_A), node.author(KEY_B)
    valleys = a.publish("network.formed", body("network.formed"))
    unemployed = b.publish(
        "network.formed",
        body("network.formed", name="Unemployed Workers' Network", kind="thematic",
             tags=["unemployed"], area="Wales", description="Claimants together.",
             place={"name": "Far", "lat_e6": 10_000_000, "lon_e6": 10_000_000}),
    )  # fmt: skip
    node.drain()
    assert listing(node) == [valleys.id, unemployed.id]
    assert listing(node, kind="thematic") == [unemployed.id]
    assert listing(node, tag="rural") == [valleys.id]
    assert listing(node, q="CLAIMANTS wales") == [unemployed.id]
    assert listing(node, q="%") == listing(node, kind="coalition") == []
    near = Near(51_780_000, -3_200_000, 5.0)
    page: Any = node.readmodels.query(networks.list_networks, near=near)
    [item] = page["networks"]
    assert isinstance(item, dict)
    assert (item["id"], item["distance_km"]) == (valleys.id, 0.0)

    first = node.readmodels.query(networks.list_networks, limit=1)
    assert isinstance(first["next"], str)
    second: Any = node.readmodels.query(
        networks.list_networks, limit=1, after=first["next"]
    )
    assert [n["id"] for n in second["networks"]] == [unemployed.id]
    for cursor in ("not a cursor", "WzFd"):
        with pytest.raises(InvalidCursorError):
            node.readmodels.query(networks.list_networks, after=cursor)


def test_blocked_feeds_are_left_out(node: Node) -> None:
    a, b, c = node.author(KEY_A), node.author(KEY_B), node.author(KEY_C)
    network = a.publish("network.formed", body("network.formed"))
    b.publish("network.joined", joined(network))
    c.publish("network.joined", joined(network))
    other = b.publish("network.formed", body("network.formed", name="B's own"))
    node.drain()
    blocked = frozenset({KEY_B.feed})
    assert listing(node, blocked=blocked) == [network.id]
    assert members(node, network, blocked=blocked) == (KEY_A.feed, KEY_C.feed)
    found = node.readmodels.query(networks.get_network, network.id, blocked=blocked)
    assert found is not None
    assert found["members"] == 2
    assert (
        node.readmodels.query(networks.get_network, other.id, blocked=blocked) is None
    )
    assert (
        node.readmodels.query(networks.networks_of, KEY_B.feed, blocked=blocked) == []
    )
