"""The pledges read model and counting: targets, every group's latest totals in
either arrival order, replacement, subjects across feeds, redaction, blocking;
which conditional pledges count."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from node.projections import InvalidCursorError, pledges
from node.projections.pledges import TargetFilters
from node.services.pledge_totals import counted, target_view, totals_body
from node.storage.private import HeldPledge, Pledge
from protocol import Event, JsonObject, SigningKey, sign
from tests.node.conftest import KEY_C, Node
from tests.protocol.helpers import KEY_A, KEY_B, T0

NOW = T0 + 10_000_000
COACH: JsonObject = {"title": "A coach", "kind": "money", "target_pence": 10_000}


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


def view(
    node: Node, target: Event, blocked: frozenset[str] = frozenset()
) -> JsonObject | None:
    found = node.readmodels.query(
        pledges.get_target, target.id, now=NOW, blocked=blocked
    )
    return None if found is None else target_view(found)


def report(target: Event, pledgers: int, pence: int) -> JsonObject:
    return {"target": target.id, "pledgers": pledgers, "total_pence": pence}


@pytest.mark.parametrize(
    "target_first", [True, False], ids=["target-first", "reports-first"]
)
def test_totals_are_the_latest_of_each_group_summed(
    node: Node, target_first: bool
) -> None:
    a, b, c = Pending(KEY_A), Pending(KEY_B), Pending(KEY_C)
    a.sign("group.profile_set", {"name": "Tredegar Aid"})
    campaign = a.sign("campaign.launched", {
        "title": "Save the baths",
        "target": {"name": "The council", "kind": "council"},
        "demands": ["Keep them open"],
    })  # fmt: skip
    b.sign("group.profile_set", {"name": "Rhymney Aid"})
    target = b.sign("pledge.target_set", {**COACH, "subject": campaign.id})
    b.sign("pledge.totals_reported", report(target, 2, 1_000))
    c.sign("pledge.totals_reported", report(target, 1, 500))
    c.sign("pledge.totals_reported", report(target, 3, 4_500))  # replaces C's first
    for pending in [a, b, c] if target_first else [c, b, a]:
        pending.store(node)
        node.drain()
    found = view(node, target)
    assert found is not None
    assert found["subject"] == {
        "id": campaign.id,
        "type": "campaign.launched",
        "feed": KEY_A.feed,
        "title": "Save the baths",
    }
    assert found["group"] == {"feed": KEY_B.feed, "name": "Rhymney Aid"}
    assert found["progress"] == {
        "pledgers": 5,
        "total_pence": 5_500,
        "total_hours": None,
        "skills": None,
        "permille": 550,
    }
    totals: Any = found["totals"]
    by_feed = {t["group"]["feed"]: t["pledgers"] for t in totals}
    assert by_feed == {KEY_B.feed: 2, KEY_C.feed: 3}
    # C redacts its latest report: its earlier one counts again.
    later = Pending(KEY_C)
    later.events = list(c.events)
    later.sign("event.redacted", {"id": c.events[-1].id})
    assert node.store.append(later.events[-1:])
    node.drain()
    found = view(node, target)
    assert found is not None
    assert found["progress"]["pledgers"] == 3  # type: ignore[call-overload,index]
    # Blocking C leaves its totals out.
    blocked = view(node, target, frozenset({KEY_C.feed}))
    assert blocked is not None
    assert blocked["progress"]["pledgers"] == 2  # type: ignore[call-overload,index]


def test_replaced_targets_close_and_redacted_targets_go(node: Node) -> None:
    a, b = Pending(KEY_A), Pending(KEY_B)
    first = a.sign("pledge.target_set", COACH)
    a.sign(
        "pledge.target_set", {**COACH, "title": "A bigger coach", "replaces": first.id}
    )
    not_theirs = b.sign("pledge.target_set", {**COACH, "replaces": first.id})
    hours = a.sign(
        "pledge.target_set",
        {"title": "Stewards", "kind": "time", "target_hours": 20, "closes_at": NOW},
    )
    a.store(node)
    b.store(node)
    node.drain()
    old = view(node, first)
    assert old is not None
    assert (old["status"], old["replaced_by"]) == ("closed", a.events[1].id)
    assert view(node, hours)["status"] == "closed"  # type: ignore[index]
    listed = node.readmodels.query(
        pledges.list_targets, TargetFilters(status="open"), now=NOW
    )
    assert [r.target["id"] for r in listed.items] == [a.events[1].id, not_theirs.id]
    assert [
        r.target["id"]
        for r in node.readmodels.query(
            pledges.list_targets, TargetFilters(kind="time"), now=NOW
        ).items
    ] == [hours.id]
    redaction = Pending(KEY_A)
    redaction.events = list(a.events)
    redaction.sign("event.redacted", {"id": a.events[1].id})
    assert node.store.append(redaction.events[-1:])
    node.drain()
    assert view(node, a.events[1]) is None
    assert view(node, first)["status"] == "open"  # type: ignore[index]


def test_listing_pages_and_filters(node: Node) -> None:
    a, b = Pending(KEY_A), Pending(KEY_B)
    made = [
        a.sign("pledge.target_set", {**COACH, "title": f"Coach {n}"}) for n in range(3)
    ]
    b.sign("pledge.target_set", {**COACH, "title": "Minibus"})
    a.store(node)
    b.store(node)
    node.drain()
    seen: list[str] = []
    after = None
    while True:
        page = node.readmodels.query(
            pledges.list_targets, TargetFilters(feed=KEY_A.feed), now=NOW,
            limit=2, after=after,
        )  # fmt: skip
        seen += [r.target["id"] for r in page.items]
        if page.next is None:
            break
        after = page.next
    assert seen == [e.id for e in reversed(made)]
    q = node.readmodels.query(pledges.list_targets, TargetFilters(q="minibus"), now=NOW)
    assert len(q.items) == 1
    blocked = node.readmodels.query(
        pledges.list_targets, TargetFilters(), now=NOW, blocked={KEY_A.feed}
    )
    assert len(blocked.items) == 1
    with pytest.raises(InvalidCursorError):
        node.readmodels.query(pledges.list_targets, TargetFilters(), now=NOW, after="x")


def held(n: int, others: int | None = None, hours: int = 1) -> HeldPledge:
    return HeldPledge(UUID(int=n), None, Pledge("t", None, hours, (), others, n))


def test_conditions_hold_together_and_fall_together() -> None:
    eleven = [held(n, others=10) for n in range(11)]
    assert len(counted(eleven, 0)) == 11  # each has ten others
    assert counted(eleven[:10], 0) == []  # now each has nine
    assert len(counted(eleven[:10], 1)) == 10  # one pledger elsewhere
    mixed = [held(1), held(2, others=1), held(3, others=5)]
    assert counted(mixed, 0) == mixed[:2]
    assert counted(mixed, 3) == mixed
    # A cascade: dropping one drops those that needed it.
    chain = [held(1, others=1), held(2, others=2), held(3, others=3)]
    assert counted(chain, 1) == chain
    assert counted(chain, 0) == []
    assert counted([held(0), *chain], 0) == [held(0), *chain]


def test_totals_body_by_kind(node: Node) -> None:
    a = Pending(KEY_A)
    skills = a.sign(
        "pledge.target_set",
        {"title": "Help", "kind": "skills", "skills": ["driving", "cooking"]},
    )
    a.store(node)
    node.drain()
    record = node.readmodels.query(pledges.get_target, skills.id, now=NOW)
    assert record is not None
    pledged = [
        HeldPledge(UUID(int=1), None, Pledge("t", None, None, ("driving",), None, 1)),
        HeldPledge(
            UUID(int=2), None, Pledge("t", None, None, ("driving", "cooking"), None, 1)
        ),
    ]
    assert totals_body(record, pledged) == {
        "target": skills.id,
        "pledgers": 2,
        "skills": [
            {"skill": "driving", "pledgers": 2},
            {"skill": "cooking", "pledgers": 1},
        ],
    }
