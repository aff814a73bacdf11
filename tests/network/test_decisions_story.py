"""Deciding, sharing know-how and helping each other across three live nodes.

Three groups of the lower valleys run their own nodes (real ``tredegar run``
processes on loopback). A, at Tredegar, forms a regional network that B (at
Bargoed, between them) and C (at Pontypridd, some 20 km down the valley)
join. On A a member proposes an idea, others support it, the organisers turn
it into a proposal, members vote (one changes their mind), it is decided,
tasks and a campaign with an action follow from the decision, one task is
done and the campaign is won. Meanwhile the network takes a decision by
delegates, each group voting from its own node; A asks the network a
question that B answers and C marks helpful; A's need for lifts is matched to
C's offer two groups away and marked met; a member of A pledges hours on
condition that two others pledge too, which members of B and C then do on
their own nodes; and A's organisers keep a 1-to-1 and a case on A and publish
the counts of their month.

Once every node holds every event, every node must show the same decision
with its progress, the same delegate vote, thread, match and pledge totals,
and nothing private (members' names, their votes and reasons, who supports or
pledges, the 1-to-1 and the case) may appear in anything a peer or a visitor
can read on any node, while A's organisers still see their own records.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.network.cluster import converged, get_json, wait_for
from tests.network.conftest import Json, Node, NodeFactory, list_all
from tests.network.test_story import (
    Person,
    Story,
    call,
    form_network,
    held_everywhere,
    join,
    post,
    raw,
    settle,
    start_three,
)

OPENAPI = Path(__file__).parents[2] / "schemas" / "openapi.yaml"
#: How long the nodes may take to agree on everything once it is published.
SETTLE_SECONDS = 60.0
#: Voting on the proposal and on the delegate decision stays open this long.
VOTING_SECONDS = 45
MINUTE = 60_000
DAY = 24 * 60 * MINUTE

#: Members of each group: private to their own node.
PEOPLE = {
    "a": (
        Person("Bronwen Tregaskis-Pryce <bronwen.tp@tredegar.example>", "bronwentp"),
        Person("Emrys Vaughan-Cadogan <emrys.vc@tredegar.example>", "emrysvc"),
        Person("Nesta Bowen-Gwilym <nesta.bg@tredegar.example>", "nestabg"),
    ),
    "b": (Person("Iolo Rhydderch-Watkins <iolo.rw@bargoed.example>", "iolorw"),),
    "c": (Person("Heledd Maelor-Pugh <heledd.mp@pontypridd.example>", "heleddmp"),),
}
#: Each of A's members' vote on the proposal (the second first says no) and
#: the reason they give: votes and reasons stay secret, even from organisers.
VOTES = (
    ("yes", "The Cwmsyfiog lido kept my children sane last summer."),
    ("yes", "I changed my mind after the Pantywaun survey results."),
    ("no", "We promised the Llechryd allotments our volunteers first."),
)
FIRST_THOUGHT = ("no", "Not before the Pantywaun survey comes back.")
#: The 1-to-1 and the case A's organisers keep: on A, for A's organisers only.
ONE_TO_ONE: Json = {
    "person": "Gwenllian Ffoulkes-Mostyn",
    "interests": ["the Tirphil rent arrears", "Mostyn Street's allotments"],
    "notes": "Cares about the Tirphil rent arrears; knows the Ffoulkes family.",
    "follow_ups": [{"text": "Introduce her to the Tirphil tenants' rep"}],
}
CASE: Json = {
    "person": "Caradog Penhallow-Jenkins",
    "problem": "Bailiffs from Ystradgynlais Debt Recovery came to the door.",
    "next_step": "Phone the Glyncorrwg housing officer about a payment plan.",
}
CASE_ACTION = "Wrote to the Ystradgynlais agents disputing the fees."
#: Words that only ever appear in private records.
PRIVATE_WORDS = (
    "Cwmsyfiog",
    "Pantywaun",
    "Llechryd",
    "Ffoulkes",
    "Mostyn",
    "Tirphil",
    "Penhallow",
    "Ystradgynlais",
    "Glyncorrwg",
)
#: A word only in an answer B redacted: gone from every answer on every node.
REDACTED_WORD = "Abercarn-misprint"

#: Where each group is based (micro-degrees): B between A and C, C ~20 km from A.
BASES = {
    "a": {"name": "Tredegar", "lat_e6": 51772200, "lon_e6": -3246600},
    "b": {"name": "Bargoed", "lat_e6": 51690000, "lon_e6": -3240000},
    "c": {"name": "Pontypridd", "lat_e6": 51600000, "lon_e6": -3342000},
}


def now_ms() -> int:
    """The time now, as the nodes' clocks tell it (same machine)."""
    return int(time.time() * 1000)


