"""The meetings service: the queries behind meetings, tours and calendars.

Meetings are published like every event (``POST /api/v1/events``); this
service answers what the read models hold about them, network-wide, leaving
out every feed this node has blocked. Queries run in the node's read pool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from node.errors import NotFoundError
from node.projections import tours
from node.projections.meeting_views import (
    calendar_meetings,
    get_meeting,
    list_meetings,
)
from node.projections.meetings import MeetingFilters
from node.services.calendar import calendar_bytes
from protocol import JsonObject

if TYPE_CHECKING:
    from node.services.runtime import NodeServices

__all__ = ["Meetings"]


class Meetings:
    """The meetings queries of a running node."""

    def __init__(self, node: NodeServices) -> None:
        """Serve from the node's stores (see :class:`NodeServices`)."""
        self.node = node

    async def _blocked(self) -> frozenset[str]:
        blocked = await self.node.read(self.node.store.federation.blocked)
        return frozenset(blocked)

    async def list_meetings(
        self, filters: MeetingFilters, *, limit: int = 50, after: str | None = None
    ) -> JsonObject:
        """Occurrences of meetings in a window, in start order.

        Args:
            filters: The window and what to narrow it by.
            limit: The page size (1..200).
            after: The previous page's ``next``, or None to start.

        Returns:
            ``{"meetings": [occurrence, …], "next": cursor or None}``.

        Raises:
            InvalidCursorError: ``after`` is not a cursor this node handed out.
        """
        blocked = await self._blocked()
        return await self.node.read(
            self.node.readmodels.query, list_meetings, filters, limit, after, blocked
        )

    async def get_meeting(self, meeting_id: str) -> JsonObject:
        """One meeting as it now is, with its agenda, counts and minutes.

        Args:
            meeting_id: The meeting's id (its ``meeting.scheduled`` event id).

        Returns:
            The meeting.

        Raises:
            NotFoundError: Not held, redacted, or its feed is blocked.
        """
        for attempt in range(2):
            blocked = await self._blocked()
            now = self.node.clock()
            meeting = await self.node.read(
                self.node.readmodels.query, get_meeting, meeting_id, blocked, now
            )
            if meeting is not None:
                return meeting
            # Stored a moment ago (a publish, a sync) but not yet projected?
            if attempt == 0 and not await self.node.settled():
                break
        raise NotFoundError(f"no meeting {meeting_id} is held here")

    async def list_tours(
        self, *, start: int | None = None, limit: int = 50, after: str | None = None
    ) -> JsonObject:
        """Tours not yet over, by start.

        Args:
            start: Only tours ending at or after this; now when None.
            limit: The page size (1..200).
            after: The previous page's ``next``, or None to start.

        Returns:
            ``{"tours": [tour, …], "next": cursor or None}``.

        Raises:
            InvalidCursorError: ``after`` is not a cursor this node handed out.
        """
        blocked = await self._blocked()
        since = self.node.clock() if start is None else start
        return await self.node.read(
            self.node.readmodels.query, tours.list_tours, since, limit, after, blocked
        )

    async def get_tour(self, tour_id: str) -> JsonObject:
        """One tour with its stops (occurrences, each with its host) in order.

        Args:
            tour_id: The ``tour.announced`` event id.

        Returns:
            The tour.

        Raises:
            NotFoundError: Not held, redacted, or its feed is blocked.
        """
        blocked = await self._blocked()
        tour = await self.node.read(
            self.node.readmodels.query, tours.get_tour, tour_id, blocked
        )
        if tour is None:
            raise NotFoundError(f"no tour {tour_id} is held here")
        return tour

    async def calendar(self, filters: MeetingFilters) -> bytes:
        """The meetings matching the filters as an iCalendar file.

        Every meeting with an occurrence in the window that is not cancelled,
        whole: its recurrence, cancelled occurrences and moved ones.

        Args:
            filters: The window and what to narrow it by; ``feeds=(feed,)``
                for one group's calendar (hosted or co-hosted).

        Returns:
            The ``.ics`` text, UTF-8.
        """
        blocked = await self._blocked()
        chosen = await self.node.read(
            self.node.readmodels.query, calendar_meetings, filters, blocked
        )
        return await self.node.read(calendar_bytes, chosen)

    async def has_group(self, feed: str) -> bool:
        """Whether a group (a profile of that feed) is held and not blocked."""
        if feed in await self._blocked():
            return False
        return await self.node.read(self.node.readmodels.get_group, feed) is not None
