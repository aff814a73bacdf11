"""Read models on a real feed store: listing, directory, search, redaction,
exactly-once tracking, reindex and the background projector."""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import threading
from pathlib import Path

import pytest

from node.projections import InvalidCursorError, Projector, ReadModels, reindex
from node.projections.search import match_expression
from node.storage.feeds import SqliteFeedStore
from protocol import BodyValidator
from tests.node.conftest import (
    KEY_C,
    Author,
    FailingValidator,
    Node,
    body,
    drain,
    judged,
    publish_story,
    raw_bytes,
    snapshot,
)
from tests.protocol.helpers import KEY_A, KEY_B
from tests.protocol.sample_bodies import SAMPLE_BODIES

PRIVATE_WORD = "Quarrington"
PROFILE = SAMPLE_BODIES["group.profile_set"]


def test_listing_holds_every_event_in_log_order_with_filters(node: Node) -> None:
    a, b = node.author(KEY_A), node.author(KEY_B)
    published = [
        a.profile(),
        b.profile(name="Ebbw Vale Tenants"),
        b.publish("campaign.launched", body("campaign.launched")),
        # Unknown types and schema failures are listed, but enter no typed model.
        a.publish("widget.invented", {"title": "Zyxwvut gadget"}),
        a.publish("meeting.scheduled", {"title": "Qwertyuiop gathering"}),
        a.publish("group.profile_set", {"name": "Broken", "colour": "red"}),
    ]
    assert node.drain() == 6
    listing = node.readmodels.list_events
    page = listing()
    assert [i.wire for i in page.items] == [e.wire_bytes().decode() for e in published]
    assert page.next == page.items[-1].position == node.store.max_position()
    first = page.items[0]
    assert (first.id, first.feed, first.seq, first.type, first.ts) == (
        published[0].id, KEY_A.feed, 1, "group.profile_set", published[0].ts
    )  # fmt: skip
    assert not first.is_redacted
    assert [i.seq for i in listing(feed=KEY_A.feed).items] == [1, 2, 3, 4]
    profiles = listing(type="group.profile_set").items
    assert [i.seq for i in profiles] == [1, 1, 4]
    both = listing(feed=KEY_B.feed, type="campaign.launched").items
    assert [i.id for i in both] == [published[2].id]
    assert listing(feed="ed25519:nobody").items == []
    for word in ("Zyxwvut", "Qwertyuiop", "Broken"):
        assert node.readmodels.search(word) == []
    group = node.readmodels.get_group(KEY_A.feed)
    assert group is not None
    assert (group.name, group.profile_seq) == (PROFILE["name"], 1)


def test_listing_pages_by_position_and_clamps_the_limit(node: Node) -> None:
    publish_story(node.store)
    node.drain()
    listing, held = node.readmodels.list_events, node.store.max_position()
    seen: list[int] = []
    after = 0
    while (page := listing(after=after, limit=7)).items:
        assert len(page.items) <= 7
        seen += [item.position for item in page.items]
        assert page.next == seen[-1]
        after = page.next
    assert (seen, page.next) == (list(range(1, held + 1)), None)
    assert len(listing(limit=0).items) == len(listing(limit=-5).items) == 1
    assert len(listing(limit=10_000).items) == held


def test_directory_takes_the_newer_profile(node: Node) -> None:
    a = node.author(KEY_A)
    a.profile()
    node.drain()
    first = node.readmodels.get_group(KEY_A.feed)
    assert first is not None
    assert first.tags == ("unemployed", "housing", "advice")
    assert (first.place_name, first.lat_e6, first.lon_e6, first.url) == (
        "Tredegar Workmen's Institute", 51_772_200, -3_246_600,
        "https://tredegar.example.org/",
    )  # fmt: skip

    newer = a.publish("group.profile_set", {"name": "Tredegar Workers' Centre"})
    node.drain()
    group = node.readmodels.get_group(KEY_A.feed)
    assert group is not None
    assert (group.name, group.area, group.tags) == (
        "Tredegar Workers' Centre", None, ()
    )  # fmt: skip
    # The latest profile replaces the whole profile: left-out fields clear.
    assert (group.description, group.place_name, group.lat_e6) == (None, None, None)
    assert (group.profile_seq, group.updated_ts) == (newer.seq, newer.ts)
    assert node.readmodels.get_group(KEY_B.feed) is None


