"""Per-address rate limits on the federation routes (token buckets).

A peer (or anyone) sending more than ``rate`` requests a second from one
address, beyond a burst of four seconds' worth, is answered 429
``rate-limited`` with ``Retry-After``; the buckets are forgotten after a
minute of quiet so the table stays small.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from node.errors import RateLimitedError

__all__ = ["rate_limit_middleware"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _Buckets:
    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.burst = rate * 4
        self.levels: dict[str, tuple[float, float]] = {}

    def take(self, address: str) -> bool:
        now = time.monotonic()
        level, then = self.levels.get(address, (self.burst, now))
        level = min(self.burst, level + (now - then) * self.rate)
        if len(self.levels) > 10_000:
            self.levels = {a: v for a, v in self.levels.items() if now - v[1] < 60}
        if level < 1:
            self.levels[address] = (level, now)
            return False
        self.levels[address] = (level - 1, now)
        return True


def rate_limit_middleware(
    rate: float, prefix: str = "/fed/"
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """A middleware limiting requests under ``prefix`` per client address."""
    buckets = _Buckets(rate)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(prefix) and not buckets.take(request.remote or "?"):
            raise RateLimitedError("too many federation requests from your address")
        return await handler(request)

    return middleware
