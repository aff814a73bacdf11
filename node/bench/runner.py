"""Run every scenario in one scratch directory, within a time budget."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from node.bench import SCENARIOS, read, write
from node.bench.feeds import fill
from node.bench.machine import describe
from node.bench.nodes import BenchError, Cluster
from node.bench.report import Row, Sizes

__all__ = ["BUDGET", "run"]

#: Seconds each size may take in all before the run is stopped.
BUDGET = {"full": 3600.0, "quick": 300.0, "smoke": 180.0}


async def run(sizes: Sizes, root: Path, say: Say) -> list[Row]:
    """Every scenario, in :data:`SCENARIOS` order; every node stopped after."""
    cluster = Cluster(root, sync_interval=1.0)
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=200)
    try:
        async with aiohttp.ClientSession(
            timeout=timeout, connector=connector
        ) as session:
            rows = await asyncio.wait_for(
                _scenarios(cluster, session, sizes, say), BUDGET[sizes.name]
            )
    except TimeoutError:
        raise BenchError(
            f"the {sizes.name} benchmarks took over {BUDGET[sizes.name]:.0f} s"
        ) from None
    finally:
        cluster.close()
    machine = describe()
    for row in rows:
        row.machine = machine
    order = {name: n for n, name in enumerate(SCENARIOS)}
    return sorted(rows, key=lambda row: order[row.name])


class Say:
    """Progress lines on standard error, with the time since the start."""

    def __init__(self, write_line: object) -> None:
        self.began = time.monotonic()
        self.write_line = write_line

    def __call__(self, text: str) -> None:
        """Say what happens now."""
        elapsed = time.monotonic() - self.began
        self.write_line(f"[{elapsed:6.1f} s] {text}")  # type: ignore[operator]


async def _scenarios(
    cluster: Cluster, session: aiohttp.ClientSession, sizes: Sizes, say: Say
) -> list[Row]:
    rows: list[Row] = []
    held = cluster.make("held")
    say(f"signing {sizes.events} events in {sizes.feeds} feeds")
    sample = await asyncio.to_thread(
        fill, held.feeds_db, feeds=sizes.feeds, events=sizes.events
    )
    say("starting the node holding them and projecting")
    await cluster.start(session, held, within=120)
    await write.projected(session, held, max(120.0, sizes.events / 200))
    idle = read.rss(held)
    say("publish")
    rows.append(await write.publish(cluster, session, sizes))
    say("catch-up")
    rows.append(await write.catch_up(cluster, session, sizes, held, sample))
    say("query")
    rows.append(await read.query(session, sizes, held, sample[0].id))
    rows.append(read.memory(sizes, idle, read.rss(held)))
    say("start")
    rows.append(await read.start(cluster, session, sizes, held))
    say("spread")
    rows.append(await write.spread(cluster, session, sizes))
    say("in-sync")
    rows.append(await read.in_sync(cluster, session, sizes))
    return rows
