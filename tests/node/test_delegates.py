"""The delegates read model: a network decision across feeds, in either arrival
order; replaced, late and non-member votes; the result as the convenor lists
it; counting by kind; redaction, blocked feeds and paging."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from node.projections import InvalidCursorError, Projector, ReadModels, delegates
from node.projections.delegates import count, counted_votes
from node.services.delegates import decision_json
from node.storage.feeds import SqliteFeedStore
from protocol import BodyValidator, Event, JsonObject, JsonValue, SigningKey, sign
from tests.node.conftest import KEY_C, Node, body, drain
from tests.protocol.helpers import KEY_A, KEY_B, T0

KEY_D = SigningKey.from_seed(bytes(range(96, 128)))
CLOSES_AT = T0 + 100_000
BEFORE, AFTER = T0 + 50_000, T0 + 200_000
DECISION_KEYS = {
    "id", "network", "convenor", "title", "text", "kind", "options",
    "closes_at", "tz", "opened_at", "status", "votes", "tally", "result",
}  # fmt: skip


class Pending:
    """Signs a feed's events now (at chosen times) and stores them later."""

    def __init__(self, key: SigningKey) -> None:
        self.key = key
        self.events: list[Event] = []

    def sign(
        self, event_type: str, content: JsonObject, ts: int | None = None
    ) -> Event:
        previous = self.events[-1] if self.events else None
        seq = len(self.events) + 1
        at = T0 + seq * 1000 if ts is None else ts
        event = sign(self.key, previous, at, event_type, content)
        self.events.append(event)
        return event

    def store(self, node: Node) -> None:
        assert node.store.append(self.events)


def vote(choice: str, decision: Event, **more: JsonValue) -> JsonObject:
    return {"decision": decision.id, "choice": choice, **more}


class Story:
    """A convenes a network that B and C join; A opens a decision.

    B votes, then changes its vote before the close; C votes before the close
    and again after it; D, not a member, votes too; A votes for itself.
    """

    def __init__(self, kind_body: JsonObject | None = None) -> None:
        a, b, c, d = (Pending(k) for k in (KEY_A, KEY_B, KEY_C, KEY_D))
        self.a, self.b, self.c, self.d = a, b, c, d
        a.sign("group.profile_set", body("group.profile_set", name="Tredegar"))
        self.network = a.sign("network.formed", body("network.formed"))
        opened = kind_body or body(
            "network.decision_opened", network=self.network.id, closes_at=CLOSES_AT
        )
        self.decision = a.sign("network.decision_opened", opened)
        for pending, name in ((b, "Ebbw Vale"), (c, "Rhymney"), (d, "Cwm")):
            pending.sign("group.profile_set", body("group.profile_set", name=name))
        b.sign("network.joined", body("network.joined", network=self.network.id))
        c.sign("network.joined", body("network.joined", network=self.network.id))
        self.vote_a = a.sign(
            "network.delegate_vote_cast", vote("tredegar", self.decision), BEFORE
        )
        b.sign("network.delegate_vote_cast", vote("tredegar", self.decision), BEFORE)
        self.vote_b = b.sign(
            "network.delegate_vote_cast",
            vote("ebbw-vale", self.decision, reason="Step-free."),
            BEFORE + 1,
        )
        self.vote_c = c.sign(
            "network.delegate_vote_cast", vote("ebbw-vale", self.decision), BEFORE
        )
        c.sign("network.delegate_vote_cast", vote("rhymney", self.decision), AFTER)
        d.sign("network.delegate_vote_cast", vote("rhymney", self.decision), BEFORE)

    def feeds(self, forwards: bool) -> list[Pending]:
        order = [self.a, self.b, self.c, self.d]
        return order if forwards else order[::-1]


def items(value: JsonValue) -> list[dict[str, Any]]:
    assert isinstance(value, list)
    return [item for item in value if isinstance(item, dict)]


def shown(node: Node, decision: Event, now: int = AFTER, **kwargs: Any) -> JsonObject:
    record = node.readmodels.query(delegates.get_decision, decision.id, **kwargs)
    assert record is not None
    return decision_json(record, now)


def made_body(node: Node, decision: Event) -> JsonObject:
    """What the convenor's node publishes after the close (as the service does)."""
    record = node.readmodels.query(delegates.get_decision, decision.id)
    assert record is not None
    votes = counted_votes(record)
    tally = count(record.body, [delegates._body(v) for v in votes])
    made: JsonObject = {
        "decision": decision.id,
        "counts": tally.counts,
        "votes": [v["id"] for v in votes],
    }
    if tally.result is not None:
        made["result"] = tally.result
    return made


ORDERS = pytest.mark.parametrize(
    "forwards", [True, False], ids=["opened-first", "votes-first"]
)


