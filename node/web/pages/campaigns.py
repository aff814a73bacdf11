"""The campaigns pages: the list across the network and one campaign.

A campaign's page shows its target and demands, updates, actions called,
endorsements from other groups, co-owners and outcome; the pledge progress
bar has its place there, filled once pledges are shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from node.projections.campaigns import STATUSES, CampaignFilters
from node.web import forms
from node.web.keys import SERVICES
from node.web.pages.pledges import subject_targets
from node.web.render import page
from protocol import parse_event_id

__all__ = ["routes"]

routes = web.RouteTableDef()

#: How many campaigns a page of the list shows.
PAGE_SIZE = 30


@dataclass(slots=True)
class Listing:
    """What ``/campaigns`` shows: campaigns, or what to change."""

    campaigns: list[Any] = field(default_factory=list)
    next: str | None = None
    problem: forms.Problem | None = None


async def _listing(request: web.Request) -> Listing:
    node, query = request.app[SERVICES], request.query
    filters = CampaignFilters(
        status=forms.choice(query, "status", STATUSES),
        q=forms.text(query, "q", max_length=200),
        tag=forms.text(query, "tag", max_length=32),
        target=forms.text(query, "target", max_length=200),
    )
    found: Any = await node.campaigns.list_campaigns(
        filters,
        near=forms.near(query),
        limit=PAGE_SIZE,
        after=forms.text(query, "after", max_length=300),
    )
    return Listing(found["campaigns"], found["next"])


@routes.get("/campaigns")
async def campaigns_page(request: web.Request) -> web.Response:
    """Campaigns across the network, newest first, by status, words or place."""
    found = await forms.attempt(lambda: _listing(request))
    listing = Listing(problem=found) if isinstance(found, forms.Problem) else found
    return await page(
        request,
        "campaigns.html",
        status=listing.problem.status if listing.problem else 200,
        listing=listing,
        query=request.query,
        statuses=STATUSES,
        radii=forms.RADII,
        nav="campaigns",
    )


@routes.get("/campaigns/{id}")
async def campaign_page(request: web.Request) -> web.Response:
    """One campaign: demands, updates, actions, endorsements, outcome."""
    campaign_id = parse_event_id(request.match_info["id"], field="id")
    node = request.app[SERVICES]
    campaign = await node.campaigns.get_campaign(campaign_id)
    targets = await subject_targets(node, campaign_id)
    return await page(
        request,
        "campaign.html",
        campaign=campaign,
        pledge_targets=targets,
        nav="campaigns",
    )