def test_directory_lists_by_name_with_words_tags_and_paging(node: Node) -> None:
    node.author(KEY_A).profile(name="Tredegar Unemployed", tags=["housing"])
    node.author(KEY_B).profile(name="Tŷ Cymunedol", area="Ebbw Vale", tags=["food"])
    node.author(KEY_C).profile(name="rhymney mutual aid", area="Upper Rhymney")
    node.drain()

    def names(q: str | None = None, tag: str | None = None) -> list[str]:
        return [g.name for g in node.readmodels.list_groups(q, tag).items]

    everyone = ["rhymney mutual aid", "Tredegar Unemployed", "Tŷ Cymunedol"]
    assert names() == everyone
    assert names(q="EBBW") == names(q="tŶ cym") == names(tag="food") == [everyone[2]]
    assert names(q="RHYMNEY") == [everyone[0]]
    assert names(q="%") == names(q="_") == names(tag="none") == []

    seen: list[str] = []
    after: str | None = None
    while (page := node.readmodels.list_groups(limit=1, after=after)).next:
        seen += [g.name for g in page.items]
        after = page.next
    assert seen + [g.name for g in page.items] == everyone
    for cursor in ("not a cursor", "WzFd"):  # the second is base64url of [1]
        with pytest.raises(InvalidCursorError):
            node.readmodels.list_groups(after=cursor)


def test_search_hits_have_the_exact_shape(node: Node) -> None:
    meeting = node.author(KEY_A).publish("meeting.scheduled", body("meeting.scheduled"))
    node.drain()
    [hit] = node.readmodels.search("surgery")
    assert dataclasses.asdict(hit) == {
        "type": "meeting.scheduled",
        "feed": KEY_A.feed,
        "seq": meeting.seq,
        "id": meeting.id,
        "title": "Benefits and housing advice surgery",
        "snippet": "Benefits and housing advice [surgery]",
    }
    [hit] = node.readmodels.search("letters from the council")
    assert "Bring any [letters] [from] [the] [council] or [the]" in hit.snippet


def test_search_finds_words_of_titles_and_texts_only(node: Node) -> None:
    a = node.author(KEY_A)
    for event_type in ("meeting.scheduled", "meeting.updated", "campaign.launched"):
        a.publish(event_type, body(event_type))
    need = a.publish("need.posted", body("need.posted"))
    node.drain()

    def types(q: str) -> list[str]:
        return [hit.type for hit in node.readmodels.search(q)]

    assert sorted(types("workmen institute")) == ["meeting.scheduled", "need.posted"]
    assert types("benefits") == ["meeting.scheduled"]  # title and a tag
    assert "meeting.scheduled" in types("hous")  # the last word is a prefix
    assert types("refurbish") == ["campaign.launched"]  # one of its demands
    assert types("ty cymunedol") == types("TŶ CYMUNEDOL") == ["meeting.updated"]
    assert [hit.id for hit in node.readmodels.search("dialysis")] == [need.id]
    # Ids, feed ids, URLs, time zones and enum values are not indexed.
    for q in ("london", "https", "tredegar.example.org", "transport", KEY_A.feed):
        assert types(q) == []


def test_search_ranks_titles_above_text(node: Node) -> None:
    a = node.author(KEY_A)
    stall = "Talk about the rent strike on Saturday."
    mention = a.publish("idea.proposed", {"title": "Street stall", "text": stall})
    titled = a.publish("idea.proposed", {"title": "Rent strike", "text": "Ashvale."})
    node.drain()
    assert [h.id for h in node.readmodels.search("rent")] == [titled.id, mention.id]
    assert len(node.readmodels.search("rent", limit=1)) == 1


HOSTILE = ['"', "*", "AND OR NOT", ")(", "NEAR(", "NEAR(surgery advice, 2)",
           "title:surgery", "-surgery", "^surgery", "surgery*", '"surgery',
           "{title text}: surgery", "'; DROP TABLE events; --", "a" * 10_240,
           "surgery " * 1_280, "Tŷ 日本語 🙂 ÆØÅ", "\x00\x01\u2028", "", "   ",
           "_ __ _*", "—…"]  # fmt: skip


@pytest.mark.parametrize("query", HOSTILE)
def test_search_survives_hostile_queries(node: Node, query: str) -> None:
    node.author(KEY_A).publish("meeting.scheduled", body("meeting.scheduled"))
    node.drain()
    hits = node.readmodels.search(query)
    if match_expression(query) is None:  # no words at all
        assert hits == []
    assert len(node.readmodels.list_events().items) == 1


