"""The network decision routes: a decision across three feeds through the API,
votes and results from this node, the automatic result published once,
refusals, redaction, blocked feeds and hostile parameters."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import orjson

from protocol import SigningKey
from tests.http.conftest import Served
from tests.http.test_openapi import check_answer
from tests.node.conftest import KEY_C, Author, body
from tests.protocol.helpers import KEY_B

if TYPE_CHECKING:
    from tests.http.test_permissions import Call, World

HOUR = 3_600_000
KEY_D = SigningKey.from_seed(bytes(range(96, 128)))
UNHELD = "sha256:" + "A" * 43
DECISION = "/api/v1/network-decisions/{id}"


async def publish(node: Served, event_type: str, content: object) -> dict[str, Any]:
    response = await node.client.post(
        "/api/v1/events",
        data=orjson.dumps({"type": event_type, "body": content}),
        headers=node.organiser,
    )
    assert response.status == 201, await response.text()
    answer: dict[str, Any] = await response.json()
    return answer


async def request(
    node: Served,
    method: str,
    url: str,
    status: int,
    content: object = None,
    headers: dict[str, str] | None = None,
) -> Any:
    response = await node.client.request(
        method,
        url,
        data=None if content is None else orjson.dumps(content),
        headers=node.organiser if headers is None else headers,
    )
    text = await response.text()
    assert response.status == status, text
    if status >= 400:
        assert response.content_type == "application/problem+json"
    return orjson.loads(text) if text else None


def opened(network: str, closes_at: int, **changes: Any) -> dict[str, Any]:
    return {
        **body("network.decision_opened", network=network, closes_at=closes_at),
        **changes,
    }


async def network_of_three(node: Served) -> tuple[str, Author, Author, Author]:
    """This node convenes a network that B and C join; D stays outside."""
    network = (await publish(node, "network.formed", body("network.formed")))["id"]
    store = node.services.store
    b, c, d = Author(KEY_B, store), Author(KEY_C, store), Author(KEY_D, store)
    for author, name in ((b, "Ebbw Vale"), (c, "Rhymney"), (d, "Cwm")):
        author.profile(name=name)
    for author in (b, c):
        author.publish("network.joined", body("network.joined", network=network))
    return network, b, c, d


async def closed_decision(world: World, caller: str, headers: dict[str, str]) -> Call:
    """A decision of the node's network that closed a moment ago."""
    from tests.http.test_permissions import Call

    network = (await world.ids())["network.formed"]
    content = opened(network, int(time.time() * 1000) - 1)
    made = await world.organiser_call(
        "POST",
        "/api/v1/events",
        {"type": "network.decision_opened", "body": content},
    )
    await world.served.projected()
    return Call({"id": made["id"]}, body={"text": "Decided."})


