"""What the demo's groups decide, share and pledge: issue 6's sample activity.

Published after the groups' own stories and what they do together
(``node/services/demo_story.py``), on the first three nodes of a new demo:

* On the first node, two neighbours join beside the demo member; the demo
  member proposes a summer play scheme, the three support it, the organisers
  turn it into a proposal, the three vote (privately, with reasons), and the
  organisers decide it: two tasks (one done) and a campaign action follow.
* The first group, convenor of the network, asks it where the spring assembly
  should meet; each group's organisers vote from their own node, and the
  convenor decides once voting closes.
* The second group lists an adviser; the third marks the second group's
  answer to the first group's question helpful.
* The third group offers a minibus, which matches the first group's need for
  lifts two groups away; the first group marks its need met by the second
  group's offer.
* The first group sets a target of volunteer hours; its demo member pledges
  four hours if two others pledge too, which the other groups' demo members
  do on their own nodes.
* The first group's organisers note a 1-to-1 and open a case (private to its
  node) and publish the counts of the month as ``group.activity_reported``.

Bodies are built by pure functions so the schemas can be checked without a
node; everything else goes through the members' API as a script would.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from time import monotonic, time

import aiohttp

from node.services.demo_activity import (
    TIME_ZONE,
    DemoActivityError,
    NodeApi,
    held_event,
    publish,
)
from protocol import JsonObject, JsonValue

__all__ = [
    "PLEDGE_CONDITION",
    "Voter",
    "delegate_decision_body",
    "proposal_body",
    "publish_decisions",
]

_MINUTE = 60_000
_DAY = 24 * 60 * _MINUTE
#: How long the sample proposal and the delegate decision stay open.
VOTING_MS = 20_000
_POLL_SECONDS = 0.5
#: The demo member's pledge counts once this many others have pledged.
PLEDGE_CONDITION = 2
_IDEA: JsonObject = {
    "title": "A summer play scheme on the Ashvale green",
    "text": "Four weeks of games, trips and lunches for the estate's children.",
    "tags": ["children", "summer"],
}
#: The neighbours who join the first group beside its demo member.
_NEIGHBOURS = (("neighbour-one", "Neighbour one"), ("neighbour-two", "Neighbour two"))
_VOTES = (
    ("yes", "My two would love it."),
    ("yes", "Only if we can find enough drivers for the trips."),
    ("abstain", "I am away most of August."),
)


#: A logged-in member: the headers of their session (cookie and CSRF token).
Voter = dict[str, str]


def _now() -> int:
    """Milliseconds since the epoch."""
    return int(time() * 1000)


def proposal_body(idea: str, closes_at: int) -> JsonObject:
    """The organisers' consent proposal made of the idea."""
    options: list[JsonValue] = [
        {"id": choice, "label": label}
        for choice, label in (
            ("yes", "Yes, run it"),
            ("no", "No"),
            ("abstain", "Abstain"),
            ("block", "Block"),
        )
    ]
    return {
        "title": "Run the summer play scheme in August",
        "text": "Four weeks on the green; the hall is booked for wet days.",
        "kind": "consent",
        "options": options,
        "closes_at": closes_at,
        "tz": TIME_ZONE,
        "idea": idea,
    }


def delegate_decision_body(network: str, closes_at: int) -> JsonObject:
    """The convenor's question to the network's groups."""
    return {
        "network": network,
        "title": "Where shall the network's spring assembly meet?",
        "text": "One delegate vote per group; the hall is booked by the winner.",
        "kind": "choose_one",
        "options": [
            {"id": "ebbw-vale", "label": "Ebbw Vale Institute"},
            {"id": "rhymney", "label": "Rhymney Library"},
        ],
        "closes_at": closes_at,
        "tz": TIME_ZONE,
    }


def task_bodies(decision: str, today_ms: int) -> list[JsonObject]:
    """The tasks following from the decision."""
    return [
        {"title": title, "due_at": today_ms + days * _DAY, "decision": decision}
        for title, days in (
            ("Book the minibus for the trips", 7),
            ("Find six volunteer drivers", 14),
        )
    ]


def action_body(campaign: str, decision: str, today_ms: int) -> JsonObject:
    """The campaign action the decision called."""
    return {
        "campaign": campaign,
        "title": "Ask the council to keep the green open for the play scheme",
        "text": "Bring the children's drawings to the council's surgery.",
        "starts_at": today_ms + 10 * _DAY,
        "tz": TIME_ZONE,
        "decision": decision,
    }


