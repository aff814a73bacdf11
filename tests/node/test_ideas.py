"""The ideas read model across feeds, in either arrival order; redaction of
each kind, blocked feeds and paging; the counting rule of each kind of vote."""

from __future__ import annotations

from typing import Any

import pytest

from node.projections import InvalidCursorError, idea_queries
from node.services.tally import check_vote, count_votes
from protocol import Event, JsonObject, JsonValue, SchemaViolationError
from tests.node.conftest import KEY_C, Node, body
from tests.node.test_campaigns import Pending
from tests.protocol.helpers import KEY_A, KEY_B

NOW = 2**45


def chain() -> tuple[Pending, Pending, dict[str, Event]]:
    """A proposes an idea, counts support twice, opens a proposal from it,
    decides it and creates two tasks, one done; B launches a campaign and
    calls an action naming the decision."""
    a, b = Pending(KEY_A), Pending(KEY_B)
    made: dict[str, Event] = {}
    a.sign("group.profile_set", body("group.profile_set", name="Tredegar Tenants"))
    made["idea"] = a.sign("idea.proposed", body("idea.proposed"))
    idea = made["idea"].id
    made["count1"] = a.sign("idea.support_counted", {"idea": idea, "supporters": 3})
    made["count2"] = a.sign("idea.support_counted", {"idea": idea, "supporters": 5})
    made["proposal"] = a.sign("proposal.opened", body("proposal.opened", idea=idea))
    made["decision"] = a.sign(
        "proposal.decided", body("proposal.decided", proposal=made["proposal"].id)
    )
    decision = made["decision"].id
    task = body("task.created", decision=decision)
    made["task"] = a.sign("task.created", task)
    made["quiet_task"] = a.sign(
        "task.created", {"title": "Book a pitch", "decision": decision}
    )
    made["done"] = a.sign("task.completed", {"task": made["task"].id})
    b.sign("group.profile_set", body("group.profile_set", name="Ebbw Vale Tenants"))
    made["campaign"] = b.sign(
        "campaign.launched", body("campaign.launched", decision=decision)
    )
    made["action"] = b.sign(
        "campaign.action_called",
        body("campaign.action_called", campaign=made["campaign"].id, decision=decision),
    )
    return a, b, made


def query(node: Node, fn: Any, *args: Any, **kwargs: Any) -> Any:
    return node.readmodels.query(fn, *args, **kwargs)


@pytest.mark.parametrize("first", ["deciders", "followers"])
def test_the_chain_across_feeds_in_either_order(node: Node, first: str) -> None:
    a, b, made = chain()
    for pending in [a, b] if first == "deciders" else [b, a]:
        pending.store(node)
        node.drain()
    idea = query(node, idea_queries.get_idea, made["idea"].id)
    assert idea["supporters"] == 5
    assert idea["status"] == "decided"
    assert idea["proposer"] == "Siân"
    assert [p["id"] for p in idea["proposals"]] == [made["proposal"].id]
    proposal = query(node, idea_queries.get_proposal, made["proposal"].id, now=NOW)
    assert proposal["status"] == "decided"
    assert proposal["decision"]["outcome"] == "agreed"
    found = query(node, idea_queries.get_decision, made["decision"].id, now=NOW)
    assert found.proposal["id"] == made["proposal"].id
    assert found.idea["id"] == made["idea"].id
    assert sorted((t["owner"], t["status"]) for t in found.tasks) == [
        ("Dai", "done"), ("a member", "open")
    ]  # fmt: skip
    assert [r["type"] for r in found.refs] == [
        "campaign.launched", "campaign.action_called"
    ]  # fmt: skip


def test_redaction_of_each_kind(node: Node) -> None:
    a, b, made = chain()
    a.store(node)
    b.store(node)
    node.drain()
    author = node.author(KEY_A)
    author.head = a.events[-1]
    author.redact(made["count2"])
    node.drain()
    assert query(node, idea_queries.get_idea, made["idea"].id)["supporters"] == 3
    author.redact(made["done"])
    author.redact(made["quiet_task"])
    node.drain()
    found = query(node, idea_queries.get_decision, made["decision"].id, now=NOW)
    assert [(t["title"], t["status"]) for t in found.tasks] == [
        ("Print 500 leaflets", "open")
    ]
    author.redact(made["decision"])
    node.drain()
    assert query(node, idea_queries.get_decision, made["decision"].id, now=NOW) is None
    proposal = query(node, idea_queries.get_proposal, made["proposal"].id, now=2**50)
    assert (proposal["status"], proposal["decision"]) == ("closed", None)
    assert query(node, idea_queries.get_idea, made["idea"].id)["status"] == "proposed"
    author.redact(made["proposal"])
    author.redact(made["idea"])
    node.drain()
    assert query(node, idea_queries.get_idea, made["idea"].id) is None
    assert query(node, idea_queries.get_proposal, made["proposal"].id, now=NOW) is None