async def test_a_decision_across_three_feeds(node: Served) -> None:
    network, b, c, d = await network_of_three(node)
    now = node.services.clock()
    decision = (
        await publish(node, "network.decision_opened", opened(network, now + HOUR))
    )["id"]
    vote = {"decision": decision, "choice": "tredegar"}
    b.publish("network.delegate_vote_cast", {**vote, "choice": "rhymney"})
    b.publish("network.delegate_vote_cast", {**vote, "choice": "ebbw-vale"})
    c.publish("network.delegate_vote_cast", {**vote, "choice": "ebbw-vale"})
    d.publish("network.delegate_vote_cast", {**vote, "choice": "rhymney"})
    url = f"/api/v1/network-decisions/{decision}"
    await request(node, "PUT", url + "/vote", 201, {"choice": "rhymney"})
    cast = await request(
        node, "PUT", url + "/vote", 201, {"choice": "tredegar", "reason": "Ours."}
    )
    assert cast["type"] == "network.delegate_vote_cast"
    await node.projected()

    shown = await check_answer(await node.client.get(url), DECISION, status=200)
    assert shown["status"] == "open"
    assert shown["tally"]["result"] == "ebbw-vale"
    assert shown["tally"]["groups"] == 3
    assert {v["feed"]: v["choice"] for v in shown["votes"]} == {
        node.made.feed: "tredegar",
        KEY_B.feed: "ebbw-vale",
        KEY_C.feed: "ebbw-vale",
    }
    await request(node, "POST", url + "/decide", 409)  # still open

    node.services.clock = lambda: now + 2 * HOUR
    await request(node, "PUT", url + "/vote", 409, {"choice": "rhymney"})
    made = await request(
        node, "POST", url + "/decide", 201, {"text": "Ebbw Vale it is."}
    )
    assert made["type"] == "network.decision_made"
    assert made["body"]["result"] == "ebbw-vale"
    assert len(made["body"]["votes"]) == 3
    await request(node, "POST", url + "/decide", 409)
    assert await node.services.delegates.decide_due() == []
    await node.projected()
    shown = await check_answer(await node.client.get(url), DECISION, status=200)
    assert (shown["status"], shown["tally"]) == ("decided", None)
    result = shown["result"]
    assert (result["result"], result["counted_from"], result["groups"]) == (
        "ebbw-vale",
        "votes",
        3,
    )
    assert result["text"] == "Ebbw Vale it is."
    listing = f"/api/v1/networks/{network}/decisions"
    page = await check_answer(
        await node.client.get(listing), "/api/v1/networks/{id}/decisions", status=200
    )
    assert [item["id"] for item in page["decisions"]] == [decision]


async def test_the_automatic_result_is_published_once(node: Served) -> None:
    delegates = node.services.delegates
    await delegates.stop()
    network, b, _, _ = await network_of_three(node)
    now = node.services.clock()
    decision = (
        await publish(node, "network.decision_opened", opened(network, now + HOUR))
    )["id"]
    b.publish("network.delegate_vote_cast", {"decision": decision, "choice": "rhymney"})
    await node.projected()
    assert await delegates.decide_due() == []  # not closed yet
    node.services.clock = lambda: now + 2 * HOUR
    first, second = await asyncio.gather(delegates.decide_due(), delegates.decide_due())
    assert len(first) + len(second) == 1

    delegates.interval = 0.02
    delegates.start()
    for _ in range(250):  # at most 5 seconds
        if await results(node):
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)  # several more rounds of the task
    await delegates.stop()
    [made] = await results(node)
    assert made["body"]["votes"] == [b.head.id]  # type: ignore[union-attr]
    assert made["body"]["result"] == "rhymney"


async def results(node: Served) -> list[dict[str, Any]]:
    response = await node.client.get(
        "/api/v1/events",
        params={"feed": node.made.feed, "type": "network.decision_made"},
    )
    events: list[dict[str, Any]] = (await response.json())["events"]
    return events