# --- the members' API ------------------------------------------------------------


async def _request(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    body: JsonObject,
    headers: dict[str, str],
) -> tuple[int, JsonObject]:
    """Any JSON request; its status and the answer (an object, or empty)."""
    async with session.request(method, url, json=body, headers=headers) as response:
        answer = await response.json(content_type=None)
        cookie = response.cookies.get("tredegar_session")
    value = answer if isinstance(answer, dict) else {}
    if cookie is not None:
        value = {**value, "cookie": cookie.value}
    return response.status, value


async def _call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    body: JsonObject,
    headers: dict[str, str],
) -> JsonObject:
    """A JSON request that must succeed.

    Raises:
        DemoActivityError: The node refused it.
    """
    status, answer = await _request(session, method, url, body, headers)
    if status >= 300:
        raise DemoActivityError(
            f"{method} {url} was refused ({status} "
            f"{answer.get('code')}: {answer.get('detail')})"
        )
    return answer


def _organiser(node: NodeApi) -> dict[str, str]:
    return {"Authorization": f"Bearer {node.token}"}


async def join_and_log_in(
    session: aiohttp.ClientSession, node: NodeApi, login: str, name: str
) -> Voter:
    """A new member of ``node`` (invited, joined, logged in) with a random password."""
    invite = await _call(
        session, "POST", f"{node.url}/api/v1/invites", {}, _organiser(node)
    )
    password = secrets.token_urlsafe(12)
    joining: JsonObject = {"display_name": name, "login": login, "password": password}
    accept = f"{node.url}/api/v1/invites/{invite['code']}/accept"
    await _call(session, "POST", accept, joining, {})
    return await log_in(session, node, login, password)


async def log_in(
    session: aiohttp.ClientSession, node: NodeApi, login: str, password: str
) -> Voter:
    """A member's session: the cookie and its CSRF token, as headers."""
    body: JsonObject = {"login": login, "password": password}
    answer = await _call(session, "POST", f"{node.url}/api/v1/session", body, {})
    return {
        "Cookie": f"tredegar_session={answer['cookie']}",
        "X-CSRF-Token": str(answer["csrf_token"]),
    }


async def _own_event(
    session: aiohttp.ClientSession, node: NodeApi, event_type: str
) -> str | None:
    """The id of the first event of ``event_type`` in the node's own feed, if any."""
    params = {"feed": node.feed, "type": event_type, "limit": "1"}
    async with session.get(f"{node.url}/api/v1/events", params=params) as response:
        answer = await response.json(content_type=None)
    events = answer.get("events") if isinstance(answer, dict) else None
    if response.status != 200 or not isinstance(events, list) or not events:
        return None
    found = events[0].get("id") if isinstance(events[0], dict) else None
    return found if isinstance(found, str) else None


async def _decided(
    session: aiohttp.ClientSession,
    node: NodeApi,
    path: str,
    event_type: str,
    deadline: float,
) -> str:
    """Decide with ``POST <path>/decide`` once closed; the decision event's id.

    Deciding is refused until voting closes (and once the node decided by
    itself): until a decision of this feed is held, ask again.

    Raises:
        DemoActivityError: No decision by ``deadline`` (``time.monotonic``).
    """
    url = f"{node.url}/api/v1/{path}/decide"
    while True:
        status, answer = await _request(session, "POST", url, {}, _organiser(node))
        decided = answer.get("id") if status == 201 else None
        if isinstance(decided, str):
            return decided
        found = await _own_event(session, node, event_type)
        if found is not None:
            return found
        if monotonic() > deadline:
            raise DemoActivityError(f"{node.url} never decided {path}")
        await asyncio.sleep(_POLL_SECONDS)


async def _held(
    session: aiohttp.ClientSession, node: NodeApi, event_id: str, deadline: float
) -> None:
    """Wait until ``node`` holds the event ``event_id``.

    Raises:
        DemoActivityError: It has not arrived by ``deadline`` (``time.monotonic``).
    """
    await _shown(session, node, f"/api/v1/events/{event_id}", deadline)


