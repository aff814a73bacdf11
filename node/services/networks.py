"""The networks service: regional networks, coalitions and their groups.

Queries run in the node's read pool against the networks read model
(:mod:`node.projections.networks`), with the feeds the operator blocked left
out. A network's page also lists its campaigns through
:class:`~.campaigns.Campaigns`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from node.errors import NotFoundError
from node.projections import networks
from node.projections.campaigns import CampaignFilters
from node.projections.meetings import MeetingFilters
from node.services.places import NearQuery
from protocol import JsonObject, JsonValue

if TYPE_CHECKING:
    from node.services.runtime import NodeServices

__all__ = ["NETWORK_CAMPAIGNS", "NETWORK_MEETINGS", "Networks"]

#: How many campaigns a network's page shows; the rest are a listing away.
NETWORK_CAMPAIGNS = 50
#: How many coming meetings of its groups a network's page shows, and how
#: far ahead it looks (milliseconds: 90 days).
NETWORK_MEETINGS, NETWORK_MEETINGS_AHEAD = 50, 90 * 86_400_000


class Networks:
    """The networks queries of a running node."""

    def __init__(self, node: NodeServices) -> None:
        """Serve from the node's stores (see :class:`NodeServices`)."""
        self.node = node

    async def list_networks(
        self,
        *,
        q: str | None = None,
        kind: str | None = None,
        tag: str | None = None,
        near: NearQuery | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> JsonObject:
        """List networks by name (``GET /api/v1/networks``).

        Args:
            q: Words that must all appear in the name, area or description.
            kind: ``regional``, ``thematic``, ``coalition`` or ``other``.
            tag: A tag the network has.
            near: Only networks whose place lies within this radius.
            limit: The page size, brought into 1..200.
            after: The ``next`` of the previous page, or None to start.

        Returns:
            ``{"networks": [...], "next": cursor or None}``.

        Raises:
            InvalidCursorError: ``after`` is not a cursor this node handed out.
            NotFoundError: The near filter names a place or group not known.
        """
        node = self.node
        point = await node.places.resolve(near)
        blocked = await node.read(node.store.federation.blocked)
        return await node.read(
            lambda: node.readmodels.query(
                networks.list_networks,
                q=q,
                kind=kind,
                tag=tag,
                near=point,
                blocked=blocked,
                limit=limit,
                after=after,
            )
        )

    async def get_network(self, network_id: str) -> JsonObject:
        """One network with its groups, campaigns and coming meetings.

        Args:
            network_id: The event id of its ``network.formed``.

        Returns:
            The network as the listing shows it, with ``groups`` (convenor
            first) and ``campaigns`` (its own and its member groups', newest
            first, at most 50; ``campaigns_next`` pages on in the listing
            with ``network``) and ``meetings`` (the next 50 occurrences of
            meetings its groups host or co-host in the coming 90 days).

        Raises:
            NotFoundError: Not held, redacted, or formed by a blocked feed.
        """
        node = self.node
        blocked = await node.read(node.store.federation.blocked)
        found = await node.read(
            lambda: node.readmodels.query(
                networks.get_network, network_id, blocked=blocked
            )
        )
        if found is None:
            raise NotFoundError(f"no network {network_id} is held here")
        page = await node.campaigns.list_campaigns(
            CampaignFilters(network=network_id), limit=NETWORK_CAMPAIGNS
        )
        found["campaigns"] = page["campaigns"]
        found["campaigns_next"] = page["next"]
        found["meetings"] = await self._meetings(network_id)
        return found

    async def _meetings(self, network_id: str) -> JsonValue:
        feeds = await self.member_feeds(network_id)
        if not feeds:
            return []
        now = self.node.clock()
        filters = MeetingFilters(
            start=now, end=now + NETWORK_MEETINGS_AHEAD, feeds=feeds
        )
        page = await self.node.meetings.list_meetings(filters, limit=NETWORK_MEETINGS)
        return page["meetings"]

    async def member_feeds(self, network_id: str) -> tuple[str, ...]:
        """The feeds of a network's member groups, the convenor first.

        Args:
            network_id: The event id of its ``network.formed``.

        Returns:
            The feeds, blocked ones left out; empty when the network is not
            held.
        """
        node = self.node
        blocked = await node.read(node.store.federation.blocked)
        return await node.read(
            lambda: node.readmodels.query(
                networks.member_feeds, network_id, blocked=blocked
            )
        )

    async def networks_of(self, feed: str) -> list[JsonObject]:
        """The networks a group belongs to, by name (for a group's page).

        Args:
            feed: The group's feed id.

        Returns:
            The networks, each as the listing shows it.
        """
        node = self.node
        blocked = await node.read(node.store.federation.blocked)
        return await node.read(
            lambda: node.readmodels.query(networks.networks_of, feed, blocked=blocked)
        )
