"""Several worker processes of one PostgreSQL node (``tredegar run --workers``).

Real processes throughout: a node on PostgreSQL serving from two workers on
one socket, peered both ways with a node on SQLite. What is shown: publishes
sent at once through both workers make one gap-free, fork-free own feed that
``tredegar verify`` passes; the two nodes federate both ways, and the live
pages of both workers announce what arrived by sync; when the worker holding
the leader lock is killed (``kill -9``) another takes over within seconds,
sync carries on and the parent starts a new worker; SQLite refuses
``--workers``. The lock itself is tested in ``tests/storage/test_leader.py``.

Requests go over a fresh connection each (``force_close``), so the kernel
spreads them over both workers; ``/metrics`` says which worker answered
(``tredegar_worker_pid``) and whether it leads (``tredegar_leader``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

import node.cli.workers as workers_module
from node.cli.workers import MAX_EARLY_EXITS, Supervisor, WorkersFailedError
from protocol import decode_event
from tests.network.cluster import (
    FAST,
    cli,
    configure,
    feed_lines,
    forks,
    has_event,
    start_nodes,
    wait_for,
)
from tests.network.conftest import (
    CONDITION_SECONDS,
    START_SECONDS,
    Json,
    Node,
    NodeFactory,
    guide,
    publish,
    tredegar,
    wait_until,
)
from tests.pg import require_postgres

#: Settings of both nodes: a sync round and a projection poll a second or less.
SETTINGS = {**FAST, "projection_poll_seconds": 0.25}
#: How many events are published at once through the two workers.
PUBLISHES = 60


@dataclass
class Pair:
    """A PostgreSQL node with two workers and a SQLite node, peered both ways."""

    pg: Node
    lite: Node


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    """Both nodes, started once for the module (each start costs seconds)."""
    require_postgres()
    root = tmp_path_factory.mktemp("workers")
    (root / "pg").mkdir()
    (root / "lite").mkdir()
    on_pg = NodeFactory(root / "pg", backend="postgresql")
    on_lite = NodeFactory(root / "lite")
    try:
        pg = on_pg.init("pg", group="Group on PostgreSQL", start=False)
        lite = on_lite.init("lite", group="Group on SQLite", start=False)
        configure(pg, SETTINGS)
        configure(lite, SETTINGS)
        asyncio.run(
            start_nodes(
                [
                    (pg, ["--workers", "2", "--peer", lite.url]),
                    (lite, ["--peer", pg.url]),
                ]
            )
        )
        yield Pair(pg, lite)
    finally:
        on_lite.close()
        on_pg.close()


@contextlib.asynccontextmanager
async def fresh() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session that opens a new connection for every request."""
    connector = aiohttp.TCPConnector(force_close=True, limit=32)
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


@dataclass(frozen=True)
class Worker:
    """What one worker's ``/metrics`` said."""

    pid: int
    is_leader: bool
    published: float


async def scrape(session: aiohttp.ClientSession, node: Node) -> Worker:
    """``/metrics`` of whichever worker answers."""
    async with session.get(f"{node.url}/metrics") as response:
        assert response.status == 200
        text = await response.text()
    values = {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }
    return Worker(
        int(values["tredegar_worker_pid"]),
        values["tredegar_leader"] == 1,
        values.get("tredegar_events_published_total", 0.0),
    )


async def workers(
    session: aiohttp.ClientSession,
    node: Node,
    *,
    count: int = 2,
    without: int | None = None,
    within: float = START_SECONDS,
) -> dict[int, Worker]:
    """Scrape until ``count`` workers (not ``without``) answered; the latest of each."""
    seen: dict[int, Worker] = {}

    async def all_answered() -> bool:
        with contextlib.suppress(aiohttp.ClientError):
            worker = await scrape(session, node)
            if worker.pid != without:
                seen[worker.pid] = worker
        return len(seen) >= count

    await wait_for(all_answered, what=f"{count} workers of {node.name}", within=within)
    return seen


async def leader(session: aiohttp.ClientSession, node: Node) -> int:
    """The pid of the worker that leads, once one does."""
    found: list[int] = []

    async def led() -> bool:
        with contextlib.suppress(aiohttp.ClientError):
            worker = await scrape(session, node)
            if worker.is_leader:
                found.append(worker.pid)
        return bool(found)

    await wait_for(led, what=f"a leader of {node.name}")
    return found[0]


async def try_publish(session: aiohttp.ClientSession, node: Node, n: int) -> Json:
    """Publish guide ``n``; ``{"status": …, "answer": …}`` whatever the status."""
    async with session.post(
        f"{node.url}/api/v1/events", json=guide(n), headers=node.auth
    ) as response:
        return {"status": response.status, "answer": await response.json()}


async def test_publishing_through_both_workers_keeps_one_gap_free_feed(
    pair: Pair,
) -> None:
    pg = pair.pg
    async with fresh() as session:
        await workers(session, pg)
        gate = asyncio.Semaphore(12)

        async def one(n: int) -> Json:
            async with gate:
                return await try_publish(session, pg, n)

        results = await asyncio.gather(*(one(n) for n in range(PUBLISHES)))
        # Under contention a publish may be refused, never half-done.
        refused = [r for r in results if r["status"] != 201]
        assert all(r["answer"]["code"] == "conflict" for r in refused), refused
        assert len(refused) <= PUBLISHES // 10, refused
        stored = {r["answer"]["id"] for r in results if r["status"] == 201}

        # Both workers published some of them.
        counts = await workers(session, pg)
        assert all(worker.published > 0 for worker in counts.values()), counts
        assert sum(worker.published for worker in counts.values()) == len(stored)

        events = [decode_event(line) for line in await feed_lines(session, pg, pg.feed)]
        assert [event.seq for event in events] == list(range(1, len(events) + 1))
        assert all(b.prev == a.id for a, b in itertools.pairwise(events))
        assert stored <= {event.id for event in events}
        assert len(events) == len({event.id for event in events})
        assert await forks(session, pg) == []
    verified = await cli("verify", "--data", pg.data)
    assert verified["problems"] == [], verified
    assert verified["checked"] >= len(events)


