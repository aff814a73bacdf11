"""The leader lock (``node.storage.leader``) on a real PostgreSQL server.

Each test's lock is keyed by a scratch schema of its own, so tests running
at once never contend for one lock. Two locks in one process are two
sessions, exactly as two worker processes would hold them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from node.config import load_settings
from node.errors import StorageUnavailableError
from node.storage.backend import postgres_target
from node.storage.leader import (
    AdvisoryLeaderLock,
    SoleLeader,
    leader_key,
    open_leader_lock,
)
from tests.pg import scratch_url, server_url


@pytest.fixture
def url() -> Iterator[str]:
    """A ``database_url`` with a schema of its own."""
    with scratch_url("leader") as scratch:
        yield scratch


@pytest.fixture
def pair(url: str) -> Iterator[tuple[AdvisoryLeaderLock, AdvisoryLeaderLock]]:
    """Two workers' locks of one node; both closed afterwards."""
    target = postgres_target(url)
    first, second = AdvisoryLeaderLock(target), AdvisoryLeaderLock(target)
    yield first, second
    first.close()
    second.close()


def _backend_pid(lock: AdvisoryLeaderLock) -> int:
    connection = lock._connection
    assert connection is not None
    pid = connection.info.backend_pid
    assert isinstance(pid, int)
    return pid


def test_only_one_of_two_holds_the_lock(
    pair: tuple[AdvisoryLeaderLock, AdvisoryLeaderLock],
) -> None:
    first, second = pair
    assert first.try_acquire()
    assert not second.try_acquire()
    assert first.is_held()
    assert not second.is_held()
    # Trying again while holding it does not stack a second lock.
    assert first.try_acquire()
    first.release()
    assert not first.is_held()
    assert second.try_acquire()
    assert not first.try_acquire()


def test_closing_the_holder_lets_the_other_take_it(
    pair: tuple[AdvisoryLeaderLock, AdvisoryLeaderLock],
) -> None:
    first, second = pair
    assert first.try_acquire()
    assert not second.try_acquire()
    first.close()
    assert second.try_acquire()
    assert second.is_held()


def test_a_killed_session_loses_the_lock(
    pair: tuple[AdvisoryLeaderLock, AdvisoryLeaderLock],
) -> None:
    """The server ending the holder's session is a worker dying: it steps down."""
    first, second = pair
    assert first.try_acquire()
    with psycopg.connect(server_url(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (_backend_pid(first),))
    assert not first.is_held()
    deadline = time.monotonic() + 5
    while not second.try_acquire():
        assert time.monotonic() < deadline, "the lock was not freed"
        time.sleep(0.05)
    # The broken one reconnects and finds the lock taken.
    assert not first.try_acquire()


def test_messages_reach_only_the_leader(
    pair: tuple[AdvisoryLeaderLock, AdvisoryLeaderLock],
) -> None:
    leader, follower = pair
    assert leader.try_acquire()
    follower.send("hint http://127.0.0.1:9/")
    follower.send("stored 7")
    received: list[str] = []
    deadline = time.monotonic() + 5
    while len(received) < 2 and time.monotonic() < deadline:
        received += leader.receive(1.0)
    assert received == ["hint http://127.0.0.1:9/", "stored 7"]
    assert follower.receive(0.01) == []
    started = time.monotonic()
    assert leader.receive(0.2) == []
    assert time.monotonic() - started >= 0.15


def test_nodes_sharing_a_database_never_share_a_lock(url: str) -> None:
    target = postgres_target(url)
    other = postgres_target(url.replace("schema=", "schema=other_"))
    assert leader_key(target) == leader_key(postgres_target(url))
    assert leader_key(target) != leader_key(other)
    assert 0 <= leader_key(target) < 2**63
    mine, theirs = AdvisoryLeaderLock(target), AdvisoryLeaderLock(other)
    try:
        assert mine.try_acquire()
        assert theirs.try_acquire()
    finally:
        mine.close()
        theirs.close()


def test_an_unreachable_server_is_reported() -> None:
    target = postgres_target("postgresql://postgres@127.0.0.1:1/postgres")
    lock = AdvisoryLeaderLock(target)
    with pytest.raises(StorageUnavailableError, match="leader lock"):
        lock.try_acquire()
    assert not lock.is_held()


def test_sqlite_nodes_always_lead(tmp_path: Path, url: str) -> None:
    sole = open_leader_lock(load_settings(tmp_path, {}))
    assert isinstance(sole, SoleLeader)
    assert not sole.is_shared
    assert sole.try_acquire()
    assert sole.is_held()
    shared = open_leader_lock(load_settings(tmp_path, {}, {"database_url": url}))
    assert isinstance(shared, AdvisoryLeaderLock)
    assert shared.is_shared
    shared.close()
