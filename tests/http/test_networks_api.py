"""The networks routes: a network's groups and campaigns as groups join and
leave, the listing, redaction, blocked feeds and hostile parameters."""

from __future__ import annotations

import pytest

from protocol import JsonObject
from tests.http.conftest import Served
from tests.http.test_campaigns_api import get, publish
from tests.node.conftest import KEY_C, Author, body
from tests.protocol.helpers import KEY_B


async def test_a_network_lists_its_groups_and_their_campaigns(node: Served) -> None:
    formed = await publish(node, "network.formed", body("network.formed"))
    network = formed["id"]
    run_by_it = await publish(
        node, "campaign.launched", body("campaign.launched", network=network)
    )
    member, outsider = (
        Author(KEY_B, node.services.store),
        Author(KEY_C, node.services.store),
    )
    member.profile(name="Ebbw Vale Tenants", area="Ebbw Vale")
    joined = member.publish("network.joined", body("network.joined", network=network))
    theirs = member.publish("campaign.launched", body("campaign.launched", title="B"))
    outsider.publish("campaign.launched", body("campaign.launched", title="C"))
    await node.projected()

    page = await get(node, "/api/v1/networks")
    [item] = page["networks"]
    assert page["next"] is None
    assert (item["id"], item["feed"], item["members"]) == (network, node.made.feed, 2)
    assert item["convenor"] == {"feed": node.made.feed, "name": "Blaenavon Tenants"}
    full = await get(node, f"/api/v1/networks/{network}")
    assert full["groups"] == [
        {"feed": node.made.feed, "name": "Blaenavon Tenants", "area": "Blaenavon",
         "joined_at": formed["ts"]},
        {"feed": KEY_B.feed, "name": "Ebbw Vale Tenants", "area": "Ebbw Vale",
         "joined_at": joined.ts},
    ]  # fmt: skip
    assert [c["id"] for c in full["campaigns"]] == [run_by_it["id"], theirs.id]
    assert full["campaigns_next"] is None
    listed = await get(node, f"/api/v1/campaigns?network={network}")
    assert listed["campaigns"] == full["campaigns"]

    member.publish("network.left", body("network.left", network=network))
    await node.projected()
    full = await get(node, f"/api/v1/networks/{network}")
    assert [g["feed"] for g in full["groups"]] == [node.made.feed]
    assert [c["id"] for c in full["campaigns"]] == [run_by_it["id"]]


async def test_a_network_lists_its_groups_coming_meetings(node: Served) -> None:
    network = (await publish(node, "network.formed", body("network.formed")))["id"]
    member, outsider = (
        Author(KEY_B, node.services.store),
        Author(KEY_C, node.services.store),
    )
    member.profile(name="Ebbw Vale Tenants")
    member.publish("network.joined", body("network.joined", network=network))
    soon = node.services.clock() + 86_400_000

    def meeting(title: str, days: int) -> JsonObject:
        once = body(
            "meeting.scheduled",
            title=title,
            kind="campaign_planning",
            starts_at=soon + days * 86_400_000,
            ends_at=soon + days * 86_400_000 + 3_600_000,
            tz="Europe/London",
            place={"name": "The Institute"},
        )
        once.pop("recurrence", None)
        return once

    own = await publish(node, "meeting.scheduled", meeting("Ours", 2))
    theirs = member.publish("meeting.scheduled", meeting("Theirs", 1))
    outsider.publish("meeting.scheduled", meeting("Not a member's", 1))
    member.publish("meeting.scheduled", meeting("Too far ahead", 120))
    await node.projected()
    full = await get(node, f"/api/v1/networks/{network}")
    assert [m["id"] for m in full["meetings"]] == [theirs.id, own["id"]]
    assert full["meetings"][0]["host"] == {
        "feed": KEY_B.feed,
        "name": "Ebbw Vale Tenants",
    }


async def test_listing_filters_redaction_and_blocking(node: Served) -> None:
    own = (await publish(node, "network.formed", body("network.formed")))["id"]
    other = Author(KEY_B, node.services.store)
    theirs = other.publish(
        "network.formed",
        body("network.formed", name="Unemployed", kind="thematic", area="Wales",
             description="Claimants together.", tags=["unemployed"],
             place={"name": "Far", "lat_e6": 10_000_000, "lon_e6": 10_000_000}),
    )  # fmt: skip
    await node.projected()
    page = await get(node, "/api/v1/networks?kind=thematic")
    assert [n["id"] for n in page["networks"]] == [theirs.id]
    page = await get(node, "/api/v1/networks?q=gwent&tag=rural")
    assert [n["id"] for n in page["networks"]] == [own]
    page = await get(node, "/api/v1/networks?lat=51.78&lon=-3.2&within_km=1")
    assert [n["distance_km"] for n in page["networks"]] == [0.0]
    page = await get(node, "/api/v1/networks?limit=1")
    page = await get(node, f"/api/v1/networks?limit=1&after={page['next']}")
    assert [n["id"] for n in page["networks"]] == [theirs.id]

    node.services.store.federation.block(KEY_B.feed, "feed", now=1)
    await get(node, f"/api/v1/networks/{theirs.id}", 404)
    await publish(node, "event.redacted", {"id": own})
    await node.projected()
    problem = await get(node, f"/api/v1/networks/{own}", 404)
    assert problem["code"] == "not-found"
    assert (await get(node, "/api/v1/networks"))["networks"] == []


@pytest.mark.parametrize(
    "query",
    ["kind=county", "limit=-1", "limit=x", "after=garbage", "after=WzFd", "near_group="
     + "x" * 61, "tag=" + "t" * 33, "lon=3"],
)  # fmt: skip
async def test_hostile_parameters_are_malformed(node: Served, query: str) -> None:
    problem = await get(node, f"/api/v1/networks?{query}", 400)
    assert problem["code"] == "malformed"


async def test_unknown_networks_are_not_found(node: Served) -> None:
    problem = await get(node, "/api/v1/networks/sha256:" + "A" * 43, 404)
    assert problem["code"] == "not-found"


@pytest.mark.parametrize("network", ["nope", "sha256:" + "B" * 43, "sha256:" * 40])
async def test_malformed_network_ids_are_bad_requests(
    node: Served, network: str
) -> None:
    problem = await get(node, f"/api/v1/networks/{network}", 400)
    assert problem["code"] == "malformed"