async def test_votes_and_results_that_are_refused(node: Served) -> None:
    network, b, _, _ = await network_of_three(node)
    now = node.services.clock()
    mine = await publish(node, "network.decision_opened", opened(network, now + HOUR))
    url = f"/api/v1/network-decisions/{mine['id']}"
    # B convenes a network this group is not in, and another it joins.
    theirs = b.publish("network.formed", body("network.formed"))
    outside = b.publish(
        "network.decision_opened", opened(theirs.id, now - 1, kind="choose_one")
    )
    await publish(node, "network.joined", {"network": theirs.id})
    await node.projected()
    member = {"Authorization": f"Bearer {node.token('member')}"}
    refusals: list[tuple[str, str, int, object, dict[str, str] | None]] = [
        ("PUT", url + "/vote", 401, {"choice": "rhymney"}, {}),
        ("PUT", url + "/vote", 403, {"choice": "rhymney"}, member),
        ("POST", url + "/decide", 403, {}, member),
        ("PUT", url + "/vote", 422, {"choice": "nowhere"}, None),
        ("PUT", url + "/vote", 422, {"ranking": ["rhymney"]}, None),
        ("PUT", url + "/vote", 422, {}, None),
        ("PUT", url + "/vote", 422, {"choice": "rhymney", "reason": ""}, None),
        ("PUT", url + "/vote", 400, {"choice": "rhymney", "decision": UNHELD}, None),
        ("PUT", url + "/vote", 400, {"choice": 3}, None),
        ("PUT", url + "/vote", 400, ["rhymney"], None),
        ("PUT", url + "/vote", 413, {"reason": "x" * 20_000}, None),
        ("PUT", "/api/v1/network-decisions/nope/vote", 400, {"choice": "a"}, None),
        ("PUT", f"/api/v1/network-decisions/{UNHELD}/vote", 404, {"choice": "a"}, None),
        ("POST", url + "/decide", 400, {"text": 1}, None),
        ("POST", url + "/decide", 409, None, None),
        (
            "POST",
            f"/api/v1/network-decisions/{outside.id}/decide",
            403,
            None,
            None,
        ),
        (
            "PUT",
            f"/api/v1/network-decisions/{outside.id}/vote",
            409,
            {"choice": "rhymney"},
            None,
        ),
    ]
    for method, path, status, content, headers in refusals:
        await request(node, method, path, status, content, headers)
    # Not a member of B's first network... until it joins: then open votes pass.
    late = b.publish("network.decision_opened", opened(theirs.id, now + HOUR))
    await node.projected()
    await request(
        node,
        "PUT",
        f"/api/v1/network-decisions/{late.id}/vote",
        201,
        {"choice": "rhymney"},
    )
    stranger = b.publish("network.formed", body("network.formed", name="Elsewhere"))
    away = b.publish("network.decision_opened", opened(stranger.id, now + HOUR))
    await node.projected()
    path = f"/api/v1/network-decisions/{away.id}/vote"
    await request(node, "PUT", path, 409, {"choice": "rhymney"})
    events = await node.client.get("/api/v1/events", params={"feed": node.made.feed})
    cast = [
        e
        for e in (await events.json())["events"]
        if e["type"] == "network.delegate_vote_cast"
    ]
    assert len(cast) == 1  # nothing refused was stored


async def test_hostile_parameters_redaction_and_blocked_feeds(node: Served) -> None:
    network, b, c, _ = await network_of_three(node)
    now = node.services.clock()
    decisions = [
        (
            await publish(
                node, "network.decision_opened", opened(network, now + HOUR + n)
            )
        )["id"]
        for n in range(3)
    ]
    b.publish(
        "network.delegate_vote_cast", {"decision": decisions[0], "choice": "rhymney"}
    )
    c.publish(
        "network.delegate_vote_cast", {"decision": decisions[0], "choice": "rhymney"}
    )
    await node.projected()
    listing = f"/api/v1/networks/{network}/decisions"
    for query, status in [
        ("?limit=x", 400),
        ("?limit=0", 400),
        ("?after=%ZZ", 400),
        ("?after=" + "A" * 301, 400),
        ("?after=bm90IGEgY3Vyc29y", 400),
    ]:
        await request(node, "GET", listing + query, status)
    await request(node, "GET", f"/api/v1/networks/{UNHELD}/decisions", 404)
    await request(node, "GET", "/api/v1/networks/nope/decisions", 400)
    await request(node, "GET", "/api/v1/network-decisions/nope", 400)
    await request(node, "GET", f"/api/v1/network-decisions/{UNHELD}", 404)
    first = await request(node, "GET", listing + "?limit=2", 200)
    rest = await request(node, "GET", f"{listing}?limit=2&after={first['next']}", 200)
    assert [d["id"] for d in first["decisions"] + rest["decisions"]] == decisions[::-1]
    assert rest["next"] is None

    url = f"/api/v1/network-decisions/{decisions[0]}"
    node.services.store.federation.block(KEY_B.feed, "feed", now=1)
    shown = await request(node, "GET", url, 200)
    assert KEY_B.feed not in str(shown)
    assert shown["tally"]["groups"] == 1
    node.services.store.federation.unblock(KEY_B.feed)

    await publish(node, "event.redacted", {"id": decisions[0]})
    await node.projected()
    await request(node, "GET", url, 404)
    page = await request(node, "GET", listing, 200)
    assert decisions[0] not in [d["id"] for d in page["decisions"]]
