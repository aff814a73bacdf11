"""The campaigns routes of the members' API (``docs/api.md#campaigns``).

Public: anyone may list campaigns and read one. Filters are checked here and
handed to :class:`~node.services.campaigns.Campaigns` as
:class:`~node.projections.campaigns.CampaignFilters`.
"""

from __future__ import annotations

from aiohttp import web

from node.http.keys import SERVICES
from node.http.params import int_param, near_params, text_param
from node.http.routes import json_response
from node.projections.campaigns import STATUSES, TARGET_KINDS, CampaignFilters
from protocol import MalformedError, parse_event_id, parse_feed_id

__all__ = ["campaign_filters", "campaign_routes", "choice_param"]

campaign_routes = web.RouteTableDef()


def choice_param(
    request: web.Request, name: str, choices: tuple[str, ...]
) -> str | None:
    """A query parameter that must be one of ``choices``, or None when absent.

    Raises:
        MalformedError: Any other value.
    """
    value = text_param(request, name, max_length=32)
    if value is not None and value not in choices:
        raise MalformedError(
            f"{name} must be one of {', '.join(choices)}", field_path=name
        )
    return value


def campaign_filters(request: web.Request) -> CampaignFilters:
    """The listing's filters from the query string.

    Raises:
        MalformedError: A filter of the wrong form.
    """
    feed = text_param(request, "feed", max_length=60)
    network = text_param(request, "network", max_length=60)
    return CampaignFilters(
        status=choice_param(request, "status", STATUSES),
        area=text_param(request, "area"),
        target=text_param(request, "target"),
        target_kind=choice_param(request, "target_kind", TARGET_KINDS),
        tag=text_param(request, "tag", max_length=32),
        q=text_param(request, "q"),
        feed=parse_feed_id(feed) if feed else None,
        network=parse_event_id(network, field="network") if network else None,
    )


@campaign_routes.get("/api/v1/campaigns")
async def list_campaigns(request: web.Request) -> web.Response:
    """Campaigns of every feed held, newest launch first."""
    page = await request.app[SERVICES].campaigns.list_campaigns(
        campaign_filters(request),
        near=near_params(request),
        limit=int_param(request, "limit", default=50, minimum=1, maximum=200),
        after=text_param(request, "after", max_length=300),
    )
    return json_response(page)


@campaign_routes.get("/api/v1/campaigns/{id}")
async def get_campaign(request: web.Request) -> web.Response:
    """One campaign with its updates, actions, endorsements and outcome."""
    campaign_id = request.match_info["id"]
    parse_event_id(campaign_id, field="id")  # a malformed id is a bad request (400)
    return json_response(
        await request.app[SERVICES].campaigns.get_campaign(campaign_id)
    )
