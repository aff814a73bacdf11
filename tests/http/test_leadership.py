"""Two workers of one PostgreSQL node in this process: who leads, and what passes.

Each worker is a full app (``create_app`` on its own ``NodeServices``) on the
same scratch schema, exactly as two ``tredegar run`` processes would share
it; the first to start leads. A peer is an honest in-process ``/fed/v1``
server (``tests/network/hostile.py``) that records the notifies it gets. The
node syncs on its own only once a minute here, so anything that arrives
sooner came by the path under test. The same over real processes, with
``kill -9``, is ``tests/network/test_workers.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from node.http.app import create_app
from node.services.runtime import NodeServices
from node.storage.federation import OPERATOR
from protocol import FeedId
from tests.http.conftest import ClientFactory, Served, make_settings, serve
from tests.network.hostile import Author, HostilePeer
from tests.pg import scratch_url

#: The node's own sync rounds: rare, so only hints and pushes move events.
SLOW_SYNC = 60.0


@dataclass
class Workers:
    """The leading worker, the other one, and the peer both know."""

    first: Served
    second: Served
    peer: HostilePeer


@pytest.fixture
def peer() -> Iterator[HostilePeer]:
    """An honest peer in this process."""
    with HostilePeer("peer") as honest:
        yield honest


@pytest.fixture
async def workers(
    tmp_path: Path, aiohttp_client: ClientFactory, peer: HostilePeer
) -> AsyncIterator[Workers]:
    """Two workers of one node on PostgreSQL, the first one leading."""
    with scratch_url("workers") as url:
        settings, made = make_settings(
            tmp_path,
            database_url=url,
            sync_interval=SLOW_SYNC,
            projection_poll_seconds=0.2,
        )
        first = await serve(settings, made, aiohttp_client)
        services = await asyncio.to_thread(NodeServices.open, settings)
        client: TestClient = await aiohttp_client(  # type: ignore[type-arg]
            create_app(settings, services)
        )
        second = Served(client, services, made, settings)
        try:
            leading = first.services
            await leading.read(
                leading.store.federation.add_peer, peer.url, origin=OPERATOR, now=1
            )
            # One round now, so the next is a minute away.
            await leading.federation.run_once()
            yield Workers(first, second, peer)
        finally:
            for served in (second, first):
                await served.client.close()
                served.services.close()


async def until(
    condition: Callable[[], Awaitable[bool]], what: str, within: float = 10.0
) -> float:
    """Await ``condition`` every 50 ms; the seconds it took (fail past within)."""
    started = time.monotonic()
    while not await condition():
        if time.monotonic() - started > within:
            pytest.fail(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def leader_gauge(served: Served) -> str:
    response = await served.client.get("/metrics")
    text = await response.text()
    lines = text.splitlines()
    return next(line for line in lines if line.startswith("tredegar_leader "))


def notified(peer: HostilePeer) -> list[tuple[str, int]]:
    """The (feed, seq) of every notify the peer received."""
    pairs = []
    for note in list(peer.notifies):
        assert isinstance(note, dict)
        feed, seq = note["feed"], note["seq"]
        assert isinstance(feed, str)
        assert isinstance(seq, int)
        pairs.append((feed, seq))
    return pairs


async def publish(served: Served, title: str) -> str:
    response = await served.client.post(
        "/api/v1/events",
        json={"type": "guide.published", "body": {"title": title, "text": "x" * 20}},
        headers=served.organiser,
    )
    answer = await response.json()
    assert response.status == 201, answer
    event_id: str = answer["id"]
    return event_id


async def test_one_worker_leads_and_the_other_takes_over(workers: Workers) -> None:
    first, second = workers.first, workers.second
    assert first.services.leadership.is_leader
    assert not second.services.leadership.is_leader
    assert await leader_gauge(first) == "tredegar_leader 1.0"
    assert await leader_gauge(second) == "tredegar_leader 0.0"

    await first.client.close()  # the leading worker stops: it lets go

    async def leads() -> bool:
        return second.services.leadership.is_leader

    took = await until(leads, "the other worker to lead")
    assert took < 3.0
    assert await leader_gauge(second) == "tredegar_leader 1.0"


async def test_a_notify_to_the_follower_makes_the_leader_pull(
    workers: Workers,
) -> None:
    author = Author("Merthyr Mutual Aid")
    author.guide("Street stalls")
    workers.peer.serve_events(author.events)
    second = workers.second
    url = str(second.client.make_url("")).rstrip("/")
    assert await asyncio.to_thread(workers.peer.notify, url, author.feed, 2) == 202

    async def pulled() -> bool:
        head = await second.services.read(
            second.services.store.head, FeedId(author.feed)
        )
        return head is not None and head.seq == 2

    # Pulled by the leader (the follower never syncs), long before its round.
    await until(pulled, "the leader to pull the notified feed")


async def test_a_followers_publish_is_pushed_to_peers_by_the_leader(
    workers: Workers,
) -> None:
    peer, second = workers.peer, workers.second
    feed = workers.first.services.key.feed

    async def announced() -> bool:
        return (feed, 1) in notified(peer)

    await until(announced, "the leader to announce itself to the peer")
    await publish(second, "Published through the follower")

    async def pushed() -> bool:
        return (feed, 2) in notified(peer)

    await until(pushed, "a notify of the follower's publish")


async def test_a_follower_sees_what_the_leader_stored(workers: Workers) -> None:
    first, second = workers.first, workers.second
    stream = await second.client.get("/events/stream")
    assert stream.status == 200
    event_id = await publish(first, "Published through the leader")
    assert await second.services.settled(2.0)
    response = await second.client.get(f"/api/v1/events/{event_id}")
    assert response.status == 200

    async def announced() -> None:
        async for line in stream.content:
            if event_id.encode() in line:
                return

    await asyncio.wait_for(announced(), 10.0)
    stream.close()
