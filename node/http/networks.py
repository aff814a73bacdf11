"""The networks routes of the members' API (``docs/api.md#networks``).

Public: anyone may list networks and read one, with its groups and campaigns.
"""

from __future__ import annotations

from aiohttp import web

from node.http.campaigns import choice_param
from node.http.keys import SERVICES
from node.http.params import int_param, near_params, text_param
from node.http.routes import json_response
from node.projections.networks import KINDS
from protocol import parse_event_id

__all__ = ["network_routes"]

network_routes = web.RouteTableDef()


@network_routes.get("/api/v1/networks")
async def list_networks(request: web.Request) -> web.Response:
    """Networks formed by any feed held, by name."""
    page = await request.app[SERVICES].networks.list_networks(
        q=text_param(request, "q"),
        kind=choice_param(request, "kind", KINDS),
        tag=text_param(request, "tag", max_length=32),
        near=near_params(request),
        limit=int_param(request, "limit", default=50, minimum=1, maximum=200),
        after=text_param(request, "after", max_length=600),
    )
    return json_response(page)


@network_routes.get("/api/v1/networks/{id}")
async def get_network(request: web.Request) -> web.Response:
    """One network with its groups (convenor first) and campaigns."""
    network_id = request.match_info["id"]
    parse_event_id(network_id, field="id")  # a malformed id is a bad request (400)
    return json_response(await request.app[SERVICES].networks.get_network(network_id))