def test_match_expression_quotes_words_and_prefixes_the_last() -> None:
    for junk in ('"', "*", ")(", "", "  ", "_", "—…"):
        assert match_expression(junk) is None
    assert match_expression('AND "rent" NEAR(hous') == '"AND" "rent" "NEAR" "hous"*'
    assert match_expression("to be") == '"to" "be"'
    expression = match_expression("word " * 100)
    assert expression is not None
    assert expression.count('"word"') == 16


def test_redaction_removes_the_text_from_models_and_files(node: Node) -> None:
    a, b = node.author(KEY_A), node.author(KEY_B)
    first = a.profile()
    private = f"Ask for Zebediah {PRIVATE_WORD} at number 14."
    targets = [
        (a, a.profile(description=private)),
        (a, a.publish("campaign.updated", body("campaign.updated", text=private))),
        (b, b.profile(name=f"{PRIVATE_WORD} Street Residents")),
    ]
    node.drain()
    assert PRIVATE_WORD.encode() in raw_bytes(node.path)  # the test can see it
    assert len(node.readmodels.search(PRIVATE_WORD)) == 3

    for author, target in targets:
        author.redact(target)
    node.drain()

    rows = {item.id: item for item in node.readmodels.list_events().items}
    for _, target in targets:
        assert rows[target.id].is_redacted
        assert rows[target.id].wire == target.without_body().wire_bytes().decode()
    assert not any(PRIVATE_WORD in item.wire for item in rows.values())
    assert node.readmodels.search(PRIVATE_WORD) == []
    assert node.readmodels.search("Zebediah") == []
    group = node.readmodels.get_group(KEY_A.feed)
    assert group is not None
    assert (group.profile_seq, group.description) == (first.seq, PROFILE["description"])
    assert node.readmodels.get_group(KEY_B.feed) is None
    data = raw_bytes(node.path)
    for word in (PRIVATE_WORD, PRIVATE_WORD.lower(), "Zebediah", "zebediah"):
        assert word.encode() not in data


def test_redactions_of_other_feeds_or_unheld_events_do_nothing(node: Node) -> None:
    a, b = node.author(KEY_A), node.author(KEY_B)
    profile = a.profile()
    update = a.publish("campaign.updated", body("campaign.updated"))
    b.profile(name="Ebbw Vale Tenants")
    node.drain()
    before = snapshot(node.path)

    ignored = [b.redact(profile), b.redact(update)]
    ignored.append(a.publish("event.redacted", body("event.redacted")))  # not held
    node.drain()
    after = snapshot(node.path)
    assert after["groups"] == before["groups"]
    assert after["search"][: len(before["search"])] == before["search"]
    held = len(before["events"])
    assert after["events"][:held] == before["events"]
    assert [row[3] for row in after["events"][held:]] == [e.id for e in ignored]


def test_replaying_a_batch_is_a_no_op(node: Node, validator: BodyValidator) -> None:
    publish_story(node.store)
    items = judged(node.store, validator)
    assert node.readmodels.apply(items[:5]) == 5
    assert node.readmodels.apply(items) == len(items) - 5  # only the rest
    once = snapshot(node.path)
    assert once["tracking"] == [("ReadModels", items[-1].position)]

    # A crash after the commit, then the same batches offered again.
    assert node.readmodels.apply(items) == 0
    assert node.readmodels.apply(items[3:7]) == 0
    assert snapshot(node.path) == once


def test_reopening_resumes_from_tracking(node: Node, validator: BodyValidator) -> None:
    a, _ = publish_story(node.store)
    assert node.drain() == node.store.max_position()
    node.readmodels.close()  # as if the process had stopped

    reopened = ReadModels(node.path)
    try:
        projector = Projector(node.store, reopened, validator)
        assert projector.position == node.store.max_position()
        assert projector.run_once() == 0
        a.publish("campaign.updated", body("campaign.updated", title="Once only"))
        assert projector.run_once() == 1
        assert len(reopened.search("once only")) == 1
        positions = [row[0] for row in snapshot(node.path)["events"]]
        assert positions == list(range(1, node.store.max_position() + 1))
    finally:
        reopened.close()


def test_models_of_another_version_are_rebuilt_on_opening(
    node: Node, validator: BodyValidator, caplog: pytest.LogCaptureFixture
) -> None:
    publish_story(node.store)
    assert node.drain() == node.store.max_position()
    built = snapshot(node.path)
    node.readmodels.close()
    with sqlite3.connect(node.path) as connection:  # as an older release left it
        connection.execute("DROP TABLE groups")
        connection.execute("PRAGMA user_version = 1")

    reopened = ReadModels(node.path)
    try:
        assert "rebuilding" in caplog.text
        projector = Projector(node.store, reopened, validator)
        assert projector.position == 0
        assert drain(projector) == node.store.max_position()
        assert snapshot(node.path) == built
    finally:
        reopened.close()
    again = ReadModels(node.path)  # the same version: nothing to rebuild
    try:
        assert again.position() == node.store.max_position()
    finally:
        again.close()


