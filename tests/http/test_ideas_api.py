"""Ideas, support, proposals, votes, decisions and tasks through the API.

The whole chain on one node in-process (idea → support counts → proposal →
votes → decision → tasks and an action → outcome), the automatic decision at
close (exactly once, across a restart), privacy of supports and votes, the
member's export and erasure, and hostile input.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from node.services.runtime import NodeServices
from node.storage.private import TokenGrant
from protocol import Event, FeedId, JsonObject, JsonValue, sign
from tests.http.conftest import ClientFactory, make_settings
from tests.http.test_rsvps_api import Node, started
from tests.protocol.helpers import KEY_B, T0

VOTERS = ("Angharad Secret-Ballot", "Bryn Secret-Ballot", "Ceri Secret-Ballot")
REASON = "Because the Zymurgic bakery closes early"
HOUR = 3_600_000
CONSENT: list[JsonValue] = [
    {"id": "yes", "label": "Yes"},
    {"id": "no", "label": "No"},
    {"id": "abstain", "label": "Abstain"},
    {"id": "block", "label": "Block"},
]


@pytest.fixture
async def node(tmp_path: Path, aiohttp_client: ClientFactory) -> AsyncIterator[Node]:
    async for running in started(tmp_path, aiohttp_client):
        yield running


async def publish(node: Node, event_type: str, body: JsonObject) -> str:
    request = {"type": event_type, "body": body}
    status, event = await node.call("POST", "/api/v1/events", request, **node.org)
    assert status == 201, event
    return str(event["id"])


async def open_proposal(node: Node, **changes: Any) -> str:
    body: JsonObject = {
        "title": "Run a street stall on Saturdays",
        "kind": "consent",
        "options": CONSENT,
        "closes_at": int(time.time() * 1000) + 24 * HOUR,
        **changes,
    }
    return await publish(node, "proposal.opened", body)


async def own(node: Node, event_type: str) -> list[Event]:
    events = await node.services.read(node.services.store.read, node.feed, 0, 1000)
    return [e for e in events if e.type == event_type]


async def projected(node: Node) -> None:
    await node.served.projected()


# --- the whole chain --------------------------------------------------------


async def test_idea_to_outcome_chain(node: Node) -> None:
    angharad = await node.join(VOTERS[0], "angharad")
    bryn = await node.join(VOTERS[1], "bryn")
    ceri = await node.join(VOTERS[2], "ceri")
    # An idea, proposed by a member who asked to be named, and one who did not.
    status, idea = await node.call(
        "POST",
        "/api/v1/ideas",
        {"title": "A street stall", "tags": ["outreach"], "named": True},
        **angharad,
    )
    assert status == 201, idea
    assert idea["body"]["proposer_display_name"] == VOTERS[0]
    _, quiet = await node.call("POST", "/api/v1/ideas", {"title": "Quiet"}, **bryn)
    assert "proposer_display_name" not in quiet["body"]
    # Support: counted, published only when the count changes.
    support = f"/api/v1/ideas/{idea['id']}/support"
    for who, count in ((angharad, 1), (bryn, 2), (bryn, 2)):
        status, answer = await node.call("PUT", support, None, **who)
        assert (status, answer) == (
            200, {"idea": idea["id"], "supporters": count, "supported": True}
        )  # fmt: skip
    assert [e.body for e in await own(node, "idea.support_counted")] == [
        {"idea": idea["id"], "supporters": 1},
        {"idea": idea["id"], "supporters": 2},
    ]
    assert (await node.call("DELETE", support, None, **bryn))[0] == 204
    await projected(node)
    _, shown = await node.call("GET", f"/api/v1/ideas/{idea['id']}")
    assert (shown["supporters"], shown["status"]) == (1, "open")
    _, quiet_shown = await node.call("GET", f"/api/v1/ideas/{quiet['id']}")
    assert quiet_shown["proposer"] == "a member"
    # A proposal from the idea; votes, changed and withdrawn.
    proposal = await open_proposal(node, idea=idea["id"])
    vote = f"/api/v1/proposals/{proposal}/vote"
    for who, choice in ((angharad, "no"), (bryn, "yes"), (ceri, "yes")):
        status, answer = await node.call(
            "PUT", vote, {"choice": choice, "reason": REASON}, **who
        )
        assert status == 200, answer
    await node.call("PUT", vote, {"choice": "yes"}, **angharad)  # changed
    assert (await node.call("DELETE", vote, None, **ceri))[0] == 204
    _, mine = await node.call("GET", vote, **angharad)
    assert mine["vote"]["choice"] == "yes"
    assert mine["vote"]["reason"] is None
    _, counts = await node.call(
        "GET", f"/api/v1/proposals/{proposal}/votes", **node.org
    )
    assert counts["voters"] == 2
    assert {c["option"]: c["votes"] for c in counts["counts"]}["yes"] == 2
    # Decided by an organiser: the counts are those of the private votes.
    status, decided = await node.call(
        "POST", f"/api/v1/proposals/{proposal}/decide", {"text": "Agreed."}, **node.org
    )
    assert status == 201, decided
    assert decided["body"]["result"] == "yes"
    assert decided["body"]["voters"] == 2
    assert decided["body"]["eligible"] >= 3
    assert decided["body"]["counts"][0] == {"option": "yes", "votes": 2}
    status, refused = await node.call("PUT", vote, {"choice": "no"}, **ceri)
    assert (status, refused["code"]) == (409, "conflict")
    again = f"/api/v1/proposals/{proposal}/decide"
    assert (await node.call("POST", again, None, **node.org))[0] == 409
    decision = decided["id"]
    # Tasks (one named with consent), an action and a campaign that is won.
    _, me = await node.call("GET", "/api/v1/me", **bryn)
    task_body = {"title": "Print leaflets", "decision": decision}
    status, named_task = await node.call(
        "POST",
        "/api/v1/tasks",
        {**task_body, "owner_account": me["id"], "named": True},
        **node.org,
    )
    assert status == 201, named_task
    assert named_task["body"]["owner_display_name"] == VOTERS[1]
    _, quiet_task = await node.call(
        "POST", "/api/v1/tasks", {**task_body, "owner_account": me["id"]}, **node.org
    )
    assert "owner_display_name" not in quiet_task["body"]
    await publish(node, "task.completed", {"task": named_task["id"]})
    campaign = await publish(
        node,
        "campaign.launched",
        {
            "title": "Stall campaign",
            "target": {"name": "Market hall", "kind": "council"},
            "demands": ["A free pitch"],
            "decision": decision,
        },
    )
    await publish(
        node,
        "campaign.action_called",
        {
            "campaign": campaign,
            "title": "First stall",
            "text": "Bring a table",
            "starts_at": int(time.time() * 1000) + 48 * HOUR,
            "tz": "Europe/London",
            "decision": decision,
        },
    )
    await publish(
        node, "campaign.outcome_declared", {"campaign": campaign, "outcome": "won"}
    )
    await projected(node)
    status, chain = await node.call("GET", f"/api/v1/decisions/{decision}")
    assert status == 200, chain
    assert chain["decision"]["outcome"] == "agreed"
    assert chain["proposal"]["id"] == proposal
    assert chain["proposal"]["status"] == "decided"
    assert chain["idea"]["id"] == idea["id"]
    assert chain["idea"]["status"] == "decided"
    assert chain["progress"] == {
        "tasks_total": 2, "tasks_done": 1, "actions": 1, "outcome": "won"
    }  # fmt: skip
    owners = sorted(task["owner"] for task in chain["tasks"])
    assert owners == sorted([VOTERS[1], "a member"])
    assert [c["id"] for c in chain["campaigns"]] == [campaign]
    _, tasks = await node.call("GET", f"/api/v1/tasks?decision={decision}&status=open")
    assert [t["id"] for t in tasks["tasks"]] == [quiet_task["id"]]
    _, decided_list = await node.call("GET", "/api/v1/proposals?status=decided")
    assert [p["id"] for p in decided_list["proposals"]] == [proposal]
    await assert_nothing_private(node, [VOTERS[2], REASON], [decision, proposal])
    # The member's export lists their supports and votes.
    _, exported = await node.call("GET", "/api/v1/me/export", **angharad)
    assert [s["idea"] for s in exported["supports"]] == [idea["id"]]
    assert [(v["proposal"], v["choice"]) for v in exported["votes"]] == [
        (proposal, "yes")
    ]


async def assert_nothing_private(
    node: Node, secrets: list[str], ids: list[str]
) -> None:
    """No public answer or federation feed holds names of voters or reasons."""
    paths = [
        "/api/v1/events?limit=500",
        f"/fed/v1/feeds/{node.feed}",
        "/api/v1/ideas",
        "/api/v1/proposals",
        "/api/v1/tasks",
        "/api/v1/search?q=stall",
        *(f"/api/v1/decisions/{i}" for i in ids[:1]),
        *(f"/api/v1/proposals/{i}" for i in ids[1:]),
    ]
    for path in paths:
        response = await node.served.client.get(path)
        text = await response.text()
        for secret in secrets:
            assert secret not in text, (path, secret)


# --- votes of each kind, and closing ------------------------------------------


async def test_votes_are_checked_against_the_kind(node: Node) -> None:
    member = node.bearer()
    options = [{"id": o, "label": o.title()} for o in ("red", "green", "blue")]
    rank = await open_proposal(node, kind="rank", options=options)
    vote = f"/api/v1/proposals/{rank}/vote"
    unfit: list[object] = [
        {"choice": "red"}, {"ranking": []}, {"ranking": ["red", "red"]},
        {"ranking": ["purple"]}, {},
    ]  # fmt: skip
    for bad in unfit:
        status, problem = await node.call("PUT", vote, bad, **member)
        assert (status, problem["code"]) == (422, "schema"), bad
    malformed: list[object] = [
        {"ranking": "red"}, {"ranking": [1]}, {"choice": 3}, {"x": 1}, [],
    ]  # fmt: skip
    for bad in malformed:
        status, problem = await node.call("PUT", vote, bad, **member)
        assert (status, problem["code"]) == (400, "malformed"), bad
    status, answer = await node.call(
        "PUT", vote, {"ranking": ["blue", "red"]}, **member
    )
    assert (status, answer["vote"]["ranking"]) == (200, ["blue", "red"])
    consent = await open_proposal(node)
    status, problem = await node.call(
        "PUT", f"/api/v1/proposals/{consent}/vote", {"choice": "maybe"}, **member
    )
    assert (status, problem["code"]) == (422, "schema")


async def test_a_closed_proposal_takes_no_votes(node: Node) -> None:
    member = node.bearer()
    closed = await open_proposal(node, closes_at=1000)
    vote = f"/api/v1/proposals/{closed}/vote"
    assert (await node.call("PUT", vote, {"choice": "yes"}, **member))[0] == 409
    assert (await node.call("DELETE", vote, None, **member))[0] == 409
    await projected(node)
    _, listing = await node.call("GET", "/api/v1/proposals?status=closed")
    assert [p["id"] for p in listing["proposals"]] == [closed]


async def test_another_groups_things_are_not_ours_to_vote_on(node: Node) -> None:
    profile = sign(KEY_B, None, T0, "group.profile_set", {"name": "Ebbw Vale"})
    idea = sign(KEY_B, profile, T0 + 1, "idea.proposed", {"title": "Theirs"})
    body: JsonObject = {
        "title": "Theirs", "kind": "consent", "options": CONSENT,
        "closes_at": 2**40,
    }  # fmt: skip
    proposal = sign(KEY_B, idea, T0 + 2, "proposal.opened", body)
    await node.services.writer.append_verified([profile, idea, proposal])
    member = node.bearer()
    put = await node.call("PUT", f"/api/v1/ideas/{idea.id}/support", None, **member)
    assert put[0] == 404
    vote = f"/api/v1/proposals/{proposal.id}/vote"
    assert (await node.call("PUT", vote, {"choice": "yes"}, **member))[0] == 404
    decide = f"/api/v1/proposals/{proposal.id}/decide"
    assert (await node.call("POST", decide, None, **node.org))[0] == 404
    await projected(node)
    _, shown = await node.call("GET", f"/api/v1/proposals/{proposal.id}")
    assert shown["group"] == {"feed": KEY_B.feed, "name": "Ebbw Vale"}


# --- automatic decisions ------------------------------------------------------


async def test_closed_proposals_are_decided_once_across_a_restart(
    tmp_path: Path,
) -> None:
    settings, _ = make_settings(tmp_path)
    now = [int(time.time() * 1000)]
    services = NodeServices.open(settings, clock=lambda: now[0])
    services.start()
    grant = TokenGrant(services.private.members.first_organiser(), "organiser", "x")  # type: ignore[arg-type]
    voter = services.private.create_account("Voter", "member", now=1)
    options: list[JsonValue] = [
        {"id": "red", "label": "Red"},
        {"id": "blue", "label": "Blue"},
    ]
    body: JsonObject = {
        "title": "Buy a gazebo",
        "kind": "choose_one",
        "closes_at": now[0] + HOUR,
        "options": options,
    }
    opened = await services.publish(grant, {"type": "proposal.opened", "body": body})
    await services.ideas.ballots.vote(
        TokenGrant(voter, "member", "y"), opened.id, {"choice": "blue"}
    )
    assert await services.projector.caught_up(services.store.max_position(), 5.0)
    assert await services.ideas.ballots.decide_due() == []  # not yet closed
    now[0] += 2 * HOUR
    [decided] = await services.ideas.ballots.decide_due()
    assert decided.body is not None
    assert (decided.body["result"], decided.body["voters"]) == ("blue", 1)
    assert await services.ideas.ballots.decide_due() == []
    services.close()
    # Opened again on the same data, before the read models saw the decision.
    again = NodeServices.open(settings, clock=lambda: now[0])
    try:
        assert await again.ideas.ballots.decide_due() == []
        events = again.store.read(again.key.feed, 0, 1000)
        assert [e.type for e in events].count("proposal.decided") == 1
    finally:
        again.close()


# --- erasure, hostile input ---------------------------------------------------


async def test_erasure_removes_supports_and_votes(node: Node) -> None:
    member = await node.join(VOTERS[0], "angharad")
    _, idea = await node.call("POST", "/api/v1/ideas", {"title": "Tea"}, **member)
    await node.call("PUT", f"/api/v1/ideas/{idea['id']}/support", None, **member)
    proposal = await open_proposal(node)
    await node.call(
        "PUT", f"/api/v1/proposals/{proposal}/vote", {"choice": "no"}, **member
    )
    assert (await node.call("DELETE", "/api/v1/me", None, **member))[0] == 204
    _, counts = await node.call(
        "GET", f"/api/v1/proposals/{proposal}/votes", **node.org
    )
    assert counts["voters"] == 0
    for _ in range(100):
        published = await own(node, "idea.support_counted")
        if published and published[-1].body == {"idea": idea["id"], "supporters": 0}:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the lower count was not published")


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/api/v1/ideas", {"title": ""}, 422),
        ("POST", "/api/v1/ideas", {"title": "x", "named": "yes"}, 400),
        ("POST", "/api/v1/ideas", {"title": "x", "tags": ["Not A Slug"]}, 422),
        ("POST", "/api/v1/ideas", {"title": "x", "proposer": "me"}, 400),
        ("POST", "/api/v1/ideas", b"[1", 400),
        ("POST", "/api/v1/ideas", b"{" + b" " * 17_000 + b"}", 413),
        ("POST", "/api/v1/tasks", {"title": "x", "decision": "nope"}, 422),
        ("POST", "/api/v1/tasks", {"title": "x", "named": True}, 422),
        ("POST", "/api/v1/tasks", {"title": "x", "owner_account": "nobody"}, 404),
        ("GET", "/api/v1/ideas?status=maybe", None, 400),
        ("GET", "/api/v1/ideas?after=zz", None, 400),
        ("GET", "/api/v1/proposals?feed=nope", None, 400),
        ("GET", "/api/v1/tasks?decision=nope", None, 400),
        ("GET", "/api/v1/ideas/nope", None, 400),
        ("GET", "/api/v1/ideas/sha256:" + "A" * 43, None, 404),
        ("GET", "/api/v1/decisions/sha256:" + "A" * 43, None, 404),
        ("PUT", "/api/v1/ideas/sha256:" + "A" * 43 + "/support", None, 404),
    ],
)
async def test_hostile_requests_store_nothing(
    node: Node, method: str, path: str, body: object, status: int
) -> None:
    head = await node.head()
    got, problem = await node.call(method, path, body, **node.org)
    assert got == status, problem
    assert await node.head() == head


async def test_redacted_and_blocked_things_disappear(node: Node) -> None:
    _, idea = await node.call("POST", "/api/v1/ideas", {"title": "Gone"}, **node.org)
    await publish(node, "event.redacted", {"id": idea["id"]})
    await projected(node)
    assert (await node.call("GET", f"/api/v1/ideas/{idea['id']}"))[0] == 404
    put = await node.call(
        "PUT", f"/api/v1/ideas/{idea['id']}/support", None, **node.org
    )
    assert put[0] == 404
    profile = sign(KEY_B, None, T0, "group.profile_set", {"name": "Blocked"})
    theirs = sign(KEY_B, profile, T0 + 1, "idea.proposed", {"title": "Theirs"})
    await node.services.writer.append_verified([profile, theirs])
    await projected(node)
    assert (await node.call("GET", f"/api/v1/ideas/{theirs.id}"))[0] == 200
    await node.services.read(
        node.services.store.federation.block, FeedId(KEY_B.feed), "feed", now=1
    )
    assert (await node.call("GET", f"/api/v1/ideas/{theirs.id}"))[0] == 404
    _, listing = await node.call("GET", "/api/v1/ideas")
    assert listing["ideas"] == []
    assert orjson.dumps(listing)
