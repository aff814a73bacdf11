"""The places route of the members' API: what a place name means here."""

from __future__ import annotations

import dataclasses

from aiohttp import web

from node.http.keys import SERVICES
from node.http.params import int_param, text_param
from node.http.routes import json_response
from protocol import MalformedError

__all__ = ["place_routes"]

place_routes = web.RouteTableDef()


@place_routes.get("/api/v1/places")
async def find_places(request: web.Request) -> web.Response:
    """Places a name means: groups' bases held here, then the gazetteer."""
    name = text_param(request, "q", max_length=200)
    if name is None:
        raise MalformedError("give a place name in q", field_path="q")
    limit = int_param(request, "limit", default=10, minimum=1, maximum=50)
    places = await request.app[SERVICES].places.find(name, limit=limit)
    return json_response({"places": [dataclasses.asdict(p) for p in places]})