def test_counts_and_decisions_count_only_from_their_own_feed(node: Node) -> None:
    a, _, made = chain()
    a.store(node)
    c = node.author(KEY_C)
    c.profile(name="Meddlers")
    c.publish("idea.support_counted", {"idea": made["idea"].id, "supporters": 99})
    node.drain()
    assert query(node, idea_queries.get_idea, made["idea"].id)["supporters"] == 5
    forged = c.publish(
        "proposal.decided", body("proposal.decided", proposal=made["proposal"].id)
    )
    node.drain()
    found = query(node, idea_queries.get_decision, forged.id, now=NOW)
    assert found.proposal is None  # only the proposing group decides
    assert found.tasks == []


def test_blocked_feeds_filters_and_paging(node: Node) -> None:
    a, b, made = chain()
    a.store(node)
    b.store(node)
    other = node.author(KEY_C)
    other.profile()
    for n in range(3):
        other.publish("idea.proposed", {"title": f"Idea {n}", "tags": ["food"]})
    node.drain()
    listed = query(node, idea_queries.list_ideas, limit=2)
    assert len(listed.items) == 2
    rest = query(node, idea_queries.list_ideas, limit=3, after=listed.next)
    assert len(rest.items) == 2
    assert rest.next is None
    seen = {i["id"] for i in listed.items} | {i["id"] for i in rest.items}
    assert len(seen) == 4
    assert len(query(node, idea_queries.list_ideas, tag="food").items) == 3
    assert len(query(node, idea_queries.list_ideas, q="stall").items) == 1
    assert len(query(node, idea_queries.list_ideas, status="open").items) == 3
    blocked = query(node, idea_queries.list_ideas, blocked=[KEY_C.feed])
    assert [i["id"] for i in blocked.items] == [made["idea"].id]
    assert query(node, idea_queries.list_tasks, status="done").items[0]["id"] == (
        made["task"].id
    )
    hidden = query(
        node, idea_queries.get_decision, made["decision"].id, now=NOW,
        blocked=[KEY_B.feed],
    )  # fmt: skip
    assert hidden.refs == []
    with pytest.raises(InvalidCursorError):
        query(node, idea_queries.list_ideas, after="bm9wZQ")


# --- the counting rules -------------------------------------------------------

CONSENT = ["yes", "no", "abstain", "block"]


def votes(*choices: str) -> list[dict[str, Any]]:
    return [{"choice": choice} for choice in choices]


def counted(body: JsonObject) -> dict[JsonValue, JsonValue]:
    counts = body["counts"]
    assert isinstance(counts, list)
    return {c["option"]: c["votes"] for c in counts if isinstance(c, dict)}


@pytest.mark.parametrize(
    ("choices", "result"),
    [
        (("yes", "yes", "no"), "yes"),
        (("yes", "no"), "no"),  # no ≥ yes: not agreed
        (("yes", "yes", "yes", "block"), "block"),
        (("abstain", "abstain"), "no"),
        ((), None),
    ],
)
def test_consent(choices: tuple[str, ...], result: str | None) -> None:
    decided = count_votes("consent", CONSENT, votes(*choices))
    assert decided.get("result") == result
    assert decided["voters"] == len(choices)
    assert sum(counted(decided).values()) == len(choices)  # type: ignore[arg-type]


def test_choose_one_and_pick_time_with_ties() -> None:
    options = ["mon", "tue", "wed"]
    assert (
        count_votes("choose_one", options, votes("tue", "tue", "mon"))["result"]
        == "tue"
    )
    tied = count_votes("pick_time", options, votes("tue", "mon"))
    assert "result" not in tied
    assert counted(tied) == {"mon": 1, "tue": 1, "wed": 0}


def test_rank_by_borda_count() -> None:
    options = ["a", "b", "c"]
    ballots = [
        {"ranking": ["a", "b", "c"]},
        {"ranking": ["b", "c", "a"]},
        {"ranking": ["b", "a"]},
    ]
    decided = count_votes("rank", options, ballots)
    assert decided["result"] == "b"  # a: 2+0+1, b: 1+2+2, c: 0+1+0
    assert decided["counts"] == [
        {"option": "a", "votes": 1, "score": 3},
        {"option": "b", "votes": 2, "score": 5},
        {"option": "c", "votes": 0, "score": 1},
    ]
    tie = count_votes(
        "rank", options, [{"ranking": ["a", "b"]}, {"ranking": ["b", "a"]}]
    )
    assert "result" not in tie


def test_votes_that_do_not_fit_are_refused() -> None:
    unfit: list[tuple[str, dict[str, Any]]] = [
        ("consent", {"choice": "maybe"}),
        ("consent", {"ranking": ["yes"]}),
        ("rank", {"choice": "a"}),
        ("rank", {"ranking": ["a", "a"]}),
        ("rank", {"ranking": ["a"], "reason": ""}),
    ]
    for kind, vote in unfit:
        with pytest.raises(SchemaViolationError):
            check_vote(kind, ["a", "b", "yes"], vote)
