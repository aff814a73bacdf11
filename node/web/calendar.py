"""One meeting as an iCalendar file (``GET /meetings/{id}.ics``).

The same file the group's calendar gives for that meeting (its recurrence,
cancelled and moved occurrences included), with only that meeting in it, so
"add to calendar" adds one thing. It is cut from the calendar query over a
window that holds the meeting's first coming occurrence.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from node.errors import NotFoundError
from node.projections.meeting_views import CalendarMeetings, calendar_meetings
from node.projections.meetings import MeetingFilters
from node.services.calendar import calendar_bytes
from node.services.runtime import NodeServices

__all__ = ["meeting_calendar"]


async def meeting_calendar(node: NodeServices, meeting_id: str) -> bytes:
    """The ``.ics`` text of one meeting.

    Raises:
        NotFoundError: Not held, redacted, blocked, or cancelled.
    """
    meeting: Any = await node.meetings.get_meeting(meeting_id)
    if meeting["status"] == "cancelled":
        raise NotFoundError("this meeting is cancelled: there is nothing to add")
    coming = meeting["next_occurrences"]
    last = coming[0]["starts_at"] if coming else meeting["starts_at"]
    filters = MeetingFilters(
        start=min(meeting["starts_at"], last),
        end=max(meeting["starts_at"], last) + 1,
        feeds=(meeting["feed"],),
    )
    blocked = frozenset(await node.read(node.store.federation.blocked))
    chosen: CalendarMeetings = await node.read(
        node.readmodels.query, calendar_meetings, filters, blocked
    )
    only = [m for m in chosen.meetings if m.id == meeting_id]
    if not only:
        raise NotFoundError("this meeting has no occurrence to add to a calendar")
    return await node.read(calendar_bytes, replace(chosen, meetings=only))
