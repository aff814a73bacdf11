"""Several real nodes at once: settings, parallel start and stop, federation reads.

Builds on ``conftest.py`` (:class:`NodeFactory`, :class:`Node`): nodes are made
and started in worker threads so that a test with many nodes pays for their
start-up once, not once per node, and so that an in-process server (the
hostile peer) keeps answering while a node starts. Every read here is a plain
HTTP call to a running node; every wait is a condition with a deadline.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from protocol import decode_event
from tests.network.conftest import (
    CONDITION_SECONDS,
    Json,
    Node,
    NodeFactory,
    tredegar_json,
)

#: Settings every node of these tests gets: a round a second keeps them fast.
FAST: Mapping[str, float | int | bool | str] = {"sync_interval": 1.0}

Setting = float | int | bool | str


# --- making, starting and stopping nodes ----------------------------------------


def configure(node: Node, settings: Mapping[str, Setting]) -> None:
    """Append settings to the node's ``tredegar.toml`` (before it runs)."""
    lines = []
    for name, value in settings.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str):
            text = json.dumps(value)
        else:
            text = repr(value)
        lines.append(f"{name} = {text}")
    with (node.data / "tredegar.toml").open("a", encoding="utf-8") as config:
        config.write("\n".join(lines) + "\n")


async def init_nodes(
    nodes: NodeFactory,
    names: Sequence[str],
    settings: Mapping[str, Setting] | None = None,
) -> list[Node]:
    """``tredegar init`` several nodes at once (not started), each configured.

    Each node's group is called ``Group <name>``; every node gets :data:`FAST`
    and ``settings``.
    """
    made = await asyncio.gather(
        *(
            asyncio.to_thread(nodes.init, name, group=f"Group {name}", start=False)
            for name in names
        )
    )
    for node in made:
        configure(node, {**FAST, **(settings or {})})
    return list(made)


async def start_nodes(
    starts: Iterable[tuple[Node, Sequence[str]]],
    env: Mapping[str, str] | None = None,
) -> None:
    """Start nodes at once, each with its own ``run`` arguments (and ``env``).

    The tests address nodes by the port chosen at ``init``; should a node have
    had to move to another port (someone took it meanwhile), URLs handed to
    other nodes would be wrong, so that fails loudly.
    """
    pairs = list(starts)
    ports = {node.name: node.port for node, _ in pairs}
    await asyncio.gather(
        *(asyncio.to_thread(node.start, *args, env=env) for node, args in pairs)
    )
    moved = [node.name for node, _ in pairs if node.port != ports[node.name]]
    if moved:
        pytest.fail(f"nodes {moved} had to move to another port: run again")


async def start(node: Node, *args: str) -> None:
    """Start one node without blocking the event loop."""
    await start_nodes([(node, args)])


async def stop_nodes(nodes: Iterable[Node]) -> list[int | None]:
    """Stop nodes at once (SIGTERM, then wait); their exit statuses."""
    return list(await asyncio.gather(*(asyncio.to_thread(n.stop) for n in nodes)))


async def cli(*args: str | Path) -> Json:
    """Run ``tredegar … --json`` in a thread; its one JSON object (exit 0)."""
    result = await asyncio.to_thread(tredegar_json, *args)
    return result.value


# --- waiting ----------------------------------------------------------------------


async def wait_for(
    condition: Callable[[], Awaitable[bool]],
    *,
    what: str,
    within: float = CONDITION_SECONDS,
    poll: float = 0.1,
) -> float:
    """Await ``condition`` every ``poll`` s; the seconds it took (fail past within).

    Conditions over many nodes poll less often: every poll is a request to
    each of them, and the nodes share the test machine's cores.
    """
    started = time.monotonic()
    deadline = started + within
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(poll)
    return time.monotonic() - started


# --- reading a node ---------------------------------------------------------------


