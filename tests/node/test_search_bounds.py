"""Search ranks at most a bounded number of matches; beyond it, newest first."""

from __future__ import annotations

from node.projections import sql
from node.projections.search import SearchPage, search, search_page
from protocol import Event, JsonObject, sign
from tests.node.conftest import Node
from tests.protocol.helpers import KEY_A, T0

BOUND = sql.SEARCH_RANKED_MATCHES


def publish_guides(node: Node, count: int) -> list[Event]:
    """``count`` guides mentioning a strike; only the first has it in its title."""
    events: list[Event] = []
    head: Event | None = None
    for n in range(count):
        title = "Strike school" if n == 0 else f"Guide {n}"
        body: JsonObject = {"title": title, "text": f"Notes {n} on the rent strike."}
        head = sign(KEY_A, head, T0 + n, "guide.published", body)
        events.append(head)
    assert node.store.append(events)
    node.drain()
    return events


def walk(node: Node, q: str, limit: int) -> list[str]:
    seen: list[str] = []
    after: str | None = None
    while True:
        page: SearchPage = node.readmodels.query(
            search_page, q, limit=limit, after=after
        )
        seen += [hit.id for hit in page.results]
        if page.next is None:
            return seen
        after = page.next


def test_up_to_the_bound_matches_are_ranked(node: Node) -> None:
    events = publish_guides(node, BOUND)
    hits = node.readmodels.query(search, "strike", 3)
    # The oldest ranks first: the word is in its title, which weighs more.
    assert hits[0].id == events[0].id
    assert hits[0].snippet == "[Strike] school"
    assert [hit.id for hit in hits[1:]] == [events[1].id, events[2].id]


def test_past_the_bound_matches_come_newest_first(node: Node) -> None:
    events = publish_guides(node, BOUND + 30)
    newest_first = [event.id for event in reversed(events)]
    hits = node.readmodels.query(search, "strike", 5)
    assert [hit.id for hit in hits] == newest_first[:5]
    assert hits[0].snippet.endswith("rent [strike].")
    # Paging walks every match once, across the end of the first bounded walk.
    assert walk(node, "rent strike", 100) == newest_first
    assert walk(node, "strike", 7) == newest_first


def test_the_bound_counts_matches_of_the_whole_query(node: Node) -> None:
    events = publish_guides(node, BOUND + 1)
    page = node.readmodels.query(search_page, "strike school", limit=5)
    assert [hit.id for hit in page.results] == [events[0].id]
    assert page.next is None
    page = node.readmodels.query(search_page, "strike", limit=1)
    assert [hit.id for hit in page.results] == [events[-1].id]
    assert page.next is not None
