"""The campaigns routes: listing and a campaign's page across feeds, status
filters, redaction, blocked feeds and hostile parameters."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.http.conftest import Served
from tests.node.conftest import KEY_C, Author, body
from tests.protocol.helpers import KEY_B

LAUNCH = body("campaign.launched")


async def publish(node: Served, event_type: str, content: object) -> dict[str, Any]:
    response = await node.client.post(
        "/api/v1/events",
        data=orjson.dumps({"type": event_type, "body": content}),
        headers=node.organiser,
    )
    assert response.status == 201, await response.text()
    answer: dict[str, Any] = await response.json()
    return answer


async def get(node: Served, path: str, status: int = 200) -> dict[str, Any]:
    response = await node.client.get(path)
    assert response.status == status, await response.text()
    if status != 200:
        assert response.content_type == "application/problem+json"
    answer: dict[str, Any] = await response.json(content_type=None)
    return answer


async def test_a_campaign_with_a_co_owner_and_an_endorsement(node: Served) -> None:
    launch = await publish(node, "campaign.launched", LAUNCH)
    campaign = launch["id"]
    await publish(
        node,
        "campaign.co_owner_added",
        body("campaign.co_owner_added", campaign=campaign, co_owner=KEY_B.feed),
    )
    co_owner, endorser = (
        Author(KEY_B, node.services.store),
        Author(KEY_C, node.services.store),
    )
    co_owner.profile(name="Ebbw Vale Tenants")
    co_owner.publish("campaign.updated", body("campaign.updated", campaign=campaign))
    endorser.publish("campaign.endorsed", body("campaign.endorsed", campaign=campaign))
    await node.projected()

    page = await get(node, "/api/v1/campaigns")
    [item] = page["campaigns"]
    assert page["next"] is None
    assert item["owner"] == {"feed": node.made.feed, "name": "Blaenavon Tenants"}
    assert item["co_owners"] == [{"feed": KEY_B.feed, "name": "Ebbw Vale Tenants"}]
    assert (item["endorsements"], item["status"]) == (1, "live")
    full = await get(node, f"/api/v1/campaigns/{campaign}")
    assert [u["feed"] for u in full["updates"]] == [KEY_B.feed]
    assert [e["feed"] for e in full["endorsed_by"]] == [KEY_C.feed]
    assert full["outcome"] is None
    assert full["actions"] == []

    await publish(
        node,
        "campaign.outcome_declared",
        body("campaign.outcome_declared", campaign=campaign, outcome="partly_won"),
    )
    await node.projected()
    for status, count in (("live", 0), ("ended", 1), ("partly_won", 1), ("won", 0)):
        answer = await get(node, f"/api/v1/campaigns?status={status}")
        assert len(answer["campaigns"]) == count, status
    full = await get(node, f"/api/v1/campaigns/{campaign}")
    assert full["outcome"]["outcome"] == full["status"] == "partly_won"
    page = await get(node, "/api/v1/campaigns")
    assert page["campaigns"][0]["outcome"] == full["outcome"]


async def test_redacted_and_blocked_campaigns_are_not_found(node: Served) -> None:
    own = await publish(node, "campaign.launched", LAUNCH)
    other = Author(KEY_B, node.services.store)
    theirs = other.publish(
        "campaign.launched", body("campaign.launched", title="Theirs")
    )
    endorsed = await publish(
        node, "campaign.endorsed", body("campaign.endorsed", campaign=theirs.id)
    )
    await node.projected()
    full = await get(node, f"/api/v1/campaigns/{theirs.id}")
    assert full["endorsements"] == 1
    await publish(node, "event.redacted", {"id": endorsed["id"]})
    await publish(node, "event.redacted", {"id": own["id"]})
    await node.projected()
    full = await get(node, f"/api/v1/campaigns/{theirs.id}")
    assert (full["endorsements"], full["endorsed_by"]) == (0, [])
    problem = await get(node, f"/api/v1/campaigns/{own['id']}", 404)
    assert problem["code"] == "not-found"
    node.services.store.federation.block(KEY_B.feed, "feed", now=1)
    await get(node, f"/api/v1/campaigns/{theirs.id}", 404)
    assert (await get(node, "/api/v1/campaigns"))["campaigns"] == []


async def test_filters_and_paging(node: Served) -> None:
    first = await publish(
        node, "campaign.launched", body("campaign.launched", tags=["rent"])
    )
    second = await publish(node, "campaign.launched", LAUNCH)
    await node.projected()
    page = await get(node, "/api/v1/campaigns?limit=1")
    assert [c["id"] for c in page["campaigns"]] == [second["id"]]
    page = await get(node, f"/api/v1/campaigns?limit=1&after={page['next']}")
    assert [c["id"] for c in page["campaigns"]] == [first["id"]]
    page = await get(
        node, "/api/v1/campaigns?tag=rent&area=TREDEGAR&target_kind=council"
    )
    assert [c["id"] for c in page["campaigns"]] == [first["id"]]
    page = await get(node, f"/api/v1/campaigns?feed={node.made.feed}&q=ashvale")
    assert len(page["campaigns"]) == 2
    page = await get(node, "/api/v1/campaigns?lat=51.775&lon=-3.24&within_km=5")
    assert [c["distance_km"] for c in page["campaigns"]] == [0.0, 0.0]
    page = await get(node, "/api/v1/campaigns?lat=10&lon=10")
    assert page["campaigns"] == []
    page = await get(node, "/api/v1/campaigns?limit=100000")
    assert len(page["campaigns"]) == 2


@pytest.mark.parametrize(
    "query",
    [
        "status=winning",
        "status=" + "x" * 5000,
        "target_kind=church",
        "limit=0",
        "limit=many",
        "after=not-a-cursor",
        "after=WzFd",
        "after=WzkyMjMzNzIwMzY4NTQ3NzU4MDcsIngiXQ",
        "feed=ed25519:nope",
        "network=sha256:nope",
        "lat=51.7",
        "within_km=5",
        "lat=91&lon=0",
        "q=" + "w" * 201,
    ],
)
async def test_hostile_parameters_are_malformed(node: Served, query: str) -> None:
    problem = await get(node, f"/api/v1/campaigns?{query}", 400)
    assert problem["code"] == "malformed"


async def test_unknown_campaigns_are_not_found(node: Served) -> None:
    problem = await get(node, "/api/v1/campaigns/sha256:" + "A" * 43, 404)
    assert problem["code"] == "not-found"


@pytest.mark.parametrize(
    "campaign", ["nope", "sha256:" + "%25" * 20, "sha256:" + "B" * 43, "x" * 300]
)
async def test_malformed_campaign_ids_are_bad_requests(
    node: Served, campaign: str
) -> None:
    problem = await get(node, f"/api/v1/campaigns/{campaign}", 400)
    assert problem["code"] == "malformed"