async def get_json(
    session: aiohttp.ClientSession,
    url: str,
    params: Mapping[str, str] | None = None,
) -> Json:
    """GET a JSON object; the answer must be 200."""
    async with session.get(url, params=params) as response:
        body = await response.read()
        assert response.status == 200, (url, response.status, body[:500])
    value = json.loads(body)
    assert isinstance(value, dict), value
    return value


async def heads(session: aiohttp.ClientSession, node: Node) -> dict[str, int]:
    """``GET /fed/v1/heads``: every feed the node serves and its head seq."""
    answer = await get_json(session, f"{node.url}/fed/v1/heads")
    held: dict[str, int] = answer["heads"]
    return held


async def peer_urls(session: aiohttp.ClientSession, node: Node) -> set[str]:
    """The URLs in ``GET /fed/v1/peers`` (peers that answered at least once)."""
    answer = await get_json(session, f"{node.url}/fed/v1/peers")
    return {entry["url"] for entry in answer["peers"]}


async def forks(session: aiohttp.ClientSession, node: Node) -> list[Json]:
    """The fork proofs of ``GET /fed/v1/forks``."""
    answer = await get_json(session, f"{node.url}/fed/v1/forks")
    proofs: list[Json] = answer["forks"]
    return proofs


async def feed_lines(
    session: aiohttp.ClientSession, node: Node, feed: str, *, after: int = 0
) -> list[bytes]:
    """The raw NDJSON lines of ``GET /fed/v1/feeds/{feed}`` ([] when not held)."""
    url = f"{node.url}/fed/v1/feeds/{feed}"
    async with session.get(url, params={"after": str(after)}) as response:
        body = await response.read()
        if response.status == 404:
            return []
        assert response.status == 200, (url, response.status, body[:500])
    return [line for line in body.split(b"\n") if line]


async def feed_ids(session: aiohttp.ClientSession, node: Node, feed: str) -> list[str]:
    """The ids of the events a node serves of a feed, in seq order."""
    return [decode_event(line).id for line in await feed_lines(session, node, feed)]


async def has_event(session: aiohttp.ClientSession, node: Node, event_id: str) -> bool:
    """Whether ``GET /api/v1/events/{id}`` finds the event."""
    async with session.get(f"{node.url}/api/v1/events/{event_id}") as response:
        await response.read()
        return response.status == 200


async def metric(
    session: aiohttp.ClientSession, node: Node, sample: str
) -> list[tuple[dict[str, str], float]]:
    """Every sample called ``sample`` in ``/metrics``, with its labels."""
    async with session.get(f"{node.url}/metrics") as response:
        assert response.status == 200
        text = await response.text()
    return [
        (dict(s.labels), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == sample
    ]


async def refusals(
    session: aiohttp.ClientSession, node: Node
) -> dict[tuple[str, str], float]:
    """``tredegar_events_refused_total`` by (peer, reason)."""
    return {
        (labels["peer"], labels["reason"]): value
        for labels, value in await metric(
            session, node, "tredegar_events_refused_total"
        )
    }


async def requests_served(
    session: aiohttp.ClientSession, node: Node, route: str
) -> float:
    """How many requests to ``route`` (e.g. ``/fed/v1/heads``) the node answered."""
    return sum(
        value
        for labels, value in await metric(session, node, "tredegar_http_requests_total")
        if labels["route"] == route
    )


async def converged(
    session: aiohttp.ClientSession,
    group: Sequence[Node],
    expected: Mapping[str, int] | None = None,
) -> bool:
    """Whether every node serves the same heads (and those are ``expected``)."""
    answers = [await heads(session, node) for node in group]
    if expected is not None and answers[0] != dict(expected):
        return False
    return all(answer == answers[0] for answer in answers[1:])


def peers_list(node: Node) -> list[Json]:
    """``tredegar peers list --json``: each peer's state and last error."""
    rows: list[Json] = tredegar_json("peers", "list", "--data", node.data).value[
        "peers"
    ]
    return rows
