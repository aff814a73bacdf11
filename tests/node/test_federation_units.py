"""Federation pieces that need no network: cursors, address rules, rate limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.federation.addresses import is_private_url, may_dial
from node.http.ratelimit import _Buckets
from node.services.network import NetworkQueries, make_cursor, parse_cursor
from node.storage.federation import LEARNED, OPERATOR
from node.storage.feeds import SqliteFeedStore
from protocol import MalformedError, sign
from tests.protocol.helpers import KEY_A, KEY_B, T0, feed_of


def test_cursors_round_trip_and_foreign_ones_start_again() -> None:
    cursor = make_cursor("0123456789ab", 42)
    assert parse_cursor(cursor, "0123456789ab", 100) == 42
    assert parse_cursor(cursor, "ffffffffffff", 100) == 0  # another database
    assert parse_cursor(cursor, "0123456789ab", 10) == 0  # from the future: restored
    for junk in ("", "42", "x.1", "0123456789ab.-1", "0123456789ab." + "9" * 30):
        with pytest.raises(MalformedError):
            parse_cursor(junk, "0123456789ab", 100)


def test_heads_since_a_cursor_name_only_what_changed(tmp_path: Path) -> None:
    store = SqliteFeedStore(tmp_path / "feeds.db")
    a, b = feed_of(KEY_A, 3), feed_of(KEY_B, 1)
    store.append([*a[:2], b[0]])
    queries = NetworkQueries(store)
    full = queries.heads(None)
    assert dict(full.heads) == {KEY_A.feed: 2, KEY_B.feed: 1}
    assert dict(queries.heads(full.cursor).heads) == {}
    store.append([a[2]])
    changed = queries.heads(full.cursor)
    assert dict(changed.heads) == {KEY_A.feed: 3}
    assert dict(queries.heads(changed.cursor).heads) == {}
    store.federation.block(KEY_B.feed, "feed", now=1)
    assert KEY_B.feed not in queries.heads(None).heads
    store.close()


def test_forks_freeze_a_feed_and_are_served(tmp_path: Path) -> None:
    store = SqliteFeedStore(tmp_path / "feeds.db")
    first, second = feed_of(KEY_A, 2)
    store.append([first, second])
    rival = sign(KEY_A, first, T0 + 5, "campaign.updated", {"title": "rival"})
    assert store.record_fork(second, rival, now=1)
    assert not store.record_fork(second, rival, now=2)
    (proof,) = NetworkQueries(store).forks().forks
    proof.verify()
    third = sign(KEY_A, second, T0 + 6, "campaign.updated", {"title": "after"})
    with pytest.raises(Exception, match="frozen"):
        store.append([third])
    store.close()


def test_peers_table(tmp_path: Path) -> None:
    store = SqliteFeedStore(tmp_path / "feeds.db")
    state = store.federation
    assert state.add_peer("http://a.example", origin=LEARNED, now=1)
    assert not state.add_peer("http://a.example", origin=OPERATOR, now=2)
    (peer,) = state.peers()
    assert peer.origin == OPERATOR
    assert state.peer_failed("http://a.example", error="x" * 900, next_attempt=9) == 1
    failed = state.peer("http://a.example")
    assert failed is not None
    assert failed.last_error is not None
    assert len(failed.last_error) == 500
    state.peer_succeeded("http://a.example", now=10, cursor="c")
    ok = state.peer("http://a.example")
    assert ok is not None
    assert (ok.failures, ok.cursor, ok.last_seen) == (0, "c", 10)
    assert store.federation.epoch() == state.epoch()
    store.close()


@pytest.mark.parametrize(
    ("url", "private"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://localhost:8000", True),
        ("http://10.1.2.3", True),
        ("http://192.168.0.7", True),
        ("http://[::1]:80", True),
        ("http://169.254.1.1", True),
        ("http://8.8.8.8", False),
        ("https://tenants.example.org", None),
    ],
)
def test_private_addresses(url: str, private: bool | None) -> None:
    assert is_private_url(url) is private


async def test_a_public_node_never_dials_into_private_ranges() -> None:
    public = "https://tenants.example.org"
    assert not await may_dial("http://127.0.0.1:1", own_url=public, allow_private=False)
    assert not await may_dial("http://10.0.0.1", own_url=public, allow_private=False)
    assert await may_dial("http://8.8.8.8", own_url=public, allow_private=False)
    assert await may_dial("http://10.0.0.1", own_url=public, allow_private=True)
    lan = "http://192.168.1.20:8484"
    assert await may_dial("http://192.168.1.21:8484", own_url=lan, allow_private=False)
    # A name that does not resolve is refused rather than dialled blind.
    assert not await may_dial(
        "http://no-such-host.invalid", own_url=public, allow_private=False
    )


def test_rate_limit_buckets() -> None:
    buckets = _Buckets(rate=1.0)
    assert all(buckets.take("198.51.100.7") for _ in range(4))
    assert not buckets.take("198.51.100.7")
    assert buckets.take("198.51.100.8")


def test_a_restored_database_gets_a_new_epoch(tmp_path: Path) -> None:
    store = SqliteFeedStore(tmp_path / "feeds.db")
    first = store.federation.epoch()
    assert store.federation.epoch() == first
    renewed = store.federation.renew_epoch()
    assert renewed != first
    assert store.federation.epoch() == renewed
    store.close()