@ORDERS
def test_the_provisional_tally_is_the_same_in_either_order(
    node: Node, forwards: bool
) -> None:
    story = Story()
    for pending in story.feeds(forwards):
        pending.store(node)
        node.drain()
    answer = shown(node, story.decision, now=BEFORE)
    assert set(answer) == DECISION_KEYS
    assert answer["status"] == "open"
    assert answer["convenor"] == {"feed": KEY_A.feed, "name": "Tredegar"}
    assert answer["result"] is None
    assert answer["tally"] == {
        "provisional": True,
        "result": "ebbw-vale",
        "counts": [
            {"option": "tredegar", "votes": 1},
            {"option": "ebbw-vale", "votes": 2},
            {"option": "rhymney", "votes": 0},
        ],
        "groups": 3,
    }
    votes = items(answer["votes"])
    # The convenor first, then the members in the order they joined.
    assert [(v["feed"], v["choice"]) for v in votes] == [
        (KEY_A.feed, "tredegar"),
        *sorted([(KEY_B.feed, "ebbw-vale"), (KEY_C.feed, "ebbw-vale")]),
    ]
    [vote_b] = [v for v in votes if v["feed"] == KEY_B.feed]
    assert vote_b == {
        "id": story.vote_b.id, "feed": KEY_B.feed, "name": "Ebbw Vale",
        "choice": "ebbw-vale", "ranking": None, "reason": "Step-free.",
        "cast_at": BEFORE + 1,
    }  # fmt: skip
    assert shown(node, story.decision)["status"] == "closed"


@ORDERS
def test_the_result_is_the_one_the_convenor_lists(node: Node, forwards: bool) -> None:
    story = Story()
    made: JsonObject = {
        "decision": story.decision.id,
        "result": "ebbw-vale",
        "counts": [
            {"option": "tredegar", "votes": 1},
            {"option": "ebbw-vale", "votes": 2},
            {"option": "rhymney", "votes": 0},
        ],
        "votes": [story.vote_a.id, story.vote_b.id, story.vote_c.id],
    }
    story.a.sign("network.decision_made", made, AFTER)
    for pending in story.feeds(forwards):
        pending.store(node)
        node.drain()
    answer = shown(node, story.decision)
    assert answer["status"] == "decided"
    assert answer["tally"] is None
    result = answer["result"]
    assert isinstance(result, dict)
    assert result["result"] == "ebbw-vale"
    assert result["counts"] == made["counts"]
    assert result["counted_from"] == "votes"
    assert result["groups"] == 3
    assert result["votes"] == made["votes"]
    assert [v["id"] for v in items(answer["votes"])] == made["votes"]


def test_every_order_of_arrival_shows_the_same_decision(
    tmp_path: Path, validator: BodyValidator
) -> None:
    story = Story()
    decided: JsonObject = {
        "decision": story.decision.id,
        "result": "ebbw-vale",
        "counts": [{"option": "ebbw-vale", "votes": 2}],
        "votes": [story.vote_b.id, story.vote_c.id, story.vote_a.id],
    }
    story.a.sign("network.decision_made", decided, AFTER)
    answers = []
    for n, forwards in enumerate((True, False)):
        store = SqliteFeedStore(tmp_path / f"feeds{n}.db")
        models = ReadModels(tmp_path / f"models{n}.db")
        projector = Projector(store, models, validator, poll_seconds=0.05)
        for pending in story.feeds(forwards):
            assert store.append(pending.events)
            drain(projector)
        record = models.query(delegates.get_decision, story.decision.id)
        assert record is not None
        answers.append(decision_json(record, AFTER))
        projector.stop()
        models.close()
        store.close()
    assert answers[0] == answers[1]


def test_a_result_is_never_recounted_from_other_votes(node: Node) -> None:
    story = Story()
    # The convenor decided holding only B's vote: that is the result.
    made: JsonObject = {
        "decision": story.decision.id,
        "result": "ebbw-vale",
        "counts": [{"option": "ebbw-vale", "votes": 1}],
        "votes": [story.vote_b.id],
    }
    story.a.sign("network.decision_made", made, AFTER)
    story.a.store(node)
    node.drain()
    waiting = shown(node, story.decision)["result"]
    assert isinstance(waiting, dict)
    # B's vote is not held yet: the published counts are shown.
    assert (waiting["counted_from"], waiting["counts"]) == ("published", made["counts"])
    for pending in (story.b, story.c, story.d):
        pending.store(node)
    node.drain()
    answer = shown(node, story.decision)
    result = answer["result"]
    assert isinstance(result, dict)
    assert result["counted_from"] == "votes"
    assert result["counts"] == [
        {"option": "tredegar", "votes": 0},
        {"option": "ebbw-vale", "votes": 1},
        {"option": "rhymney", "votes": 0},
    ]
    assert [v["id"] for v in items(answer["votes"])] == [story.vote_b.id]