@dataclass
class Ids:
    """The public things of the story, by event id."""

    network: str = ""
    idea: str = ""
    proposal: str = ""
    decision: str = ""
    tasks: list[str] = field(default_factory=list)
    campaign: str = ""
    action: str = ""
    meeting: str = ""
    vote: str = ""
    question: str = ""
    answer: str = ""
    need: str = ""
    offer: str = ""
    other_offer: str = ""
    target: str = ""
    misprint: str = ""

    def by_kind(self) -> dict[str, list[str]]:
        """Ids to put into each kind of detail route (by its path segment)."""
        return {
            "ideas": [self.idea],
            "proposals": [self.proposal],
            "decisions": [self.decision],
            "tasks": list(self.tasks),
            "campaigns": [self.campaign],
            "meetings": [self.meeting],
            "networks": [self.network],
            "network-decisions": [self.vote],
            "questions": [self.question],
            "answers": [self.answer],
            "needs": [self.need],
            "offers": [self.offer, self.other_offer],
            "pledge-targets": [self.target],
        }

    def offers(self) -> tuple[str, str]:
        """C's offer of lifts and B's of food."""
        return (self.offer, self.other_offer)

    def every(self) -> list[str]:
        """Every id of the story."""
        return sorted({i for ids in self.by_kind().values() for i in ids if i})


@dataclass
class Decisions:
    """The three nodes, their members' sessions and what was published."""

    story: Story
    members: dict[str, list[Json]] = field(default_factory=dict)
    ids: Ids = field(default_factory=Ids)
    closes_at: int = 0
    delegate_votes: list[str] = field(default_factory=list)

    @property
    def trio(self) -> tuple[Node, Node, Node]:
        """The three nodes."""
        return self.story.trio

    def node(self, name: str) -> Node:
        """A node by its name."""
        return {"a": self.story.a, "b": self.story.b, "c": self.story.c}[name]


# --- talking to the nodes -----------------------------------------------------


async def ok(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    body: object = None,
    headers: Mapping[str, str] | None = None,
    *,
    expect: Sequence[int] = (200, 201),
) -> Any:
    """A request that must succeed (or answer one of ``expect``)."""
    status, answer = await call(session, method, url, body, headers)
    assert status in expect, (method, url, status, answer)
    return answer


async def api(
    session: aiohttp.ClientSession, node: Node, path: str, **params: str
) -> Json:
    """``GET /api/v1/<path>`` as a visitor (must be 200)."""
    return await get_json(session, f"{node.url}/api/v1/{path}", params or None)


async def latest_of(
    session: aiohttp.ClientSession, node: Node, feed: str, event_type: str
) -> str | None:
    """The id of the latest event of ``event_type`` in ``feed`` held on ``node``."""
    events = await list_all(session, node, feed=feed)
    ids = [e["id"] for e in events if e["type"] == event_type]
    return ids[-1] if ids else None


async def until_past(moment: int) -> None:
    """Wait until the clock has passed ``moment`` (ms since the epoch)."""

    async def passed() -> bool:
        return now_ms() > moment + 1000

    await wait_for(passed, what="voting to close", within=VOTING_SECONDS + 30, poll=0.5)


# --- the story: the network, members, an idea and its proposal -----------------


