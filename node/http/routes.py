"""The fixed routes of the members' interface (``docs/api.md``).

Each handler parses its input, calls one service and serialises the answer;
errors are raised and turned into problem+json by ``node.http.problems``.
"""

from __future__ import annotations

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from node.http.accounts import authenticated
from node.http.keys import SERVICES
from node.http.params import int_param, near_params, text_param
from protocol import canonical, parse_event_id, parse_feed_id
from schemas import load_openapi

__all__ = ["routes"]

routes = web.RouteTableDef()


def json_response(value: object, *, status: int = 200) -> web.Response:
    """A JSON answer written by orjson."""
    return web.Response(
        body=orjson.dumps(value), status=status, content_type="application/json"
    )


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    """The node is up: its own feed and head seq."""
    return json_response(await request.app[SERVICES].health())


@routes.get("/api/v1/events")
async def list_events(request: web.Request) -> web.Response:
    """Public events of every feed held, in the order this node stored them."""
    feed = text_param(request, "feed", max_length=60)
    page = await request.app[SERVICES].list_events(
        feed=parse_feed_id(feed) if feed else None,
        event_type=text_param(request, "type", max_length=131),
        after=int_param(request, "after", default=0, minimum=0, maximum=2**53),
        limit=int_param(request, "limit", default=100, minimum=1, maximum=500),
    )
    return json_response(page)


@routes.post("/api/v1/events")
async def publish_event(request: web.Request) -> web.Response:
    """Sign and store an event of the group's own feed (organisers).

    The caller is a Bearer token or a session cookie with its CSRF header.
    """
    services = request.app[SERVICES]
    grant = await authenticated(request)
    payload = canonical.decode(await request.read())
    event = await services.publish(grant, payload)
    answer = event.to_wire()
    answer["id"] = event.id
    response = json_response(answer, status=201)
    response.headers["Location"] = f"/api/v1/events/{event.id}"
    return response


@routes.get("/api/v1/events/{id}")
async def get_event(request: web.Request) -> web.Response:
    """One event by its id."""
    event_id = parse_event_id(request.match_info["id"], field="id")
    event = await request.app[SERVICES].get_event(event_id)
    answer = event.to_wire()
    answer["id"] = event.id
    return json_response(answer)


@routes.get("/api/v1/search")
async def search(request: web.Request) -> web.Response:
    """Full-text search over every public event held."""
    answer = await request.app[SERVICES].search(
        text_param(request, "q", max_length=500) or "",
        int_param(request, "limit", default=20, minimum=1, maximum=100),
        types=request.query.getall("type", []),
        near=near_params(request),
        after=text_param(request, "after", max_length=200),
    )
    return json_response(answer)


@routes.get("/api/v1/groups")
async def list_groups(request: web.Request) -> web.Response:
    """The directory of groups: every feed's latest profile."""
    page = await request.app[SERVICES].list_groups(
        query=text_param(request, "q"),
        tag=text_param(request, "tag", max_length=32),
        limit=int_param(request, "limit", default=50, minimum=1, maximum=200),
        after=text_param(request, "after", max_length=200),
        near=near_params(request),
    )
    return json_response(page)


@routes.get("/api/v1/groups/{feed}")
async def get_group(request: web.Request) -> web.Response:
    """One group of the directory, by its feed id."""
    feed = parse_feed_id(request.match_info["feed"])
    return json_response(await request.app[SERVICES].get_group(feed))


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    """Prometheus text."""
    registry = request.app[SERVICES].metrics.registry
    response = web.Response(body=generate_latest(registry))
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


@routes.get("/api/v1/openapi.yaml")
async def openapi(request: web.Request) -> web.Response:
    """This interface described in OpenAPI 3.1 (``schemas/openapi.yaml``)."""
    text = await request.app[SERVICES].read(load_openapi)
    return web.Response(body=text, content_type="application/yaml")