def test_redactions(node: Node) -> None:
    story = Story()
    for pending in story.feeds(True):
        pending.store(node)
    node.drain()
    made = made_body(node, story.decision)
    result = story.a.sign("network.decision_made", made, AFTER)
    story.a.sign("event.redacted", {"id": result.id}, AFTER + 1)
    story.b.sign("event.redacted", {"id": story.vote_b.id}, AFTER)
    story.a.store(node)
    story.b.store(node)
    node.drain()
    answer = shown(node, story.decision)
    assert (answer["status"], answer["result"]) == ("closed", None)
    tally = answer["tally"]
    assert isinstance(tally, dict)
    # B's replaced vote does not come back: its latest vote was redacted,
    # so its earlier one (tredegar) is its latest held.
    assert tally["counts"] == [
        {"option": "tredegar", "votes": 2},
        {"option": "ebbw-vale", "votes": 1},
        {"option": "rhymney", "votes": 0},
    ]
    assert "Step-free." not in str(answer)
    story.a.sign("event.redacted", {"id": story.decision.id}, AFTER + 2)
    story.a.store(node)
    node.drain()
    assert node.readmodels.query(delegates.get_decision, story.decision.id) is None


def test_blocked_feeds_and_other_openers(node: Node) -> None:
    story = Story()
    # B opens a decision for A's network: only the convenor may.
    stray = story.b.sign(
        "network.decision_opened",
        body("network.decision_opened", network=story.network.id),
    )
    for pending in story.feeds(True):
        pending.store(node)
    node.drain()
    assert node.readmodels.query(delegates.get_decision, stray.id) is None
    answer = shown(node, story.decision, blocked=[KEY_B.feed])
    assert KEY_B.feed not in str(answer)
    tally = answer["tally"]
    assert isinstance(tally, dict)
    assert tally["groups"] == 2
    assert (
        node.readmodels.query(
            delegates.get_decision, story.decision.id, blocked=[KEY_A.feed]
        )
        is None
    )


def test_listing_pages_and_due_decisions(node: Node) -> None:
    story = Story()
    later = [
        story.a.sign(
            "network.decision_opened",
            body("network.decision_opened", network=story.network.id,
                 closes_at=CLOSES_AT + n),
        )
        for n in range(1, 4)
    ]  # fmt: skip
    for pending in story.feeds(True):
        pending.store(node)
    node.drain()
    first = node.readmodels.query(delegates.list_decisions, story.network.id, limit=3)
    assert first is not None
    assert first.next is not None
    rest = node.readmodels.query(
        delegates.list_decisions, story.network.id, limit=3, after=first.next
    )
    assert rest is not None
    assert rest.next is None
    listed = [r.decision["id"] for r in (*first.items, *rest.items)]
    assert listed == [*(e.id for e in reversed(later)), story.decision.id]
    with pytest.raises(InvalidCursorError):
        node.readmodels.query(delegates.list_decisions, story.network.id, after="x!")
    unheld = "sha256:" + "A" * 43
    assert node.readmodels.query(delegates.list_decisions, unheld) is None
    due = node.readmodels.query(delegates.due_decisions, KEY_A.feed, CLOSES_AT + 2)
    assert due == [story.decision.id, later[0].id, later[1].id]
    assert node.readmodels.query(delegates.due_decisions, KEY_B.feed, AFTER) == []


OPTIONS: list[JsonValue] = [
    {"id": "a", "label": "A"},
    {"id": "b", "label": "B"},
    {"id": "c", "label": "C"},
]


def choices(*names: str) -> list[JsonObject]:
    return [{"choice": name} for name in names]


def test_counting_by_kind() -> None:
    consent: JsonObject = {
        "kind": "consent",
        "options": [{"id": o, "label": o} for o in ("yes", "no", "abstain", "block")],
    }
    assert count(consent, []).result is None
    assert count(consent, choices("yes", "no")).result == "no"
    assert count(consent, choices("yes", "yes", "yes", "no")).result == "yes"
    assert count(consent, choices("yes", "yes", "yes", "block")).result == "block"
    assert count(consent, choices("no", "abstain")).result == "no"
    choose: JsonObject = {"kind": "choose_one", "options": OPTIONS}
    assert count(choose, []).result is None
    assert count(choose, choices("a", "b")).result is None
    assert count(choose, choices("zz", "b")).result == "b"
    rank: JsonObject = {"kind": "rank", "options": OPTIONS}
    ballots: list[JsonObject] = [
        {"ranking": ["a", "b", "c"]},
        {"ranking": ["b", "c"]},
        {"ranking": ["c", "b", "a"]},
        {"choice": "a"},  # does not fit a ranked decision
    ]
    tally = count(rank, ballots)
    assert tally.counts == [
        {"option": "a", "votes": 1, "score": 2},
        {"option": "b", "votes": 1, "score": 4},
        {"option": "c", "votes": 1, "score": 3},
    ]
    assert tally.result == "b"