async def set_bases(session: aiohttp.ClientSession, dec: Decisions) -> None:
    """Each group's profile with the place it is based at."""
    for name, node in zip("abc", dec.trio, strict=True):
        profile = {"name": f"Group {name}", "place": BASES[name]}
        profile["how_to_join"] = f"Ask at the {BASES[name]['name']} library."
        await post(session, node, "group.profile_set", profile)


async def join_members(session: aiohttp.ClientSession, dec: Decisions) -> None:
    """Every person joins their group's node and logs in."""
    for name in "abc":
        node = dec.node(name)
        dec.members[name] = [await join(session, node, p) for p in PEOPLE[name]]


async def idea_to_proposal(session: aiohttp.ClientSession, dec: Decisions) -> None:
    """A member's idea, supported by the others, becomes a proposal."""
    a = dec.story.a
    first, *others = dec.members["a"]
    idea_body = {
        "title": "A summer play scheme on the Ashvale green",
        "text": "Four weeks of games, trips and lunches for the estate's children.",
        "tags": ["children", "summer"],
        "named": False,
    }
    made = await ok(session, "POST", f"{a.url}/api/v1/ideas", idea_body, first)
    dec.ids.idea = made["id"]
    for member in (first, *others):
        url = f"{a.url}/api/v1/ideas/{dec.ids.idea}/support"
        answer = await ok(session, "PUT", url, None, member)
        assert answer["supported"] is True, answer
    options = [
        {"id": choice, "label": choice.capitalize()}
        for choice in ("yes", "no", "abstain", "block")
    ]
    dec.closes_at = now_ms() + VOTING_SECONDS * 1000
    proposal = {
        "title": "Run the summer play scheme",
        "text": "Four weeks in August; the hall and the green are booked.",
        "kind": "consent",
        "options": options,
        "closes_at": dec.closes_at,
        "tz": "Europe/London",
        "idea": dec.ids.idea,
    }
    dec.ids.proposal = await post(session, a, "proposal.opened", proposal)


async def members_vote(session: aiohttp.ClientSession, dec: Decisions) -> None:
    """A's members vote with their reasons; one changes their vote."""
    a = dec.story.a
    url = f"{a.url}/api/v1/proposals/{dec.ids.proposal}/vote"
    members = dec.members["a"]
    choice, reason = FIRST_THOUGHT
    await ok(session, "PUT", url, {"choice": choice, "reason": reason}, members[1])
    for member, (choice, reason) in zip(members, VOTES, strict=True):
        await ok(session, "PUT", url, {"choice": choice, "reason": reason}, member)
    own = await ok(session, "GET", url, None, members[0])
    assert (own["vote"]["choice"], own["vote"]["reason"]) == VOTES[0], own
    wrong = {"choice": "maybe"}
    status, problem = await call(session, "PUT", url, wrong, members[2])
    assert (status, problem["code"]) == (422, "schema"), problem


async def decide(session: aiohttp.ClientSession, dec: Decisions) -> None:
    """A's organisers close the vote early and decide; later votes are refused."""
    a = dec.story.a
    url = f"{a.url}/api/v1/proposals/{dec.ids.proposal}/decide"
    await ok(session, "POST", url, {}, a.auth)
    late = f"{a.url}/api/v1/proposals/{dec.ids.proposal}/vote"
    status, problem = await call(
        session, "PUT", late, {"choice": "no"}, dec.members["a"][2]
    )
    assert (status, problem["code"]) == (409, "conflict"), problem

    async def decided() -> bool:
        found = await latest_of(session, a, a.feed, "proposal.decided")
        dec.ids.decision = found or ""
        return found is not None

    await wait_for(decided, what="the proposal's decision", within=15)


