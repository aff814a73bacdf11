"""The meetings pages: meetings near me, one meeting, RSVP and its calendar file.

``/meetings`` lists the occurrences of meetings across the network (the
meetings service), narrowed by a place name, the browser's location
(``lat``/``lon``, filled in by ``static/near.js`` where the browser allows),
a group's area, dates, kind and words; times show in each meeting's own time
zone. ``/meetings/{id}`` shows a meeting, its agenda and counts against its
capacity, a map link (OpenStreetMap, by coordinates; nothing is served from
here), its calendar file and, for members, an RSVP form that posts to
``/meetings/{id}/rsvp`` (the RSVPs service).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from node.errors import NotFoundError
from node.projections.meetings import KINDS, MeetingFilters
from node.web import forms
from node.web.calendar import meeting_calendar
from node.web.keys import SERVICES
from node.web.render import page, secure
from node.web.session import member_posting, redirect, viewer
from protocol import MalformedError, parse_event_id

__all__ = ["routes"]

routes = web.RouteTableDef()

DAY_MS = 86_400_000
#: The window listed when no end date is chosen, and the widest allowed.
DEFAULT_DAYS, MAX_DAYS = 90, 400
#: How many occurrences a page of the listing shows.
PAGE_SIZE = 30
ANSWERS = ("yes", "maybe", "no")


@dataclass(slots=True)
class Listing:
    """What ``/meetings`` shows: the occurrences, or what to change."""

    meetings: list[Any] = field(default_factory=list)
    next: str | None = None
    problem: forms.Problem | None = None
    groups: list[Any] = field(default_factory=list)


async def _filters(request: web.Request) -> MeetingFilters:
    query, node = request.query, request.app[SERVICES]
    start = forms.day_start(query, "from") or node.clock()
    end = forms.day_start(query, "to")
    end = start + DEFAULT_DAYS * DAY_MS if end is None else end + DAY_MS
    if end <= start:
        raise MalformedError(
            "the end date must not be before the start", field_path="to"
        )
    if end - start > MAX_DAYS * DAY_MS:
        raise MalformedError(f"choose at most {MAX_DAYS} days", field_path="to")
    return MeetingFilters(
        start=start,
        end=end,
        kind=forms.choice(query, "kind", KINDS),
        q=forms.text(query, "q", max_length=200),
        near=await node.places.resolve(forms.near(query)),
    )


async def _listing(request: web.Request) -> Listing:
    node = request.app[SERVICES]
    filters = await _filters(request)
    after = forms.text(request.query, "after", max_length=300)
    found: Any = await node.meetings.list_meetings(
        filters, limit=PAGE_SIZE, after=after
    )
    return Listing(list(found["meetings"]), found["next"])


async def _groups(request: web.Request) -> list[Any]:
    node = request.app[SERVICES]
    found: Any = await node.list_groups(query=None, tag=None, limit=200)
    return list(found["groups"])


@routes.get("/meetings")
async def meetings_page(request: web.Request) -> web.Response:
    """Meetings across the network: near a place, in a window, of a kind."""
    found = await forms.attempt(lambda: _listing(request))
    listing = Listing(problem=found) if isinstance(found, forms.Problem) else found
    listing.groups = await _groups(request)
    return await page(
        request,
        "meetings.html",
        status=listing.problem.status if listing.problem else 200,
        listing=listing,
        query=request.query,
        kinds=sorted(KINDS),
        radii=forms.RADII,
        nav="meetings",
    )


def _meeting_id(request: web.Request) -> str:
    return parse_event_id(request.match_info["id"], field="id")


@routes.get("/meetings/{id}.ics")
async def meeting_ics(request: web.Request) -> web.Response:
    """One meeting as an iCalendar file, to add to a calendar."""
    node = request.app[SERVICES]
    body = await meeting_calendar(node, _meeting_id(request))
    response = web.Response(body=body, content_type="text/calendar", charset="utf-8")
    response.headers["Content-Disposition"] = 'attachment; filename="meeting.ics"'
    return response


async def _mine(request: web.Request, meeting_id: str) -> dict[Any, str]:
    seen = await viewer(request)
    if seen.grant is None:
        return {}
    rsvps = request.app[SERVICES].rsvps
    found: Any = await rsvps.mine(seen.grant, meeting_id)
    return {r["occurrence_starts_at"]: r["answer"] for r in found["rsvps"]}


def _occasion_counts(meeting: Any) -> list[dict[str, Any]]:
    """The coming occurrences with their counts, against the capacity."""
    counts = {c["occurrence_starts_at"]: c for c in meeting["counts"]}
    shown = []
    for coming in meeting["next_occurrences"]:
        key = coming["occurrence_starts_at"]
        total = counts.get(key) or {"yes": 0, "maybe": 0, "no": 0, "attended": 0}
        shown.append({**coming, "counts": total})
    return shown


async def _meeting_page(
    request: web.Request, *, problem: forms.Problem | None = None, typed: Any = None
) -> web.Response:
    meeting_id = _meeting_id(request)
    meeting = await request.app[SERVICES].meetings.get_meeting(meeting_id)
    return await page(
        request,
        "meeting.html",
        status=problem.status if problem else 200,
        meeting=meeting,
        occasions=_occasion_counts(meeting),
        mine=await _mine(request, meeting_id),
        answers=ANSWERS,
        problem=problem,
        typed=typed or {},
        nav="meetings",
    )


@routes.get("/meetings/{id}")
async def meeting_page(request: web.Request) -> web.Response:
    """One meeting: details, agenda, counts, map and calendar links, RSVP."""
    return await _meeting_page(request)


async def _answer(
    request: web.Request, meeting_id: str, fields: dict[str, str]
) -> None:
    grant = await member_posting(request, fields.get("csrf"))
    answer = forms.choice(fields, "answer", ANSWERS)
    if answer is None:
        raise MalformedError("choose yes, maybe or no", field_path="answer")
    occurrence = forms.integer(fields, "occurrence", minimum=0, maximum=2**53 - 1)
    await request.app[SERVICES].rsvps.rsvp(grant, meeting_id, answer, occurrence)


@routes.post("/meetings/{id}/rsvp")
async def rsvp(request: web.Request) -> web.Response:
    """Answer yes, maybe or no (the RSVP form of a meeting's page)."""
    meeting_id = _meeting_id(request)
    fields = await forms.posted(request)
    done = await forms.attempt(lambda: _answer(request, meeting_id, fields))
    if isinstance(done, forms.Problem):
        if done.code == "not-found":
            raise NotFoundError(done.message)
        return await _meeting_page(request, problem=done, typed=fields)
    return secure(redirect(request, f"/meetings/{meeting_id}", flash="rsvp-saved"))
