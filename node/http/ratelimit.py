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

__all__ = ["client_address", "rate_limit_middleware"]

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


def client_address(request: web.BaseRequest, proxies: frozenset[str]) -> str:
    """The address a request came from, seen through trusted reverse proxies.

    Behind a proxy every request comes from the proxy's address; when the
    sender is one of ``proxies`` (``settings.trusted_proxies``), the client is
    the right-most ``X-Forwarded-For`` entry that is not itself a trusted
    proxy. From any other sender the header is ignored: anyone can write it.

    Args:
        request: The request.
        proxies: The trusted proxies' addresses.

    Returns:
        The client's address, or "?" when unknown.
    """
    remote = request.remote or "?"
    if remote not in proxies:
        return remote
    hops = [
        hop.strip()
        for header in request.headers.getall("X-Forwarded-For", [])
        for hop in header.split(",")
    ]
    for hop in reversed(hops):
        if hop and hop not in proxies:
            return hop[:64]
    return remote


def rate_limit_middleware(
    rate: float, prefix: str = "/fed/", proxies: frozenset[str] = frozenset()
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """A middleware limiting requests under ``prefix`` per client address."""
    buckets = _Buckets(rate)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        address = client_address(request, proxies)
        if request.path.startswith(prefix) and not buckets.take(address):
            raise RateLimitedError("too many federation requests from your address")
        return await handler(request)

    return middleware
