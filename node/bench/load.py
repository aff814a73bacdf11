"""Load for the benchmarks: concurrent clients, and a counting proxy."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

__all__ = ["CountingProxy", "Exchange", "Latencies", "closed_loop", "post_many"]


@dataclass
class Latencies:
    """Latencies of answered requests, in seconds, and how many failed."""

    seconds: list[float] = field(default_factory=list)
    failed: int = 0


async def closed_loop(
    session: aiohttp.ClientSession,
    url: Callable[[int], str],
    *,
    clients: int,
    seconds: float,
    headers: dict[str, str] | None = None,
) -> Latencies:
    """``clients`` clients GET ``url(n)`` back to back for ``seconds``."""
    result = Latencies()
    deadline = time.monotonic() + seconds
    counter = iter(range(10**9))

    async def client() -> None:
        while time.monotonic() < deadline:
            began = time.perf_counter()
            try:
                async with session.get(url(next(counter)), headers=headers) as answer:
                    await answer.read()
                    ok = answer.status == 200
            except (aiohttp.ClientError, OSError):
                ok = False
            if ok:
                result.seconds.append(time.perf_counter() - began)
            else:
                result.failed += 1

    await asyncio.gather(*(client() for _ in range(clients)))
    return result


async def post_many(
    session: aiohttp.ClientSession,
    url: str,
    bodies: list[dict[str, Any]],
    *,
    clients: int,
    headers: dict[str, str] | None = None,
) -> tuple[float, int]:
    """POST every body with ``clients`` concurrent clients; (seconds, failures)."""
    queue = iter(bodies)
    failed = 0

    async def client() -> None:
        nonlocal failed
        for body in queue:
            async with session.post(url, json=body, headers=headers) as answer:
                await answer.read()
                failed += answer.status != 201

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - began, failed


@dataclass
class Exchange:
    """One request through the proxy: its path and bytes both ways."""

    path: str
    sent: int
    received: int


class CountingProxy:
    """A loopback HTTP proxy to one node that counts requests and bytes."""

    def __init__(self, target: str) -> None:
        """Forward every request to ``target`` (a base URL)."""
        self.target = target
        self.exchanges: list[Exchange] = []
        self.runner: web.AppRunner | None = None
        self.session: aiohttp.ClientSession | None = None

    async def start(self, port: int) -> None:
        """Listen on ``port``."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self.session = aiohttp.ClientSession(auto_decompress=False)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self.session is not None  # noqa: S101 (started)
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        sent = len(request.method) + len(request.path_qs) + 11 + len(body)
        sent += sum(len(k) + len(v) + 4 for k, v in request.headers.items())
        async with self.session.request(
            request.method,
            self.target + request.path_qs,
            data=body or None,
            headers=headers,
        ) as answer:
            content = await answer.read()
            received = 17 + len(content)
            received += sum(len(k) + len(v) + 4 for k, v in answer.headers.items())
            out = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP}
            self.exchanges.append(Exchange(request.path, sent, received))
            return web.Response(status=answer.status, body=content, headers=out)

    async def close(self) -> None:
        """Stop listening."""
        if self.session is not None:
            await self.session.close()
        if self.runner is not None:
            await self.runner.cleanup()


_HOP = {"host", "content-length", "transfer-encoding", "connection"}
