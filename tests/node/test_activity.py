"""The activity read model: the latest report per (feed, period), redaction, paging."""

from __future__ import annotations

import pytest

from node.projections import InvalidCursorError
from node.projections.activity import ActivityPage, latest_reports
from protocol import Event, JsonObject, JsonValue
from tests.node.conftest import Node, body, raw_bytes
from tests.protocol.helpers import KEY_A, KEY_B

NOV, DEC, JAN = 1_793_491_200_000, 1_796_083_200_000, 1_798_761_600_000


def report(starts_at: int, ends_at: int, **counts: JsonValue) -> JsonObject:
    return {"starts_at": starts_at, "ends_at": ends_at, **counts}


def page(
    node: Node, feed: str, limit: int = 50, after: str | None = None
) -> ActivityPage:
    found: ActivityPage = node.readmodels.query(latest_reports, feed, limit, after)
    return found


def shown(node: Node, feed: str) -> list[tuple[JsonValue, JsonValue, JsonValue]]:
    return [
        (r["starts_at"], r["id"], r["one_to_ones_held"])
        for r in page(node, feed).reports
    ]


def test_a_later_report_for_a_period_replaces_the_earlier(node: Node) -> None:
    a, b = node.author(KEY_A), node.author(KEY_B)
    a.profile()
    b.profile(name="Ebbw Vale Tenants")
    first = a.publish("group.activity_reported", report(NOV, DEC, one_to_ones_held=3))
    december = a.publish(
        "group.activity_reported", report(DEC, JAN, one_to_ones_held=7)
    )
    again = a.publish("group.activity_reported", report(NOV, DEC, one_to_ones_held=4))
    other = b.publish("group.activity_reported", report(NOV, DEC, one_to_ones_held=9))
    a.publish("group.activity_reported", {"starts_at": NOV})  # fails its schema
    node.drain()
    assert shown(node, KEY_A.feed) == [(DEC, december.id, 7), (NOV, again.id, 4)]
    assert shown(node, KEY_B.feed) == [(NOV, other.id, 9)]
    assert first.id not in {r["id"] for r in page(node, KEY_A.feed).reports}
    whole = page(node, KEY_A.feed).reports[1]
    assert whole == {
        "id": again.id,
        "seq": again.seq,
        "ts": again.ts,
        "starts_at": NOV,
        "ends_at": DEC,
        "one_to_ones_held": 4,
        "cases_opened": None,
        "cases_closed": None,
        "cases_open": None,
        "members": None,
    }


def test_a_redacted_report_gives_way_to_the_one_before(node: Node) -> None:
    a = node.author(KEY_A)
    a.profile()
    first = a.publish("group.activity_reported", body("group.activity_reported"))
    latest = a.publish(
        "group.activity_reported",
        body("group.activity_reported", one_to_ones_held=15, members=84),
    )
    node.drain()
    assert [r["id"] for r in page(node, KEY_A.feed).reports] == [latest.id]
    a.redact(latest)
    node.drain()
    assert [r["id"] for r in page(node, KEY_A.feed).reports] == [first.id]
    a.redact(first)
    node.drain()
    assert page(node, KEY_A.feed).reports == []
    assert b'"one_to_ones_held":15' not in raw_bytes(node.path)


def test_another_feed_cannot_redact_a_report(node: Node) -> None:
    a, b = node.author(KEY_A), node.author(KEY_B)
    a.profile()
    b.profile(name="Ebbw Vale Tenants")
    made = a.publish("group.activity_reported", body("group.activity_reported"))
    b.publish("event.redacted", {"id": made.id})
    node.drain()
    assert [r["id"] for r in page(node, KEY_A.feed).reports] == [made.id]


def test_reports_page_by_period(node: Node) -> None:
    a = node.author(KEY_A)
    a.profile()
    months = [NOV + i * 1000 for i in range(5)]
    made: list[Event] = [
        a.publish("group.activity_reported", report(m, m + 500, members=i))
        for i, m in enumerate(months)
    ]
    node.drain()
    seen: list[JsonValue] = []
    after = None
    while True:
        found = page(node, KEY_A.feed, limit=2, after=after)
        seen += [r["id"] for r in found.reports]
        if found.next is None:
            break
        after = found.next
    assert seen == [event.id for event in reversed(made)]
    with pytest.raises(InvalidCursorError):
        page(node, KEY_A.feed, after="not-a-cursor")


def test_replaying_changes_nothing(node: Node) -> None:
    a = node.author(KEY_A)
    a.profile()
    a.publish("group.activity_reported", body("group.activity_reported"))
    node.drain()
    before = page(node, KEY_A.feed)
    node.readmodels.reset()
    node.drain()
    assert page(node, KEY_A.feed) == before