async def follow_through(session: aiohttp.ClientSession, dec: Decisions) -> None:
    """Tasks, a campaign with an action and a meeting follow; it is won."""
    a, decision = dec.story.a, dec.ids.decision
    day = now_ms() + 10 * DAY
    for title in ("Book the minibus for the trips", "Find six volunteer drivers"):
        task = {"title": title, "due_at": day, "decision": decision}
        dec.ids.tasks.append(await post(session, a, "task.created", task))
    await post(session, a, "task.completed", {"task": dec.ids.tasks[0]})
    campaign = {
        "title": "Play on the green",
        "target": {"name": "Blaenau Gwent County Council", "kind": "council"},
        "demands": ["Keep the Ashvale green open for the play scheme."],
        "decision": decision,
    }
    dec.ids.campaign = await post(session, a, "campaign.launched", campaign)
    action = {
        "campaign": dec.ids.campaign,
        "title": "Fill the council gallery",
        "text": "Come to the council meeting to back the play scheme.",
        "starts_at": day,
        "tz": "Europe/London",
        "decision": decision,
    }
    dec.ids.action = await post(session, a, "campaign.action_called", action)
    meeting = {
        "title": "Play scheme planning",
        "kind": "campaign_planning",
        "starts_at": day,
        "ends_at": day + 90 * MINUTE,
        "tz": "Europe/London",
        "place": {"name": "Ashvale community room"},
        "decision": decision,
    }
    dec.ids.meeting = await post(session, a, "meeting.scheduled", meeting)
    won = {"campaign": dec.ids.campaign, "outcome": "won", "story": "The green stays."}
    await post(session, a, "campaign.outcome_declared", won)


# --- the delegate decision ----------------------------------------------------


async def open_delegate_vote(session: aiohttp.ClientSession, dec: Decisions) -> None:
    """The convenor asks the network where to hold its spring assembly."""
    body = {
        "network": dec.ids.network,
        "title": "Where shall the spring assembly meet?",
        "kind": "choose_one",
        "options": [
            {"id": "bargoed", "label": "Bargoed Workmen's Hall"},
            {"id": "pontypridd", "label": "Pontypridd Muni"},
        ],
        "closes_at": dec.closes_at,
        "tz": "Europe/London",
    }
    dec.ids.vote = await post(session, dec.story.a, "network.decision_opened", body)


async def groups_vote(session: aiohttp.ClientSession, dec: Decisions) -> None:
    """Each group's organisers cast its vote from its own node; B changes its."""
    a, b, c = dec.trio
    await held_everywhere(session, dec.trio, dec.ids.vote)
    votes = (
        (a, {"choice": "bargoed", "reason": "Central for everyone."}),
        (b, {"choice": "pontypridd", "reason": "Bigger hall."}),
        (c, {"choice": "pontypridd", "reason": "On the train line."}),
        (b, {"choice": "bargoed", "reason": "Our hall after all: it is free."}),
    )
    for node, vote in votes:
        url = f"{node.url}/api/v1/network-decisions/{dec.ids.vote}/vote"
        cast = await ok(session, "PUT", url, vote, node.auth)
        dec.delegate_votes.append(cast["id"])


async def delegates_decide(session: aiohttp.ClientSession, dec: Decisions) -> None:
    """After closing time the convenor decides (or its node already has)."""
    a = dec.story.a
    await held_everywhere(session, [a], *dec.delegate_votes)
    await until_past(dec.closes_at)
    url = f"{a.url}/api/v1/network-decisions/{dec.ids.vote}/decide"
    await ok(session, "POST", url, {}, a.auth, expect=(200, 201, 409))
    late = f"{dec.story.c.url}/api/v1/network-decisions/{dec.ids.vote}/vote"
    status, problem = await call(
        session, "PUT", late, {"choice": "pontypridd"}, dec.story.c.auth
    )
    assert (status, problem["code"]) == (409, "conflict"), problem


# --- know-how, mutual aid, pledges --------------------------------------------


async def ask_and_answer(session: aiohttp.ClientSession, dec: Decisions) -> None:
    """A asks; B answers (and redacts a misprint); C marks B's answer helpful."""
    a, b, c = dec.trio
    question = {
        "title": "How do we insure a summer play scheme?",
        "text": "The hall wants public liability cover for volunteers.",
        "tags": ["insurance", "children"],
        "network": dec.ids.network,
    }
    dec.ids.question = await post(session, a, "question.asked", question)
    await held_everywhere(session, [b], dec.ids.question)
    answer = {
        "question": dec.ids.question,
        "text": "Join the community voluntary council: its policy covers volunteers.",
    }
    dec.ids.answer = await post(session, b, "answer.posted", answer)
    wrong = {"question": dec.ids.question, "text": f"Ask at {REDACTED_WORD} hall."}
    dec.ids.misprint = await post(session, b, "answer.posted", wrong)
    await post(session, b, "event.redacted", {"id": dec.ids.misprint})
    await held_everywhere(session, [c], dec.ids.answer)
    mark = {"answer": dec.ids.answer, "question": dec.ids.question}
    await post(session, c, "answer.marked_helpful", mark)
    await post(session, b, "answer.marked_helpful", mark)  # its own: not counted


