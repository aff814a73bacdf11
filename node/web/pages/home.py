"""The home page: the group, its meetings, campaigns and the network around it.

It shows this node's group, its next meetings, live campaigns, latest
updates, and highlights from across the network. Anyone may read it.

The lists sit in elements marked ``data-live``, which ``static/live.js``
refreshes when the live stream announces an event.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node.errors import NotFoundError
from node.projections.campaigns import CampaignFilters
from node.projections.meetings import MeetingFilters
from node.services.runtime import NodeServices
from node.web.keys import SERVICES
from node.web.render import page

__all__ = ["routes"]

routes = web.RouteTableDef()

DAY_MS = 86_400_000
#: How far ahead the home page looks for meetings.
AHEAD_DAYS = 90
#: How many items each list shows.
SHOWN = 5


async def _own_group(node: NodeServices) -> Any:
    try:
        return await node.get_group(node.key.feed)
    except NotFoundError:
        return None


async def _meetings(node: NodeServices) -> tuple[list[Any], list[Any]]:
    """This group's next meetings, and other groups' across the network."""
    own, now = node.key.feed, node.clock()
    window = MeetingFilters(start=now, end=now + AHEAD_DAYS * DAY_MS)
    ours: Any = await node.meetings.list_meetings(
        MeetingFilters(start=now, end=window.end, feeds=(own,)), limit=SHOWN
    )
    every: Any = await node.meetings.list_meetings(window, limit=4 * SHOWN)
    others = [m for m in every["meetings"] if m["feed"] != own][:SHOWN]
    return ours["meetings"], others


async def _campaigns(node: NodeServices) -> tuple[list[Any], list[Any], list[Any]]:
    """This group's live campaigns, their latest updates, and others' campaigns."""
    own = node.key.feed
    ours: Any = await node.campaigns.list_campaigns(
        CampaignFilters(status="live", feed=own), limit=SHOWN
    )
    updates: list[Any] = []
    for campaign in ours["campaigns"]:
        detail: Any = await node.campaigns.get_campaign(campaign["id"])
        updates += [{**u, "campaign": campaign} for u in detail["updates"][:SHOWN]]
    updates.sort(key=lambda u: (u["ts"], u["id"]), reverse=True)
    every: Any = await node.campaigns.list_campaigns(CampaignFilters(), limit=4 * SHOWN)
    others = [c for c in every["campaigns"] if c["feed"] != own][:SHOWN]
    return ours["campaigns"], updates[:SHOWN], others


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    """The group, its next meetings, live campaigns, updates and the network."""
    node = request.app[SERVICES]
    meetings, network_meetings = await _meetings(node)
    campaigns, updates, network_campaigns = await _campaigns(node)
    return await page(
        request,
        "home.html",
        group=await _own_group(node),
        meetings=meetings,
        campaigns=campaigns,
        updates=updates,
        network_meetings=network_meetings,
        network_campaigns=network_campaigns,
        nav="home",
        live=True,
    )