async def _shown(
    session: aiohttp.ClientSession, node: NodeApi, path: str, deadline: float
) -> None:
    """Wait until ``node`` answers ``GET path`` with 200.

    Stored is not enough before acting on a thing: its read model must show
    it too.

    Raises:
        DemoActivityError: Not by ``deadline`` (``time.monotonic``).
    """
    while True:
        async with session.get(f"{node.url}{path}") as response:
            await response.read()
        if response.status == 200:
            return
        if monotonic() > deadline:
            raise DemoActivityError(f"{node.url} never showed {path}")
        await asyncio.sleep(_POLL_SECONDS)


# --- what the groups do ------------------------------------------------------------


async def _idea_decided(
    session: aiohttp.ClientSession,
    node: NodeApi,
    voters: Sequence[Voter],
    campaign: str,
    deadline: float,
) -> None:
    """The idea, its supports, the proposal, the votes, the decision and after."""
    api = f"{node.url}/api/v1"
    body: JsonObject = {**_IDEA, "named": False}
    idea = str((await _call(session, "POST", f"{api}/ideas", body, voters[0]))["id"])
    for voter in voters:
        await _call(session, "PUT", f"{api}/ideas/{idea}/support", {}, voter)
    opened = proposal_body(idea, _now() + VOTING_MS)
    proposal = await publish(session, node, "proposal.opened", opened)
    for voter, (choice, reason) in zip(voters, _VOTES, strict=False):
        vote: JsonObject = {"choice": choice, "reason": reason}
        url = f"{api}/proposals/{proposal}/vote"
        await _call(session, "PUT", url, vote, voter)
    path = f"proposals/{proposal}"
    decision = await _decided(session, node, path, "proposal.decided", deadline)
    tasks = [
        await publish(session, node, "task.created", task)
        for task in task_bodies(decision, _now())
    ]
    done: JsonObject = {
        "task": tasks[0],
        "note": "A 16-seater from the community transport.",
    }
    await publish(session, node, "task.completed", done)
    await publish(
        session, node, "campaign.action_called", action_body(campaign, decision, _now())
    )


async def _delegates_decide(
    session: aiohttp.ClientSession,
    nodes: Sequence[NodeApi],
    network: str,
    deadline: float,
) -> None:
    """The convenor opens a delegate decision; each group votes; it is decided."""
    convenor = nodes[0]
    body = delegate_decision_body(network, _now() + VOTING_MS)
    decision = await publish(session, convenor, "network.decision_opened", body)
    choices = (
        ("ebbw-vale", "The Institute is on every bus route."),
        ("ebbw-vale", "Central, and step-free."),
        ("rhymney", "The library offered the room for free."),
    )
    for node, (choice, reason) in zip(nodes, choices, strict=False):
        await _shown(session, node, f"/api/v1/network-decisions/{decision}", deadline)
        vote: JsonObject = {"choice": choice, "reason": reason}
        url = f"{node.url}/api/v1/network-decisions/{decision}/vote"
        cast = await _call(session, "PUT", url, vote, _organiser(node))
        await _held(session, convenor, str(cast["id"]), deadline)  # to be counted
    path = f"network-decisions/{decision}"
    await _decided(session, convenor, path, "network.decision_made", deadline)


async def _know_how(
    session: aiohttp.ClientSession, nodes: Sequence[NodeApi], deadline: float
) -> None:
    """The second group lists an adviser; the third marks its answer helpful."""
    first, second, third = nodes[:3]
    adviser: JsonObject = {
        "display_name": "Siân, housing adviser",
        "role": "Retired housing officer, volunteering with the tenants' union",
        "topics": ["housing", "repairs", "tenancy"],
        "about": "Disrepair claims, section 21 notices and the Renting Homes Act.",
        "area": "Ebbw Vale and the Heads of the Valleys",
    }
    await publish(session, second, "adviser.listed", adviser)
    question = await held_event(session, third, first.feed, "question.asked", deadline)
    answer = await held_event(session, third, second.feed, "answer.posted", deadline)
    mark: JsonObject = {
        "answer": answer,
        "question": question,
        "note": "This worked for us with our council too.",
    }
    await publish(session, third, "answer.marked_helpful", mark)