async def need_and_offer(session: aiohttp.ClientSession, dec: Decisions) -> None:
    """A needs lifts; B offers food nearby; C offers lifts from 20 km away."""
    a, b, c = dec.trio
    need = {
        "title": "Lifts for the play scheme trips",
        "category": "transport",
        "text": "Two cars on Tuesdays in August.",
        "place": {**BASES["a"], "name": "Ashvale green, Tredegar"},
        "until": now_ms() + 30 * DAY,
    }
    dec.ids.need = await post(session, a, "need.posted", need)
    food = {"title": "Sandwiches for any event", "category": "food"}
    dec.ids.other_offer = await post(session, b, "offer.posted", food)
    lifts = {
        "title": "A minibus and a driver on Tuesdays",
        "category": "transport",
        "until": now_ms() + 30 * DAY,
    }
    dec.ids.offer = await post(session, c, "offer.posted", lifts)  # at C's base


async def need_met(session: aiohttp.ClientSession, dec: Decisions) -> None:
    """A's need is matched the same on every node; A marks it met by C's offer."""
    a, _, c = dec.trio
    await held_everywhere(session, dec.trio, dec.ids.need, *dec.ids.offers())

    async def matches() -> list[Json]:
        path = f"needs/{dec.ids.need}/matches"
        return [await api(session, node, path) for node in dec.trio]

    async def matched() -> bool:
        shown = await matches()
        return all(m == shown[0] for m in shown) and len(shown[0]["offers"]) == 1

    await wait_for(matched, what="C's offer to match A's need", within=30, poll=0.5)
    (offer,) = (await matches())[0]["offers"]
    assert offer["id"] == dec.ids.offer, offer  # not B's food nearby
    assert 15 <= offer["distance_km"] <= 25, offer  # from A's need to C's base
    assert offer["group"]["feed"] == c.feed, offer
    assert "how_to_join" in offer["group"], offer
    met = {"need": dec.ids.need, "offer": dec.ids.offer, "note": "Thank you, C."}
    await post(session, a, "need.met", met)


async def pledge(
    session: aiohttp.ClientSession, node: Node, member: Json, target: str, body: Json
) -> Any:
    """A member's pledge on their own node."""
    url = f"{node.url}/api/v1/pledge-targets/{target}/pledge"
    return await ok(session, "PUT", url, body, member)


async def pledges(session: aiohttp.ClientSession, dec: Decisions) -> None:
    """A's member pledges on condition; B's and C's members pledge on theirs."""
    a, b, c = dec.trio
    target = {
        "title": "Volunteer hours for the play scheme",
        "kind": "time",
        "target_hours": 40,
        "closes_at": now_ms() + 7 * DAY,
    }
    dec.ids.target = await post(session, a, "pledge.target_set", target)
    conditional = {"hours": 4, "condition": {"others": 2}}
    await pledge(session, a, dec.members["a"][0], dec.ids.target, conditional)
    await check_pledges_on_a(session, dec, counted=False)
    await held_everywhere(session, [b, c], dec.ids.target)
    await pledge(session, b, dec.members["b"][0], dec.ids.target, {"hours": 3})
    await pledge(session, c, dec.members["c"][0], dec.ids.target, {"hours": 2})


async def check_pledges_on_a(
    session: aiohttp.ClientSession, dec: Decisions, *, counted: bool
) -> None:
    """A's organisers see their pledger by name, counted or not yet."""
    a = dec.story.a
    url = f"{a.url}/api/v1/pledge-targets/{dec.ids.target}/pledges"
    answer = await ok(session, "GET", url, None, a.auth)
    text = json.dumps(answer)
    assert PEOPLE["a"][0].display_name.split(" <")[0] in text, answer
    (row,) = answer["pledges"]
    assert row["counted"] is counted, answer