def test_a_failing_batch_commits_nothing_and_is_retried(node: Node) -> None:
    a = node.author(KEY_A)
    a.profile()
    flaky = FailingValidator(failures=1, at_type="campaign.updated")
    projector = Projector(node.store, node.readmodels, flaky)
    assert projector.run_once() == 1
    before = snapshot(node.path)

    a.publish("meeting.scheduled", body("meeting.scheduled"))
    a.publish("campaign.updated", body("campaign.updated"))
    with pytest.raises(RuntimeError):
        projector.run_once()
    assert snapshot(node.path) == before
    assert node.readmodels.position() == 1

    assert projector.run_once() == 2
    assert [i.seq for i in node.readmodels.list_events().items] == [1, 2, 3]
    assert len(node.readmodels.search("council delays")) == 1


def test_read_models_ahead_of_the_log_are_rebuilt(
    node: Node, validator: BodyValidator, tmp_path: Path
) -> None:
    publish_story(node.store)
    node.drain()
    restored = SqliteFeedStore(tmp_path / "restored.db")
    try:
        Author(KEY_C, restored).profile(name="Restored")
        assert Projector(restored, node.readmodels, validator).run_once() == 1
        assert [g.name for g in node.readmodels.list_groups().items] == ["Restored"]
    finally:
        restored.close()


def test_reindex_equals_the_incremental_build(
    node: Node, validator: BodyValidator, tmp_path: Path
) -> None:
    a, b = publish_story(node.store)
    assert node.projector.run_once(limit=3) == 3
    newer = a.profile(name="Tredegar Workers' Centre", area="Sirhowy valley")
    update = a.publish("campaign.updated", body("campaign.updated", text=PRIVATE_WORD))
    node.drain()
    a.redact(newer)
    a.redact(update)
    b.redact(newer)  # another feed's: no effect
    a.publish("group.profile_set", {"name": "Invalid", "colour": "red"})
    node.drain()
    incremental = snapshot(node.path)
    assert incremental["groups"]
    assert incremental["search"]

    assert node.projector.reindex() == node.store.max_position()
    assert snapshot(node.path) == incremental

    fresh = ReadModels(tmp_path / "fresh.db")
    try:
        assert reindex(node.store, fresh, validator) == node.store.max_position()
        assert snapshot(tmp_path / "fresh.db") == incremental
    finally:
        fresh.close()


async def test_the_thread_projects_soon_after_wake_and_stops_cleanly(
    node: Node, validator: BodyValidator
) -> None:
    # Polling every 30 s: only wake() can make the events visible in time.
    projector = Projector(node.store, node.readmodels, validator, poll_seconds=30)
    projector.start()
    a = node.author(KEY_A)
    try:
        a.profile()
        projector.wake()
        assert projector.wait_for(node.store.max_position(), timeout=1.0)
        a.publish("meeting.scheduled", body("meeting.scheduled"))
        projector.wake()
        assert await projector.caught_up(node.store.max_position(), timeout=1.0)
        assert node.readmodels.search("surgery")
        assert not await projector.caught_up(projector.position + 1, timeout=0.05)
    finally:
        projector.stop()
    assert not any(t.name == "tredegar-projector" for t in threading.enumerate())
    assert node.readmodels.position() == node.store.max_position()

    a.publish("campaign.updated", body("campaign.updated"))
    projector.wake()
    assert not projector.wait_for(node.store.max_position(), timeout=0.1)
    projector.stop()  # stopping twice is harmless


def test_the_thread_logs_a_failure_once_and_retries(
    node: Node, caplog: pytest.LogCaptureFixture
) -> None:
    flaky = FailingValidator(failures=5, at_type="group.profile_set")
    projector = Projector(node.store, node.readmodels, flaky, poll_seconds=0.01)
    node.author(KEY_A).profile()
    with caplog.at_level(logging.INFO, logger="node.projections.runner"):
        projector.start()
        try:
            assert projector.wait_for(node.store.max_position(), timeout=2.0)
        finally:
            projector.stop()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert flaky.failures == 0
    assert len(node.readmodels.list_events().items) == 1
