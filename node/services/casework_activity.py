"""The activity report: counts of the organisers' private work, and publishing them.

Organisers read the counts of any period (1-to-1s held, cases opened, closed
and open at its end, members at its end) from private data, and may publish
them, numbers only, as ``group.activity_reported`` from the group's feed.
Anyone reads a group's published reports back from the activity read model
(:mod:`node.projections.activity`): the latest report for each period.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from node.projections.activity import REPORTED, ActivityPage, latest_reports
from node.services import casework_fields as fields
from node.services.casework_fields import TIME
from node.storage.private import ActivityCounts, TokenGrant
from protocol import Event, JsonObject, JsonValue, SchemaViolationError

if TYPE_CHECKING:
    from node.services.runtime import NodeServices

__all__ = ["ActivityReports"]


class ActivityReports:
    """The activity counts and reports of a running node."""

    def __init__(self, node: NodeServices) -> None:
        """Serve from the node's stores (see :class:`NodeServices`)."""
        self.node = node

    async def activity(
        self, grant: TokenGrant, starts_at: int, ends_at: int
    ) -> JsonObject:
        """The counts of ``[starts_at, ends_at)`` (organisers).

        Returns:
            ``{starts_at, ends_at, one_to_ones_held, cases_opened,
            cases_closed, cases_open, members}``.

        Raises:
            ForbiddenError: Not an organiser.
        """
        fields.organiser_only(grant)
        counts = await self._counts(starts_at, ends_at)
        node = self.node
        await node.read(
            node.private.record_audit,
            str(grant.account_id),
            "activity.counted",
            f"{starts_at}-{ends_at}",
            now=node.clock(),
        )
        return {"starts_at": starts_at, "ends_at": ends_at, **asdict(counts)}

    async def report_activity(self, grant: TokenGrant, request: JsonValue) -> Event:
        """Publish the counts of a period ``{starts_at, ends_at}`` (organisers).

        Only the numbers enter the feed; a later report of the same period
        replaces this one wherever it is read.

        Raises:
            ForbiddenError: Not an organiser.
            MalformedError, SchemaViolationError: The request is refused.
            CatchingUpError: The node cannot publish yet.
        """
        fields.organiser_only(grant)
        kinds = {"starts_at": TIME, "ends_at": TIME}
        given = fields.checked(request, kinds, ("starts_at", "ends_at"))
        starts_at, ends_at = given["starts_at"], given["ends_at"]
        if starts_at >= ends_at:
            raise SchemaViolationError(
                "ends_at must be after starts_at", field_path="ends_at"
            )
        counts = await self._counts(starts_at, ends_at)
        body: JsonObject = {"starts_at": starts_at, "ends_at": ends_at}
        body.update(asdict(counts))
        return await self.node.publish_on_behalf(grant, REPORTED, body)

    async def group_activity(
        self, feed: str, *, after: str | None = None, limit: int = 50
    ) -> JsonObject:
        """A group's published reports, the latest per period (anyone).

        Returns:
            ``{"reports": [{id, seq, ts, starts_at, ends_at, <counts>}],
            "next": cursor or None}``.

        Raises:
            NotFoundError: No such group is held, or it is blocked.
            InvalidCursorError: A cursor this node did not hand out.
        """
        await self.node.get_group(feed)
        page: ActivityPage = await self.node.read(
            self.node.readmodels.query, latest_reports, feed, limit, after
        )
        reports: list[JsonValue] = list(page.reports)
        return {"reports": reports, "next": page.next}

    async def _counts(self, starts_at: int, ends_at: int) -> ActivityCounts:
        counts: ActivityCounts = await self.node.read(
            self.node.private.casework.counts, starts_at, ends_at
        )
        return counts