# --- 1-to-1s, casework and the activity report ---------------------------------


async def casework(session: aiohttp.ClientSession, dec: Decisions) -> None:
    """A's organisers record a 1-to-1 and a case, then publish their counts."""
    a = dec.story.a
    began = now_ms() - DAY
    held = {**ONE_TO_ONE, "held_at": now_ms() - 60 * MINUTE}
    await ok(session, "POST", f"{a.url}/api/v1/one-to-ones", held, a.auth)
    case = {**CASE, "opened_at": now_ms() - 30 * MINUTE}
    made = await ok(session, "POST", f"{a.url}/api/v1/cases", case, a.auth)
    url = f"{a.url}/api/v1/cases/{made['id']}/actions"
    await ok(session, "POST", url, {"text": CASE_ACTION}, a.auth)
    period = {"starts_at": began, "ends_at": now_ms()}
    await ok(session, "POST", f"{a.url}/api/v1/activity/report", period, a.auth)


async def private_records_on_a(session: aiohttp.ClientSession, dec: Decisions) -> None:
    """A's organisers still see the 1-to-1, the case and their pledger."""
    a = dec.story.a
    seen = ""
    for path in ("one-to-ones", "cases"):
        answer = await ok(session, "GET", f"{a.url}/api/v1/{path}", None, a.auth)
        seen += json.dumps(answer)
    for secret in (ONE_TO_ONE["person"], CASE["person"], "Tirphil", "Glyncorrwg"):
        assert secret in seen, secret
    await check_pledges_on_a(session, dec, counted=True)
    for path in ("one-to-ones", "cases"):
        member = dec.members["a"][0]
        status, _ = await call(session, "GET", f"{a.url}/api/v1/{path}", None, member)
        assert status == 403, path


# --- telling it -----------------------------------------------------------------


async def tell(session: aiohttp.ClientSession, dec: Decisions) -> None:
    """Everything the three groups do, in the order they do it."""
    await set_bases(session, dec)
    dec.ids.network = await form_network(session, dec.story)
    await join_members(session, dec)
    await network_of_three(session, dec)
    await idea_to_proposal(session, dec)
    await open_delegate_vote(session, dec)
    await members_vote(session, dec)
    await groups_vote(session, dec)
    await decide(session, dec)
    await follow_through(session, dec)
    await ask_and_answer(session, dec)
    await need_and_offer(session, dec)
    await pledges(session, dec)
    await casework(session, dec)
    await need_met(session, dec)
    await delegates_decide(session, dec)


async def network_of_three(session: aiohttp.ClientSession, dec: Decisions) -> None:
    """Wait until every node sees all three groups in the network."""

    async def three() -> bool:
        for node in dec.trio:
            status, answer = await call(
                session, "GET", f"{node.url}/api/v1/networks/{dec.ids.network}"
            )
            if status != 200 or len(answer["groups"]) != 3:
                return False
        return True

    await wait_for(three, what="the network of three on every node", within=30)


# --- the public picture ---------------------------------------------------------


async def picture(session: aiohttp.ClientSession, node: Node, ids: Ids) -> Json:
    """What a visitor to ``node`` sees of the story."""
    a_feed = (await api(session, node, f"events/{ids.idea}"))["feed"]
    return {
        "decision": await api(session, node, f"decisions/{ids.decision}"),
        "proposal": await api(session, node, f"proposals/{ids.proposal}"),
        "idea": await api(session, node, f"ideas/{ids.idea}"),
        "tasks": await api(session, node, "tasks", decision=ids.decision),
        "delegates": await api(session, node, f"network-decisions/{ids.vote}"),
        "question": await api(session, node, f"questions/{ids.question}"),
        "need": await api(session, node, f"needs/{ids.need}"),
        "target": await api(session, node, f"pledge-targets/{ids.target}"),
        "activity": await api(session, node, f"groups/{a_feed}/activity"),
    }


