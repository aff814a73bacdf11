"""The tours pages: speaking tours across groups and their stops.

``/tours`` lists tours not yet over; ``/tours/{id}`` shows a tour with its
stops in date order, each a meeting hosted by a group in its own feed, its
time shown in the meeting's own time zone and linking to the meeting's page.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node.web import forms
from node.web.keys import SERVICES
from node.web.pages.listing import PAGE_SIZE, Listing, listing_page
from node.web.render import page
from protocol import parse_event_id

__all__ = ["routes"]

routes = web.RouteTableDef()


async def _tours(request: web.Request) -> Listing:
    found: Any = await request.app[SERVICES].meetings.list_tours(
        limit=PAGE_SIZE, after=forms.text(request.query, "after", max_length=300)
    )
    return Listing(found["tours"], found["next"])


@routes.get("/tours")
async def tours_page(request: web.Request) -> web.Response:
    """Speaking tours not yet over, by start."""
    return await listing_page(
        request, "tours.html", lambda: _tours(request), nav="meetings"
    )


@routes.get("/tours/{id}")
async def tour_page(request: web.Request) -> web.Response:
    """One tour: what it is about, its hosts and its stops in order."""
    tour_id = parse_event_id(request.match_info["id"], field="id")
    tour = await request.app[SERVICES].meetings.get_tour(tour_id)
    return await page(request, "tour.html", tour=tour, nav="meetings")
