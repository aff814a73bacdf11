"""The federation routes, ``/fed/v1`` (``docs/protocol.md#federation``)."""

from __future__ import annotations

from aiohttp import web

from node.http.keys import SERVICES
from node.http.params import int_param, text_param
from node.http.routes import json_response
from protocol import (
    DEFAULT_PAGE_LIMIT,
    MAX_PAGE_LIMIT,
    Notify,
    TooLargeError,
    canonical,
    parse_challenge,
    parse_feed_id,
)

__all__ = ["federation_routes"]

federation_routes = web.RouteTableDef()

#: Largest notify body accepted.
MAX_NOTIFY_BYTES = 4096


@federation_routes.get("/fed/v1/info")
async def info(request: web.Request) -> web.Response:
    """Who this node is, proven by signing the caller's challenge."""
    challenge = parse_challenge(request.query.get("challenge"))
    answer = await request.app[SERVICES].info(challenge)
    return json_response(answer.to_json())


@federation_routes.get("/fed/v1/heads")
async def heads(request: web.Request) -> web.Response:
    """Every feed held and its head seq, or those changed since a cursor."""
    since = text_param(request, "since", max_length=64)
    answer = await request.app[SERVICES].heads(since)
    return web.Response(
        body=canonical.encode(answer.to_json()), content_type="application/json"
    )


@federation_routes.get("/fed/v1/feeds/{feed}")
async def feed(request: web.Request) -> web.Response:
    """NDJSON of a feed's events after ``after``, at most ``limit`` (clamped)."""
    feed_id = parse_feed_id(request.match_info["feed"])
    after = int_param(request, "after", default=0, minimum=0, maximum=2**53)
    limit = int_param(
        request, "limit", default=DEFAULT_PAGE_LIMIT, minimum=0, maximum=MAX_PAGE_LIMIT
    )
    lines = await request.app[SERVICES].feed_lines(feed_id, after, max(limit, 1))
    body = b"".join(line + b"\n" for line in lines)
    return web.Response(body=body, content_type="application/x-ndjson")


@federation_routes.post("/fed/v1/notify")
async def notify(request: web.Request) -> web.Response:
    """A hint that the sender has new events; the node pulls and verifies."""
    data = await request.content.read(MAX_NOTIFY_BYTES + 1)
    if len(data) > MAX_NOTIFY_BYTES:
        raise TooLargeError(f"a notify is at most {MAX_NOTIFY_BYTES} bytes")
    message = Notify.from_json(canonical.decode(data))
    await request.app[SERVICES].notified(message)
    return json_response({}, status=202)


@federation_routes.get("/fed/v1/peers")
async def peers(request: web.Request) -> web.Response:
    """The peers this node knows and has heard from."""
    answer = await request.app[SERVICES].known_peers()
    return json_response(answer.to_json())


@federation_routes.get("/fed/v1/forks")
async def forks(request: web.Request) -> web.Response:
    """Every fork proof held: two valid signed events for one (feed, seq)."""
    answer = await request.app[SERVICES].forks()
    return json_response(answer.to_json())
