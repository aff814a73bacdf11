"""``GET /events/stream``: server-sent events, one per event stored.

Each message is ``event: stored`` with ``data: {"type", "id", "feed"}``
(never a body); a comment line every :data:`KEEPALIVE` seconds keeps proxies
from closing a quiet stream and finds pages that have gone. See
:mod:`node.web.live` for the bounds and the shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib

import orjson
from aiohttp import web

from node.web.keys import SERVICES, STREAMS
from node.web.live import Notice
from node.web.render import secure

__all__ = ["routes"]

routes = web.RouteTableDef()

#: Seconds between keep-alive comments on a quiet stream.
KEEPALIVE = 25.0


def _message(notice: Notice) -> bytes:
    data = orjson.dumps({"type": notice.type, "id": notice.id, "feed": notice.feed})
    return b"event: stored\ndata: " + data + b"\n\n"


@routes.get("/events/stream")
async def event_stream(request: web.Request) -> web.StreamResponse:
    """Announce each event stored, as it is projected, until the page goes."""
    streams = request.app[STREAMS]
    streams.attach(request.app[SERVICES])
    async with streams.subscribe() as queue:
        response = secure(web.StreamResponse())
        response.content_type = "text/event-stream"
        response.headers["X-Accel-Buffering"] = "no"
        await response.prepare(request)
        await response.write(b"retry: 5000\n\n")
        with contextlib.suppress(ConnectionResetError):
            while True:
                try:
                    notice = await asyncio.wait_for(queue.get(), KEEPALIVE)
                except TimeoutError:
                    await response.write(b": still here\n\n")
                    continue
                if notice is None:
                    break
                await response.write(_message(notice))
        return response
