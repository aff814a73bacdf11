"""Scenarios where events move: publish, catch-up and spread."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from node.bench.load import post_many
from node.bench.nodes import BenchError, BenchNode, Cluster, free_port, metric
from node.bench.report import Row, Sizes, percentile
from protocol import Event, decode_event, verify, verify_link

__all__ = ["catch_up", "projected", "publish", "spread"]

POLL = 0.02
BATCH = 1000


def _guide(n: int) -> dict[str, object]:
    return {
        "type": "guide.published",
        "body": {"title": f"Guide {n}", "text": f"How to run a street stall, {n}."},
    }


async def publish(
    cluster: Cluster, session: aiohttp.ClientSession, sizes: Sizes
) -> Row:
    """Events/s through ``POST /api/v1/events`` vs a bare sign-and-insert handler."""
    node = cluster.make("publisher")
    await cluster.start(session, node)
    bodies = [_guide(n) for n in range(sizes.publish)]
    url = f"{node.url}/api/v1/events"
    seconds, failed = await post_many(
        session, url, bodies, clients=sizes.clients, headers=node.auth
    )
    node.stop()
    port = free_port()
    bare = subprocess.Popen(  # noqa: S603, ASYNC220 (ours; not waited on)
        [
            sys.executable,
            "-m",
            "node.bench.bare",
            str(port),
            str(node.data / "bare.db"),
        ],
        stdin=subprocess.DEVNULL,
    )
    cluster.others.append(bare)
    await _until_answers(session, f"http://127.0.0.1:{port}/")
    bare_seconds, bare_failed = await post_many(
        session, f"http://127.0.0.1:{port}/", bodies, clients=sizes.clients
    )
    bare.terminate()
    rate = (sizes.publish - failed) / seconds
    baseline = (sizes.publish - bare_failed) / bare_seconds
    return Row(
        "publish", "ev/s", rate, baseline, rate / baseline, rate, 0.5, True,
        {"events": sizes.publish, "clients": sizes.clients},
        {"failed": failed, "seconds": seconds, "baseline_seconds": bare_seconds},
    )  # fmt: skip


async def _until_answers(session: aiohttp.ClientSession, url: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            async with session.get(url) as answer:
                await answer.read()
                return
        except (aiohttp.ClientError, OSError):
            await asyncio.sleep(POLL)
    raise BenchError(f"{url} did not answer")


async def projected(
    session: aiohttp.ClientSession, node: BenchNode, within: float
) -> None:
    """Wait until the node's read models have reached its last stored event."""
    deadline = time.monotonic() + within
    while True:
        text = await node.metrics(session)
        stored = metric(text, "tredegar_log_position")
        if stored and metric(text, "tredegar_projected_position") >= stored:
            return
        if time.monotonic() > deadline:
            raise BenchError(f"node {node.name} did not project within {within} s")
        await asyncio.sleep(0.1)


async def catch_up(
    cluster: Cluster,
    session: aiohttp.ClientSession,
    sizes: Sizes,
    source: BenchNode,
    sample: list[Event],
) -> Row:
    """Events/s a fresh node pulls and projects vs the bare one-core pipeline."""
    wanted = await source.heads(session)
    fresh = cluster.make("fresh")
    fresh.peers = [source.url]
    began = time.perf_counter()
    await cluster.start(session, fresh)
    limit = max(60.0, sizes.events / 500)
    deadline = time.monotonic() + limit
    while not _holds(await fresh.heads(session), wanted):
        if time.monotonic() > deadline:
            raise BenchError(f"catch-up did not finish within {limit:.0f} s")
        await asyncio.sleep(0.05)
    pulled = time.perf_counter() - began
    await projected(session, fresh, limit)
    seconds = time.perf_counter() - began
    fresh.stop()
    held = sum(wanted.values())
    baseline = await asyncio.to_thread(bare_pipeline, sample)
    rate = held / seconds
    return Row(
        "catch-up", "ev/s", rate, baseline, rate / baseline, rate, 0.5, True,
        {"events": held, "feeds": len(wanted)},
        {"seconds": seconds, "pulled_seconds": pulled, "goal_seconds_full": 20},
    )  # fmt: skip


def _holds(heads: dict[str, int], wanted: dict[str, int]) -> bool:
    return all(heads.get(feed, 0) >= seq for feed, seq in wanted.items())


def bare_pipeline(events: list[Event]) -> float:
    """Events/s of decode + verify + hash + batched insert, on one core."""
    lines = [event.wire_bytes() for event in events]
    with tempfile.TemporaryDirectory() as scratch:
        database = sqlite3.connect(Path(scratch) / "bare.db", isolation_level=None)
        database.execute("PRAGMA journal_mode=WAL")
        database.execute(
            "CREATE TABLE events (feed TEXT, seq INTEGER, id TEXT, wire BLOB, "
            "PRIMARY KEY (feed, seq))"
        )
        heads: dict[str, Event] = {}
        began = time.perf_counter()
        for start in range(0, len(lines), BATCH):
            rows = []
            for line in lines[start : start + BATCH]:
                event = decode_event(line)
                verify(event)  # signature and body hash
                verify_link(heads.get(event.feed), event)
                heads[event.feed] = event
                rows.append((event.feed, event.seq, event.id, line))
            database.execute("BEGIN")
            database.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", rows)
            database.execute("COMMIT")
        seconds = time.perf_counter() - began
        database.close()
    return len(lines) / seconds