def is_complete(shown: Json, dec: Decisions) -> bool:
    """Whether a picture already holds the end of the story."""
    progress = shown["decision"]["progress"]
    return (
        progress["tasks_done"] == 1
        and progress["outcome"] is not None
        and shown["delegates"]["status"] == "decided"
        and len(shown["question"]["answers"]) == 1
        and shown["question"]["answers"][0]["helpful"] == 1
        and shown["need"]["status"] == "met"
        and len(shown["target"]["totals"]) == 3
        and shown["target"]["progress"]["total_hours"] == 9
        and bool(reports_of(shown["activity"]))
    )


def reports_of(activity: Json) -> list[Json]:
    """The activity reports in a group's activity answer."""
    reports: list[Json] = activity["reports"]
    return reports


def check_picture(shown: Json, dec: Decisions) -> None:
    """What every node shows, checked once (they are equal)."""
    a, b, c = dec.trio
    ids = dec.ids
    decision = shown["decision"]
    assert decision["decision"]["result"] == "yes", decision
    assert decision["decision"]["outcome"] == "agreed", decision
    counts = {row["option"]: row["votes"] for row in decision["decision"]["counts"]}
    assert counts == {"yes": 2, "no": 1, "abstain": 0, "block": 0}, counts
    assert decision["decision"]["voters"] == 3
    assert decision["idea"]["id"] == ids.idea
    assert decision["proposal"]["id"] == ids.proposal
    progress = decision["progress"]
    assert (progress["tasks_total"], progress["tasks_done"]) == (2, 1), progress
    assert progress["actions"] >= 1, progress
    assert "won" in json.dumps(progress["outcome"]), progress
    assert ids.action in json.dumps(decision), decision
    assert ids.campaign in json.dumps(decision), decision
    assert {t["owner"] for t in decision["tasks"]} == {"a member"}
    assert shown["proposal"]["status"] == "decided"
    assert shown["idea"]["supporters"] == 3
    assert shown["idea"]["proposer"] == "a member"
    check_delegates(shown["delegates"], dec)
    (answer,) = shown["question"]["answers"]
    assert (answer["id"], answer["feed"]) == (ids.answer, b.feed), answer
    assert answer["helpful"] == 1
    assert [g["feed"] for g in answer["marked_by"]] == [c.feed], answer
    assert shown["need"]["status"] == "met"
    assert ids.offer in json.dumps(shown["need"]["met"]), shown["need"]
    totals = {t["group"]["feed"]: t for t in shown["target"]["totals"]}
    assert set(totals) == {a.feed, b.feed, c.feed}, totals
    assert [totals[n.feed]["total_hours"] for n in (a, b, c)] == [4, 3, 2]
    assert [totals[n.feed]["pledgers"] for n in (a, b, c)] == [1, 1, 1]
    assert shown["target"]["progress"]["permille"] == 9 * 1000 // 40
    (report, *_) = reports_of(shown["activity"])
    assert (report["one_to_ones_held"], report["cases_opened"]) == (1, 1), report
    assert report["cases_open"] == 1, report


def check_delegates(shown: Json, dec: Decisions) -> None:
    """The delegate decision: B's replaced vote counts, Bargoed wins 2 to 1."""
    a, b, c = dec.trio
    assert shown["status"] == "decided"
    result = shown["result"]
    assert result["result"] == "bargoed", result
    counts = {row["option"]: row["votes"] for row in result["counts"]}
    assert counts == {"bargoed": 2, "pontypridd": 1}, counts
    votes = {v["feed"]: v for v in shown["votes"]}
    assert set(votes) == {a.feed, b.feed, c.feed}, votes
    assert votes[b.feed]["choice"] == "bargoed"
    first, replaced, third, second = dec.delegate_votes
    assert sorted(result["votes"]) == sorted([first, second, third]), result
    assert replaced not in result["votes"]
    assert result["counted_from"] == "votes", result


