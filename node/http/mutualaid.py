"""The mutual-aid routes of the members' API (``docs/api.md#needs-and-offers``).

Public: anyone may list needs and offers of every group held, read one, and
ask for its matches. Groups post, mark met and withdraw by publishing events
(``POST /api/v1/events``, organisers). Filters are checked here and handed to
:class:`~node.services.mutualaid.MutualAid`.
"""

from __future__ import annotations

from aiohttp import web

from node.http.campaigns import choice_param
from node.http.keys import SERVICES
from node.http.params import MAX_KM, int_param, near_params, text_param
from node.http.routes import json_response
from node.projections.mutualaid import CATEGORIES, STATUSES
from node.services.mutualaid import DEFAULT_MATCH_KM, AidFilters
from protocol import parse_event_id, parse_feed_id

__all__ = ["aid_filters", "mutualaid_routes"]

mutualaid_routes = web.RouteTableDef()


def aid_filters(request: web.Request) -> AidFilters:
    """The listing's filters from the query string.

    Raises:
        MalformedError: A filter of the wrong form.
    """
    feed = text_param(request, "feed", max_length=60)
    return AidFilters(
        category=choice_param(request, "category", CATEGORIES),
        q=text_param(request, "q"),
        feed=parse_feed_id(feed) if feed else None,
        status=choice_param(request, "status", STATUSES),
    )


async def _listing(request: web.Request, kind: str) -> web.Response:
    page = await request.app[SERVICES].mutualaid.list_items(
        kind,
        aid_filters(request),
        near=near_params(request),
        limit=int_param(request, "limit", default=50, minimum=1, maximum=200),
        after=text_param(request, "after", max_length=300),
    )
    return json_response(page)


async def _matches(request: web.Request, kind: str) -> web.Response:
    item_id = parse_event_id(request.match_info["id"], field="id")
    page = await request.app[SERVICES].mutualaid.matches(
        kind,
        item_id,
        km=int_param(
            request, "within_km", default=DEFAULT_MATCH_KM, minimum=1, maximum=MAX_KM
        ),
        limit=int_param(request, "limit", default=50, minimum=1, maximum=200),
        after=text_param(request, "after", max_length=300),
    )
    return json_response(page)


@mutualaid_routes.get("/api/v1/needs")
async def list_needs(request: web.Request) -> web.Response:
    """Needs of every group held, newest first."""
    return await _listing(request, "need")


@mutualaid_routes.get("/api/v1/offers")
async def list_offers(request: web.Request) -> web.Response:
    """Offers of every group held, newest first."""
    return await _listing(request, "offer")


@mutualaid_routes.get("/api/v1/needs/{id}")
async def get_need(request: web.Request) -> web.Response:
    """One need, with the offers naming it and the match that met it."""
    need_id = parse_event_id(request.match_info["id"], field="id")
    return json_response(await request.app[SERVICES].mutualaid.get_need(need_id))


@mutualaid_routes.get("/api/v1/offers/{id}")
async def get_offer(request: web.Request) -> web.Response:
    """One offer, with the need it answers."""
    offer_id = parse_event_id(request.match_info["id"], field="id")
    return json_response(await request.app[SERVICES].mutualaid.get_offer(offer_id))


@mutualaid_routes.get("/api/v1/needs/{id}/matches")
async def need_matches(request: web.Request) -> web.Response:
    """Open offers of the need's category from any group, nearest first."""
    return await _matches(request, "need")


@mutualaid_routes.get("/api/v1/offers/{id}/matches")
async def offer_matches(request: web.Request) -> web.Response:
    """Open needs of the offer's category from any group, nearest first."""
    return await _matches(request, "offer")
