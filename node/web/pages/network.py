"""The network pages: the directory, a group's page and a network's page.

``/network`` searches groups and networks by name or tag, and "near" a place
name (looked up offline by ``node.places``), the browser's location or a
group's area. ``/groups/{feed}`` is a group's public page: its profile, the
networks it belongs to, its coming meetings and campaigns, and its calendar.
``/networks/{id}`` lists a network's groups, campaigns and coming meetings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from node.projections.campaigns import CampaignFilters
from node.projections.meetings import MeetingFilters
from node.web import forms
from node.web.keys import SERVICES
from node.web.render import page
from protocol import parse_event_id, parse_feed_id

__all__ = ["routes"]

routes = web.RouteTableDef()

DAY_MS = 86_400_000
#: How many groups a page of the directory shows.
PAGE_SIZE = 50
#: How many meetings and campaigns a group's page shows.
SHOWN = 20


@dataclass(slots=True)
class Directory:
    """What ``/network`` shows: groups and networks, or what to change."""

    groups: list[Any] = field(default_factory=list)
    networks: list[Any] = field(default_factory=list)
    next: str | None = None
    problem: forms.Problem | None = None


async def _directory(request: web.Request) -> Directory:
    node, query = request.app[SERVICES], request.query
    q = forms.text(query, "q", max_length=200)
    tag = forms.text(query, "tag", max_length=32)
    near = forms.near(query)
    after = forms.text(query, "after", max_length=200)
    groups: Any = await node.list_groups(
        query=q, tag=tag, limit=PAGE_SIZE, after=after, near=near
    )
    networks: Any = await node.networks.list_networks(
        q=q, tag=tag, near=near, limit=PAGE_SIZE
    )
    return Directory(groups["groups"], networks["networks"], groups["next"])


@routes.get("/network")
async def network_page(request: web.Request) -> web.Response:
    """The directory of groups and networks, by name, tag or place."""
    found = await forms.attempt(lambda: _directory(request))
    shown = Directory(problem=found) if isinstance(found, forms.Problem) else found
    return await page(
        request,
        "network.html",
        status=shown.problem.status if shown.problem else 200,
        directory=shown,
        query=request.query,
        radii=forms.RADII,
        nav="network",
    )


@routes.get("/groups/{feed}")
async def group_page(request: web.Request) -> web.Response:
    """A group's public page: profile, networks, meetings, campaigns."""
    node = request.app[SERVICES]
    feed = parse_feed_id(request.match_info["feed"], field="feed")
    group = await node.get_group(feed)
    now = node.clock()
    meetings: Any = await node.meetings.list_meetings(
        MeetingFilters(start=now, end=now + 90 * DAY_MS, feeds=(feed,)), limit=SHOWN
    )
    campaigns: Any = await node.campaigns.list_campaigns(
        CampaignFilters(feed=feed), limit=SHOWN
    )
    return await page(
        request,
        "group.html",
        group=group,
        networks=await node.networks.networks_of(feed),
        meetings=meetings["meetings"],
        campaigns=campaigns["campaigns"],
        is_own=feed == node.key.feed,
        nav="network",
    )


@routes.get("/networks/{id}")
async def network_detail(request: web.Request) -> web.Response:
    """A network: its groups, campaigns, coming meetings and decisions."""
    node = request.app[SERVICES]
    network_id = parse_event_id(request.match_info["id"], field="id")
    network = await node.networks.get_network(network_id)
    decisions = await node.delegates.list_decisions(network_id, limit=20)
    return await page(
        request,
        "network_detail.html",
        network=network,
        decisions=decisions["decisions"],
        nav="network",
    )