async def same_everywhere(session: aiohttp.ClientSession, dec: Decisions) -> Json:
    """Wait until every node shows the whole story the same; that picture."""
    await wait_for(
        lambda: converged(session, dec.trio),
        what="every node to hold every event",
        within=30,
    )

    async def agreed() -> bool:
        shown = [await picture(session, n, dec.ids) for n in dec.trio]
        return all(p == shown[0] for p in shown) and is_complete(shown[0], dec)

    await settle(agreed, within=SETTLE_SECONDS)
    shown = [await picture(session, n, dec.ids) for n in dec.trio]
    assert shown[1] == shown[0]
    assert shown[2] == shown[0]
    return shown[0]


async def test_decisions_know_how_and_mutual_aid_across_three_nodes(
    nodes: NodeFactory,
) -> None:
    dec = Decisions(await start_three(nodes))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        await tell(session, dec)
        shown = await same_everywhere(session, dec)
        check_picture(shown, dec)
        await private_records_on_a(session, dec)
        await check_privacy(session, dec)


# --- privacy ---------------------------------------------------------------------


def secrets() -> list[str]:
    """Everything that must never leave its node, as searched-for text."""
    named = [s for people in PEOPLE.values() for p in people for s in p.secrets]
    reasons = [reason for _, reason in (*VOTES, FIRST_THOUGHT)]
    records = [str(ONE_TO_ONE["person"]), str(ONE_TO_ONE["notes"])]
    records += [str(CASE["person"]), str(CASE["problem"]), str(CASE["next_step"])]
    return [*named, *reasons, *records, CASE_ACTION, *PRIVATE_WORDS, "$argon2id$"]


def search_words() -> list[str]:
    """Each private word, and each member's names and login, to search for."""
    people = [p for group in PEOPLE.values() for p in group]
    names = [w for p in people for w in p.display_name.split(" <")[0].split()]
    return [*PRIVATE_WORDS, *names, *(p.login for p in people)]


@cache
def public_templates() -> tuple[str, ...]:
    """Every ``GET`` path of the OpenAPI file a visitor may read."""
    spec = yaml.safe_load(OPENAPI.read_text("utf-8"))
    skipped = {"/metrics", "/api/v1/openapi.yaml", "/health"}
    return tuple(
        path
        for path, item in spec["paths"].items()
        if "get" in item
        and item["get"].get("security", None) in (None, [])
        and path not in skipped
    )


def filled(template: str, ids: Ids, feeds: Sequence[str]) -> Iterator[str]:
    """``template`` with its parameters filled with the story's ids and feeds."""
    if "{feed}" in template:
        for feed in feeds:
            yield template.replace("{feed}", feed)
    elif "{id}" in template:
        segments = template.split("/")
        kind = segments[segments.index("{id}") - 1]
        for event_id in ids.by_kind().get(kind) or ids.every():
            yield template.replace("{id}", event_id)
    elif "{" not in template:
        yield template


async def public_answers(
    session: aiohttp.ClientSession, node: Node, dec: Decisions
) -> Iterator[tuple[str, bytes]]:
    """Everything a peer or a visitor can read on ``node``, by URL."""
    feeds = [n.feed for n in dec.trio]
    urls = []
    for template in public_templates():
        urls += [f"{node.url}{path}" for path in filled(template, dec.ids, feeds)]
    answers = [(url, await raw(session, url)) for url in urls]
    every = json.dumps(await list_all(session, node)).encode()
    answers.append(("every event", every))
    for word in search_words():
        url = f"{node.url}/api/v1/search"
        answers.append((f"search {word}", await raw(session, url, q=word)))
    return iter(answers)


async def check_privacy(session: aiohttp.ClientSession, dec: Decisions) -> None:
    """Nothing private, and nothing redacted, in any answer on any node."""
    hidden = [s.casefold() for s in secrets()]
    redacted = REDACTED_WORD.casefold()
    for node in dec.trio:
        for url, answer in await public_answers(session, node, dec):
            text = answer.decode("utf-8", errors="replace").casefold()
            assert not [s for s in hidden if s in text], (node.name, url, answer[:300])
            assert redacted not in text, (node.name, url, answer[:300])