async def _mutual_aid(
    session: aiohttp.ClientSession, nodes: Sequence[NodeApi], deadline: float
) -> None:
    """The third group offers a minibus; the first group's need is met."""
    first, second, third = nodes[:3]
    minibus: JsonObject = {
        "title": "A minibus and a driver, weekday mornings",
        "category": "transport",
        "text": "Our community minibus is free most mornings; ask our organisers.",
        "until": _now() + 42 * _DAY,
    }
    await publish(session, third, "offer.posted", minibus)
    need = await held_event(session, first, first.feed, "need.posted", deadline)
    offer = await held_event(session, first, second.feed, "offer.posted", deadline)
    met: JsonObject = {"need": need, "offer": offer, "note": "Sorted until Easter."}
    await publish(session, first, "need.met", met)


async def _pledges(
    session: aiohttp.ClientSession,
    nodes: Sequence[NodeApi],
    pledgers: Sequence[Voter],
    deadline: float,
) -> None:
    """An hours target; a conditional pledge on the first node, two elsewhere."""
    first = nodes[0]
    target_body: JsonObject = {
        "title": "Volunteer hours for the summer play scheme",
        "kind": "time",
        "text": "Four weeks of mornings: we need people on every day.",
        "target_hours": 60,
        "closes_at": _now() + 28 * _DAY,
    }
    target = await publish(session, first, "pledge.target_set", target_body)
    pledges: tuple[JsonObject, ...] = (
        {"hours": 4, "condition": {"others": PLEDGE_CONDITION}},
        {"hours": 3},
        {"hours": 6},
    )
    for node, pledger, body in zip(nodes, pledgers, pledges, strict=False):
        await _shown(session, node, f"/api/v1/pledge-targets/{target}", deadline)
        url = f"{node.url}/api/v1/pledge-targets/{target}/pledge"
        await _call(session, "PUT", url, body, pledger)


async def _casework(session: aiohttp.ClientSession, node: NodeApi) -> None:
    """A 1-to-1 and a case on the first node (private); the month's counts."""
    api, organiser, now = f"{node.url}/api/v1", _organiser(node), _now()
    one_to_one: JsonObject = {
        "person": "A neighbour on Ashvale Road",
        "held_at": now - 2 * _DAY,
        "notes": "Worried about damp in the back bedroom; would help with leaflets.",
        "follow_ups": [{"text": "Invite to the surgery", "due_at": now + 5 * _DAY}],
    }
    await _call(session, "POST", f"{api}/one-to-ones", one_to_one, organiser)
    case: JsonObject = {
        "person": "A tenant from the surgery",
        "problem": "Benefit stopped after a missed appointment letter.",
        "opened_at": now - _DAY,
        "next_step": "Ask for a mandatory reconsideration",
        "next_step_at": now + 3 * _DAY,
    }
    made = await _call(session, "POST", f"{api}/cases", case, organiser)
    action: JsonObject = {"text": "Helped write the reconsideration letter."}
    await _call(session, "POST", f"{api}/cases/{made['id']}/actions", action, organiser)
    period: JsonObject = {"starts_at": now - 30 * _DAY, "ends_at": now}
    await _call(session, "POST", f"{api}/activity/report", period, organiser)


async def publish_decisions(
    session: aiohttp.ClientSession,
    nodes: Sequence[NodeApi],
    members: Sequence[tuple[str, str]],
    together: tuple[str, str],
    *,
    within: float = 60.0,
) -> None:
    """Publish the first three groups' decisions, know-how, aid and pledges.

    Run after the groups' own stories and what they do together, on a new
    demo whose first three nodes are all published at once.

    Args:
        session: The HTTP client.
        nodes: The running demo nodes, the convenor first (three or more).
        members: The demo member (login, password) of each of the first three.
        together: The ids of the convenor's network and its campaign.
        within: Seconds to wait for other groups' events to arrive.

    Raises:
        DemoActivityError: A node refused something, or an event never arrived.
    """
    trio = list(nodes[:3])
    deadline = monotonic() + within + VOTING_MS / 1000
    voters = [
        await log_in(session, node, *member)
        for node, member in zip(trio, members, strict=True)
    ]
    neighbours = [
        await join_and_log_in(session, trio[0], login, name)
        for login, name in _NEIGHBOURS
    ]
    network, campaign = together
    await asyncio.gather(
        _idea_decided(session, trio[0], [voters[0], *neighbours], campaign, deadline),
        _delegates_decide(session, trio, network, deadline),
        _know_how(session, trio, deadline),
        _mutual_aid(session, trio, deadline),
        _pledges(session, trio, voters, deadline),
        _casework(session, trio[0]),
    )