async def _announced(stream: aiohttp.ClientResponse, *event_ids: str) -> None:
    """Read a live stream until it has announced every one of ``event_ids``."""
    waiting = {event_id.encode() for event_id in event_ids}
    async for line in stream.content:
        waiting = {event_id for event_id in waiting if event_id not in line}
        if not waiting:
            return


async def test_two_workers_and_a_sqlite_node_federate_both_ways(pair: Pair) -> None:
    pg, lite = pair.pg, pair.lite
    async with fresh() as session:
        await workers(session, pg)
        # Live pages on whichever workers the connections reach: each learns
        # of events the other worker stored (by sync, or a publish).
        streams = [await session.get(f"{pg.url}/events/stream") for _ in range(4)]
        try:
            from_lite = await publish(session, lite, 1001)
            from_pg = await publish(session, pg, 1002)
            await wait_for(
                lambda: has_event(session, pg, from_lite["id"]),
                what="the SQLite node's event at the PostgreSQL node",
            )
            await wait_for(
                lambda: has_event(session, lite, from_pg["id"]),
                what="the PostgreSQL node's event at the SQLite node",
            )
            await asyncio.wait_for(
                asyncio.gather(
                    *(_announced(s, from_lite["id"], from_pg["id"]) for s in streams)
                ),
                timeout=15,
            )
        finally:
            for stream in streams:
                stream.close()


async def test_killing_the_leader_hands_over_and_sync_goes_on(pair: Pair) -> None:
    pg, lite = pair.pg, pair.lite
    assert pg.process is not None
    async with fresh() as session:
        await workers(session, pg)
        killed = await leader(session, pg)
        os.kill(killed, signal.SIGKILL)
        started = time.monotonic()

        async def taken_over() -> bool:
            with contextlib.suppress(aiohttp.ClientError):
                worker = await scrape(session, pg)
                return worker.is_leader and worker.pid != killed
            return False

        await wait_for(taken_over, what="another worker to lead", within=15)
        assert time.monotonic() - started < 10

        # Sync goes on: a new event of the SQLite peer arrives.
        event = await publish(session, lite, 2001)
        await wait_for(
            lambda: has_event(session, pg, event["id"]),
            what="the SQLite node's event after the kill",
        )
        # The parent started a new worker in place of the killed one.
        fresh_workers = await workers(session, pg, without=killed)
        assert killed not in fresh_workers
        assert sum(worker.is_leader for worker in fresh_workers.values()) <= 1
        assert pg.process.poll() is None
        assert "was killed by SIGKILL" in pg.log()


def test_sqlite_refuses_several_workers(tmp_path: Path) -> None:
    done = tredegar("run", "--data", tmp_path, "--workers", "2")
    assert done.returncode == 1
    assert "--workers above 1 needs PostgreSQL" in done.stderr


# --- the parent alone, with stand-in workers -----------------------------------------

#: A stand-in worker: notes its start, and its stop on SIGTERM, in a directory.
STAND_IN = """
import os, pathlib, signal, sys, time
notes = pathlib.Path(sys.argv[1])
def stop(number, frame):
    (notes / f"stopped-{os.getpid()}").touch()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
(notes / f"started-{os.getpid()}").touch()
if sys.argv[2] == "fail":
    sys.exit(3)
while True:
    time.sleep(0.05)
"""


def _supervise(notes: Path, mode: str) -> int:
    """``run --workers 2``'s parent, in this process, over stand-in workers."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        command = [sys.executable, "-c", STAND_IN, str(notes), mode]
        return Supervisor(command, 2, listener.fileno()).run()


def _pids(notes: Path, what: str) -> set[int]:
    return {int(path.name.split("-")[1]) for path in notes.glob(f"{what}-*")}


def test_the_parent_restarts_a_killed_worker_and_stops_them_all(
    tmp_path: Path,
) -> None:
    killed: list[int] = []

    def meanwhile() -> None:
        # On another thread while the parent supervises on this one.
        wait_until(
            lambda: len(_pids(tmp_path, "started")) == 2,
            what="2 workers",
            timeout=CONDITION_SECONDS,
        )
        killed.append(min(_pids(tmp_path, "started")))
        os.kill(killed[0], signal.SIGKILL)
        wait_until(
            lambda: len(_pids(tmp_path, "started")) == 3,
            what="a new worker",
            timeout=CONDITION_SECONDS,
        )
        os.kill(os.getpid(), signal.SIGTERM)  # to the parent: stop

    helper = threading.Thread(target=meanwhile)
    helper.start()
    try:
        assert _supervise(tmp_path, "serve") == 0
    finally:
        helper.join()
    # Every worker still running was told to stop, and did.
    assert _pids(tmp_path, "stopped") == _pids(tmp_path, "started") - set(killed)


def test_the_parent_gives_up_when_workers_keep_failing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers_module, "BACKOFF_FIRST", 0.01)
    with pytest.raises(WorkersFailedError, match="giving up"):
        _supervise(tmp_path, "fail")
    # Two at first, then one more for each early exit but the last.
    started = len(_pids(tmp_path, "started"))
    assert MAX_EARLY_EXITS <= started <= MAX_EARLY_EXITS + 1
