"""The group's latest published RSVP counts, per meeting and occurrence.

The RSVP service compares the counts of current members with what the group
last published (``meeting.attendance_counted`` in its own feed) to know
whether to publish again, and keeps the last ``attended``.
"""

from __future__ import annotations

from node.services.own_feed import LatestOwn
from node.storage.feeds import FeedStore
from node.storage.private import Occasion
from protocol import FeedId, JsonObject

__all__ = ["COUNTED", "PublishedCounts"]

COUNTED = "meeting.attendance_counted"


class PublishedCounts(LatestOwn[Occasion]):
    """The own feed's latest counts per occasion, as published."""

    def __init__(self, store: FeedStore, feed: FeedId) -> None:
        """Follow the counts of ``feed`` in ``store``."""
        super().__init__(store, feed, COUNTED, _occasion)


def _occasion(body: JsonObject) -> Occasion | None:
    meeting, occurrence = body.get("meeting"), body.get("occurrence_starts_at")
    if not isinstance(meeting, str) or not isinstance(occurrence, int | None):
        return None
    return (meeting, occurrence)
