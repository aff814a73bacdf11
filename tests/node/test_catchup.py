"""Catching up fast: encoding once, stored events, many feeds at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from node.federation.sync import Federation, PeerRound, SyncOptions
from node.federation.transport import FeedPage, PeerUnavailableError
from node.services.metrics import Metrics
from node.storage.feeds import SqliteFeedStore
from node.storage.writer import Writer
from protocol import (
    Event,
    FeedId,
    JsonObject,
    JsonValue,
    NonCanonicalError,
    SigningKey,
    canonical,
    decode_event,
    sign,
)
from protocol.event import event_from_stored
from tests.protocol.helpers import KEY_A, T0

PEER = "http://peer.example"
KEYS = [SigningKey.from_seed(bytes([index + 1]) * 32) for index in range(5)]


def _feed(key: SigningKey, count: int) -> list[Event]:
    events: list[Event] = []
    for seq in range(1, count + 1):
        previous = events[-1] if events else None
        body: JsonObject = {
            "title": f"Meeting {seq}",
            "tags": ["housing", "café"],
            "n": seq,
        }
        events.append(sign(key, previous, T0 + seq, "widget.noted", body))
    return events


def test_dump_is_encode_for_values_in_the_subset() -> None:
    value: JsonValue = {
        "b": [1, "ü", None, True],
        "a": {"z": "\n\u2028", "y": -(2**53 - 1)},
    }
    assert canonical.dump(value) == canonical.encode(value)
    with pytest.raises(NonCanonicalError):
        canonical.dump({"text": "\ud800"})


def test_decoded_events_keep_their_id_and_bytes() -> None:
    for event in _feed(KEY_A, 3):
        decoded = decode_event(event.wire_bytes())
        assert decoded == event
        assert decoded.header_bytes == event.header_bytes
        redacted = decode_event(event.without_body().wire_bytes())
        assert redacted == event.without_body()


def test_stored_headers_rebuild_the_same_event() -> None:
    for event in _feed(KEY_A, 3):
        header = orjson.loads(event.signed_header_bytes())
        assert event_from_stored(header, event.body) == event
        assert event_from_stored(header, None) == event.without_body()


class _Peer:
    """Serves feeds as pages, like a peer's transport; may fail on one feed."""

    def __init__(self, feeds: dict[FeedId, list[Event]], broken: FeedId | None):
        self.feeds = feeds
        self.broken = broken
        self.asked: list[FeedId] = []

    async def feed_page(self, url: str, feed: FeedId, after: int, limit: int) -> Any:
        self.asked.append(feed)
        await asyncio.sleep(0)
        if feed == self.broken:
            raise PeerUnavailableError("the peer went away")
        events = [e for e in self.feeds[feed] if e.seq > after][:limit]
        return FeedPage(events, None, is_cut=False)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteFeedStore]:
    store = SqliteFeedStore(tmp_path / "feeds.db")
    yield store
    store.close()


def _federation(store: SqliteFeedStore, peer: _Peer, **options: Any) -> Federation:
    own = SigningKey.from_seed(bytes([99]) * 32)

    async def offload(fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    federation = Federation(
        store=store,
        writer=Writer(store, own, lambda: T0),
        own_feed=own.feed,
        options=SyncOptions(own_url="http://self.example", page_limit=7, **options),
        metrics=Metrics(),
        clock=lambda: T0,
        offload=offload,
        on_caught_up=lambda: None,
        is_catching_up=lambda: False,
    )
    federation.transport = peer  # type: ignore[assignment]
    return federation


async def test_many_feeds_are_pulled_at_once_in_order(store: SqliteFeedStore) -> None:
    feeds = {key.feed: _feed(key, 20) for key in KEYS}
    federation = _federation(store, _Peer(feeds, None), feeds_at_once=3)
    result = PeerRound(PEER)
    await federation._pull_all(PEER, [(f, 20) for f in feeds], result)
    assert result.refusal is None
    assert result.is_complete
    for feed, events in feeds.items():
        assert [e.id for e in store.read(feed)] == [e.id for e in events]
    positions = {feed: [] for feed in feeds}  # type: dict[FeedId, list[int]]
    for logged in store.iter_all():
        positions[logged.event.feed].append(logged.event.seq)
    assert all(seqs == list(range(1, 21)) for seqs in positions.values())


async def test_the_feed_limit_holds_with_feeds_pulled_at_once(
    store: SqliteFeedStore,
) -> None:
    feeds = {key.feed: _feed(key, 3) for key in KEYS}
    federation = _federation(store, _Peer(feeds, None), feeds_at_once=4, max_feeds=2)
    await federation._pull_all(PEER, [(f, 3) for f in feeds], PeerRound(PEER))
    assert len(store.heads()) == 2


async def test_an_unavailable_peer_ends_the_round_and_stops_the_other_pulls(
    store: SqliteFeedStore,
) -> None:
    feeds = {key.feed: _feed(key, 30) for key in KEYS}
    peer = _Peer(feeds, KEYS[0].feed)
    federation = _federation(store, peer, feeds_at_once=2)
    with pytest.raises(PeerUnavailableError):
        await federation._pull_all(PEER, [(f, 30) for f in feeds], PeerRound(PEER))
    await asyncio.sleep(0.05)
    asked = len(peer.asked)
    await asyncio.sleep(0.05)
    assert len(peer.asked) == asked  # nothing goes on pulling after the failure
    for feed, held in store.heads().items():
        assert [e.seq for e in store.read(feed)] == list(range(1, held + 1))
