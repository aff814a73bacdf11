"""The feed store contract: one event per (feed, seq), chains, batches, redaction."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from node.storage.feeds import (
    EVENT_TOPIC,
    FeedRecorder,
    SqliteFeedStore,
    record_extras,
    wire_line,
)
from protocol import (
    ForkError,
    PrevMismatchError,
    SeqGapError,
    SigningKey,
    sign,
)
from tests.protocol.helpers import KEY_A, KEY_B, T0, feed_of


def test_append_read_and_heads(feed_store: SqliteFeedStore) -> None:
    a, b = feed_of(KEY_A, 4), feed_of(KEY_B, 2)
    stored = feed_store.append([a[0], b[0], a[1], b[1], a[2], a[3]])
    assert [item.position for item in stored] == [1, 2, 3, 4, 5, 6]
    assert feed_store.read(KEY_A.feed) == a
    assert feed_store.read(KEY_A.feed, after=2, limit=1) == [a[2]]
    assert feed_store.heads() == {KEY_A.feed: 4, KEY_B.feed: 2}
    head = feed_store.head(KEY_A.feed)
    assert head is not None
    assert head.id == a[3].id
    assert [item.event.id for item in feed_store.log(4, 10)] == [a[2].id, a[3].id]
    assert feed_store.get(b[1].id) == b[1]
    assert feed_store.get("sha256:" + "A" * 43) is None


def test_wire_lines_are_canonical_wire_text(feed_store: SqliteFeedStore) -> None:
    events = feed_of(KEY_A, 3)
    feed_store.append(events)
    assert feed_store.read_lines(KEY_A.feed) == [e.wire_bytes() for e in events]
    header = events[0].signed_header_bytes()
    assert wire_line(header, None) == events[0].without_body().wire_bytes()


def test_duplicates_are_skipped_and_forks_refused(feed_store: SqliteFeedStore) -> None:
    events = feed_of(KEY_A, 3)
    feed_store.append(events)
    assert feed_store.append(events) == []
    rival = sign(KEY_A, events[0], T0 + 7, "campaign.updated", {"title": "Rival"})
    with pytest.raises(ForkError):
        feed_store.append([rival])
    assert feed_store.read(KEY_A.feed) == events


def test_gaps_and_wrong_prev_are_refused_and_nothing_stored(
    feed_store: SqliteFeedStore,
) -> None:
    events = feed_of(KEY_A, 4)
    with pytest.raises(SeqGapError):
        feed_store.append([events[1]])
    feed_store.append(events[:1])
    with pytest.raises(SeqGapError):
        # The whole batch is refused, the good event before the gap included.
        feed_store.append([events[1], events[3]])
    assert feed_store.heads() == {KEY_A.feed: 1}
    other = feed_of(
        KEY_A, 2, start=sign(KEY_A, None, T0 + 1, "group.profile_set", {"name": "x"})
    )
    with pytest.raises(PrevMismatchError):
        feed_store.append([other[0]])
    assert feed_store.heads() == {KEY_A.feed: 1}


def test_the_database_itself_refuses_a_second_event_at_a_seq(
    feed_store: SqliteFeedStore,
) -> None:
    events = feed_of(KEY_A, 2)
    feed_store.append(events)
    rival = sign(KEY_A, events[0], T0 + 9, "campaign.updated", {"title": "Rival"})
    # Straight to the recorder, past every Python check.
    stored = StoredEvent(
        rival.feed, rival.seq, EVENT_TOPIC, rival.signed_header_bytes()
    )
    with pytest.raises(IntegrityError):
        feed_store.recorder.insert_events(
            [stored], after_insert=lambda c: record_extras(c, [rival])
        )
    assert feed_store.read(KEY_A.feed) == events


def test_racing_writers_store_exactly_one_event_per_seq(tmp_path: Path) -> None:
    path = tmp_path / "feeds.db"
    first = feed_of(KEY_A, 1)
    SqliteFeedStore(path).append(first)
    stores = [SqliteFeedStore(path) for _ in range(8)]
    barrier = threading.Barrier(len(stores))
    outcomes: list[str] = []

    def race(index: int) -> None:
        event = sign(
            KEY_A, first[0], T0 + index, "campaign.updated", {"title": str(index)}
        )
        barrier.wait()
        try:
            stores[index].append([event])
            outcomes.append("stored")
        except Exception as error:
            outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("stored") == 1
    assert set(outcomes) <= {"stored", "ConflictError", "ForkError"}
    assert SqliteFeedStore(path).heads() == {KEY_A.feed: 2}


def test_redaction_deletes_the_body_for_real(tmp_path: Path) -> None:
    store = SqliteFeedStore(tmp_path / "feeds.db")
    key = SigningKey.generate()
    first = sign(key, None, T0, "group.profile_set", {"name": "Penrhiwceiber"})
    secret = sign(
        key,
        first,
        T0 + 1,
        "need.posted",
        {"title": "Mrs Xylophone-Jones needs a lift", "category": "transport"},
    )
    store.append([first, secret])
    redaction = sign(key, secret, T0 + 2, "event.redacted", {"id": secret.id})
    store.append([redaction])
    held = store.read(key.feed)
    assert held[1].is_redacted
    assert held[1].id == secret.id
    assert not held[0].is_redacted
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"Xylophone" not in raw
    store.close()


def test_a_redaction_from_another_feed_changes_nothing(
    feed_store: SqliteFeedStore,
) -> None:
    mine = feed_of(KEY_A, 2)
    theirs = feed_of(KEY_B, 1)
    feed_store.append([*mine, *theirs])
    attack = sign(KEY_B, theirs[0], T0 + 5, "event.redacted", {"id": mine[1].id})
    feed_store.append([attack])
    assert not feed_store.read(KEY_A.feed)[1].is_redacted


def test_a_body_named_by_an_earlier_redaction_is_never_stored(
    feed_store: SqliteFeedStore,
) -> None:
    events = feed_of(KEY_A, 2)
    redaction = sign(KEY_A, events[1], T0 + 5, "event.redacted", {"id": events[1].id})
    # The redaction and its target arrive in one batch.
    feed_store.append([*events, redaction])
    assert feed_store.read(KEY_A.feed)[1].is_redacted


def test_the_database_keeps_headers_verbatim(tmp_path: Path) -> None:
    store = SqliteFeedStore(tmp_path / "feeds.db")
    events = feed_of(KEY_A, 2)
    store.append(events)
    store.close()
    with sqlite3.connect(tmp_path / "feeds.db") as raw:
        rows = raw.execute(
            "SELECT state FROM stored_events ORDER BY originator_version"
        ).fetchall()
    assert [row[0] for row in rows] == [e.signed_header_bytes() for e in events]


def test_commits_are_durable(tmp_path: Path) -> None:
    # SQLite's setting (PostgreSQL commits are durable by its defaults).
    feed_store = SqliteFeedStore(tmp_path / "feeds.db")
    feed_store.append(feed_of(KEY_A, 1))
    assert isinstance(feed_store.recorder, FeedRecorder)
    with feed_store.recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA synchronous")
        assert cursor.fetchone()[0] == 2  # FULL
