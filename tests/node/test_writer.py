"""The writer thread: gap-free, fork-free publishing under concurrency, batching."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest

from node.storage.feeds import Logged, SqliteFeedStore
from node.storage.writer import Writer
from protocol import (
    Event,
    NonCanonicalError,
    PrevMismatchError,
    SeqGapError,
    SigningKey,
    sign,
    verify_chain,
)
from tests.protocol.helpers import KEY_B, T0, feed_of


def _writer(tmp_path: Path) -> tuple[Writer, SqliteFeedStore, SigningKey]:
    store = SqliteFeedStore(tmp_path / "feeds.db")
    key = SigningKey.generate()
    ticks = itertools.count(T0)
    return Writer(store, key, lambda: next(ticks)), store, key


async def test_concurrent_publishes_make_one_unbroken_chain(tmp_path: Path) -> None:
    writer, store, key = _writer(tmp_path)
    batches: list[int] = []
    writer.add_listener(lambda stored: batches.append(len(stored)))
    events = await asyncio.gather(
        *(
            writer.publish("guide.published", {"title": f"g{i}", "text": "t"})
            for i in range(200)
        )
    )
    writer.close()
    assert sorted(e.seq for e in events) == list(range(1, 201))
    held = store.read(key.feed)
    assert [e.seq for e in held] == list(range(1, 201))
    verify_chain(held)
    # Concurrent publishes were committed together, not one transaction each.
    assert len(batches) < 200
    assert sum(batches) == 200


async def test_one_bad_publish_does_not_spoil_its_batch(tmp_path: Path) -> None:
    writer, store, key = _writer(tmp_path)
    good = writer.publish("guide.published", {"title": "ok", "text": "t"})
    bad = writer.publish("guide.published", {"title": 1.5})  # type: ignore[dict-item]
    results = await asyncio.gather(good, bad, return_exceptions=True)
    writer.close()
    assert isinstance(results[1], NonCanonicalError)
    assert [e.seq for e in store.read(key.feed)] == [1]


async def test_replicas_are_appended_in_order_and_gaps_refused(tmp_path: Path) -> None:
    writer, store, _ = _writer(tmp_path)
    seen: list[list[Logged]] = []
    writer.add_listener(seen.append)
    replica = feed_of(KEY_B, 5)
    stored = await writer.append_verified(replica[:3])
    assert [item.event.seq for item in stored] == [1, 2, 3]
    with pytest.raises(SeqGapError):
        await writer.append_verified([replica[4]])
    with pytest.raises(PrevMismatchError):
        await writer.append_verified([_rival_fourth()])
    assert store.heads() == {KEY_B.feed: 3}
    assert [len(batch) for batch in seen] == [3]
    writer.close()


def _rival_fourth() -> Event:
    """A seq 4 of feed B that continues another seq 3 than ours."""
    rival_third = sign(KEY_B, feed_of(KEY_B, 2)[1], T0 + 99, "campaign.updated", {})
    return sign(KEY_B, rival_third, T0 + 100, "campaign.updated", {})


async def test_publishes_continue_the_stored_head_after_a_restart(
    tmp_path: Path,
) -> None:
    writer, store, key = _writer(tmp_path)
    await writer.publish("guide.published", {"title": "a", "text": "t"})
    writer.close()
    store.close()
    reopened = SqliteFeedStore(tmp_path / "feeds.db")
    again = Writer(reopened, key, lambda: T0)
    event = await again.publish("guide.published", {"title": "b", "text": "t"})
    again.close()
    assert event.seq == 2
    verify_chain(reopened.read(key.feed))
