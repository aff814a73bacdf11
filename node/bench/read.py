"""Scenarios where nothing new happens: in-sync, query, memory and start."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable

import aiohttp

from node.bench.feeds import TOWNS, fill
from node.bench.load import CountingProxy, Exchange, closed_loop
from node.bench.nodes import BenchError, BenchNode, Cluster, free_port, peak_rss
from node.bench.report import Row, Sizes, percentile
from node.bench.write import projected

__all__ = ["in_sync", "memory", "query", "start"]

MB = 1024 * 1024


async def in_sync(
    cluster: Cluster, session: aiohttp.ClientSession, sizes: Sizes
) -> Row:
    """Bytes and requests of one sync round between two agreeing peers."""
    source = cluster.make("agreeing-a")
    fill(source.feeds_db, feeds=sizes.sync_feeds, events=sizes.sync_feeds * 2)
    port = free_port()
    proxy = CountingProxy(source.url)
    await proxy.start(port)
    try:
        # The source names the proxy as its URL, so the other peer only learns
        # (and only talks to) the proxy.
        with (source.data / "tredegar.toml").open("a", encoding="utf-8") as config:
            config.write(f'public_url = "http://127.0.0.1:{port}"\n')
        other = cluster.make("agreeing-b")
        other.peers = [f"http://127.0.0.1:{port}"]
        await cluster.start(session, source, other)
        wanted = await source.heads(session)
        deadline = time.monotonic() + 120
        while not _agree(await other.heads(session), wanted):
            if time.monotonic() > deadline:
                raise BenchError("the in-sync peers did not agree within 120 s")
            await asyncio.sleep(0.2)
        rounds = await _steady_rounds(proxy, cluster.sync_interval)
    finally:
        await proxy.close()
    requests = statistics.median(len(r) for r in rounds)
    size = statistics.median(sum(e.sent + e.received for e in r) for r in rounds)
    return Row(
        "in-sync", "bytes", None, None, None, size, 1024, False,
        {"feeds": len(wanted)},
        {"requests": requests, "rounds": len(rounds),
         "paths": sorted({e.path for e in rounds[-1]})},
        also_met=requests <= 1,
    )  # fmt: skip


async def _steady_rounds(proxy: CountingProxy, interval: float) -> list[list[Exchange]]:
    """The exchanges of three rounds after agreement, split at each heads request."""
    await asyncio.sleep(interval * 2.5)  # let the catching-up round finish
    proxy.exchanges.clear()
    await asyncio.sleep(interval * 4.2)
    rounds: list[list[Exchange]] = []
    for exchange in proxy.exchanges:
        if exchange.path == "/fed/v1/heads" or not rounds:
            rounds.append([])
        rounds[-1].append(exchange)
    if not rounds:
        raise BenchError("no sync round passed the proxy")
    return rounds[1:] or rounds


def _agree(heads: dict[str, int], wanted: dict[str, int]) -> bool:
    return all(heads.get(feed, 0) >= seq for feed, seq in wanted.items())


def _routes(node: BenchNode, event_id: str) -> dict[str, Callable[[int], str]]:
    lat, lon = TOWNS[0]
    near = f"lat={lat / 1e6}&lon={lon / 1e6}&within_km=25"
    return {
        "search": lambda n: f"{node.url}/api/v1/search?q=rent+strike&limit=20",
        "meetings-near": lambda n: f"{node.url}/api/v1/meetings?{near}&limit=20",
        "events": lambda n: f"{node.url}/api/v1/events?after={n % 50 * 100}&limit=50",
        "by-id": lambda n: f"{node.url}/api/v1/events/{event_id}",
    }


async def query(
    session: aiohttp.ClientSession, sizes: Sizes, node: BenchNode, event_id: str
) -> Row:
    """p50/p99 latency of search, meetings near and events vs a by-id route."""
    figures: dict[str, dict[str, float]] = {}
    for name, url in _routes(node, event_id).items():
        result = await closed_loop(
            session,
            url,
            clients=sizes.query_clients,
            seconds=sizes.query_seconds,
        )
        if not result.seconds:
            raise BenchError(f"no {name} request was answered")
        figures[name] = {
            "p50": percentile(result.seconds, 0.5),
            "p99": percentile(result.seconds, 0.99),
            "requests": len(result.seconds),
            "failed": result.failed,
        }
    baseline = figures.pop("by-id")["p99"]
    worst = max(figures.values(), key=lambda f: f["p99"])
    return Row(
        "query", "s", worst["p99"], baseline, worst["p99"] / baseline, worst["p99"],
        5.0, False,
        {"events": sizes.events, "clients": sizes.query_clients},
        {"routes": figures, "baseline_p50": baseline},
    )  # fmt: skip


def memory(sizes: Sizes, idle: int, loaded: int) -> Row:
    """Peak RSS of the node holding the events, idle and under the query load."""
    value = float(max(idle, loaded))
    return Row(
        "memory", "bytes", None, None, None, value, 150 * MB, False,
        {"events": sizes.events},
        {"idle": idle, "under_load": loaded},
    )  # fmt: skip


async def start(
    cluster: Cluster, session: aiohttp.ClientSession, sizes: Sizes, node: BenchNode
) -> Row:
    """Seconds from ``tredegar run`` to a healthy ``/health``, events held."""
    node.stop()
    times = []
    for _ in range(2):
        began = time.perf_counter()
        await cluster.start(session, node)
        times.append(time.perf_counter() - began)
        await projected(session, node, 60)
        node.stop()
    value = min(times)
    return Row(
        "start", "s", None, None, None, value, 2.0, False,
        {"events": sizes.events},
        {"runs": times},
    )  # fmt: skip


def rss(node: BenchNode) -> int:
    """The node process's peak resident set."""
    return peak_rss(node.process.pid) if node.process is not None else 0