def topology(count: int, kind: str, rng: random.Random) -> list[set[int]]:
    """Neighbours of each node: a chain, or a connected random 3-regular graph."""
    neighbours: list[set[int]] = [set() for _ in range(count)]
    if kind == "chain" or count < 4:
        for n in range(count - 1):
            neighbours[n].add(n + 1)
            neighbours[n + 1].add(n)
        return neighbours
    while True:
        stubs = [n for n in range(count) for _ in range(3)]
        rng.shuffle(stubs)
        pairs = list(zip(stubs[::2], stubs[1::2], strict=True))
        if any(a == b for a, b in pairs) or len({frozenset(p) for p in pairs}) < len(
            pairs
        ):
            continue
        neighbours = [set() for _ in range(count)]
        for a, b in pairs:
            neighbours[a].add(b)
            neighbours[b].add(a)
        if max(_distances(neighbours).values(), default=0) < count:
            return neighbours


def _distances(neighbours: list[set[int]]) -> dict[int, int]:
    """Hops from node 0 to every node (breadth first); all of them if connected."""
    distance = {0: 0}
    frontier = [0]
    while frontier:
        following = []
        for n in frontier:
            for m in neighbours[n]:
                if m not in distance:
                    distance[m] = distance[n] + 1
                    following.append(m)
        frontier = following
    if len(distance) < len(neighbours):
        return {0: len(neighbours)}
    return distance


async def spread(cluster: Cluster, session: aiohttp.ClientSession, sizes: Sizes) -> Row:
    """p99 time for a new event to reach every node vs one hop's median x hops."""
    rng = random.Random(3)  # noqa: S311 (a topology, not a secret)
    rows: dict[str, dict[str, float]] = {}
    hops_all: list[float] = []
    for kind in ("chain", "random"):
        neighbours = topology(sizes.spread_nodes, kind, rng)
        nodes = [cluster.make(f"{kind}{n}") for n in range(sizes.spread_nodes)]
        for n, node in enumerate(nodes):
            node.peers = [nodes[m].url for m in sorted(neighbours[n])]
        await cluster.start(session, *nodes, within=120)
        await _everyone_holds_all(session, nodes)
        times, hops = await _time_rounds(session, nodes, neighbours, sizes)
        for node in nodes:
            node.stop()
        hops_all += hops
        distance = max(_distances(neighbours).values())
        rows[kind] = {"p99": percentile(times, 0.99), "hops": distance}
    one_hop = statistics.median(hops_all)
    worst = max(rows.values(), key=lambda r: r["p99"] / (one_hop * r["hops"]))
    baseline = one_hop * worst["hops"]
    return Row(
        "spread", "s", worst["p99"], baseline, worst["p99"] / baseline, worst["p99"],
        1.5, False,
        {"nodes": sizes.spread_nodes, "rounds": sizes.spread_rounds},
        {"one_hop_median": one_hop, "topologies": rows},
    )  # fmt: skip


async def _everyone_holds_all(
    session: aiohttp.ClientSession, nodes: list[BenchNode]
) -> None:
    deadline = time.monotonic() + 60
    while True:
        held = await asyncio.gather(*(node.heads(session) for node in nodes))
        if all(len(heads) >= len(nodes) for heads in held):
            return
        if time.monotonic() > deadline:
            raise BenchError("the spread nodes did not learn each other's feeds")
        await asyncio.sleep(0.2)


async def _time_rounds(
    session: aiohttp.ClientSession,
    nodes: list[BenchNode],
    neighbours: list[set[int]],
    sizes: Sizes,
) -> tuple[list[float], list[float]]:
    """Per round: time until every node holds node 0's new event; one hop's time."""
    origin = nodes[0]
    near = min(neighbours[0])
    times: list[float] = []
    hops: list[float] = []
    for n in range(sizes.spread_rounds):
        began = time.perf_counter()
        async with session.post(
            f"{origin.url}/api/v1/events", json=_guide(n), headers=origin.auth
        ) as answer:
            seq = int((await answer.json())["seq"])
        arrived: dict[int, float] = {0: 0.0}
        deadline = time.monotonic() + 30
        while len(arrived) < len(nodes):
            if time.monotonic() > deadline:
                raise BenchError("a new event did not reach every node in 30 s")
            waiting = [m for m in range(len(nodes)) if m not in arrived]
            held = await asyncio.gather(*(nodes[m].heads(session) for m in waiting))
            now = time.perf_counter() - began
            for m, heads in zip(waiting, held, strict=True):
                if heads.get(origin.feed, 0) >= seq:
                    arrived[m] = now
            await asyncio.sleep(POLL)
        times.append(max(arrived.values()))
        hops.append(arrived[near])
        await asyncio.sleep(0.3)
    return times, hops
