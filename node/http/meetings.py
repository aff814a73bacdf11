"""The meetings routes of the members' API: meetings, tours and calendars.

All public: a visitor sees every meeting held, network-wide. Handlers parse
the query, call the meetings service and serialise; every refusal is raised
and turned into problem+json by ``node.http.problems``.
"""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from node.errors import NotFoundError
from node.http.keys import SERVICES
from node.http.params import int_param, near_params, text_param
from node.http.routes import json_response
from node.projections.meetings import KINDS, MeetingFilters
from node.projections.recurrence import MAX_TIME
from protocol import MalformedError, parse_event_id, parse_feed_id

__all__ = ["meeting_routes"]

meeting_routes = web.RouteTableDef()

DAY_MS = 86_400_000
#: The window a listing covers when ``to`` is not given.
DEFAULT_DAYS = 90
#: The widest window one request may ask for.
MAX_DAYS = 400
#: How far back a calendar starts when ``from`` is not given.
CALENDAR_PAST_DAYS = 30


async def _filters(
    request: web.Request, *, default_from: int, default_days: int
) -> MeetingFilters:
    """The filters of a listing or calendar, from the query string.

    Raises:
        MalformedError: A bad parameter (the ``field`` names it).
        NotFoundError: A ``near`` place or group not known here.
    """
    start = _time(request, "from", default_from)
    end = _time(request, "to", start + default_days * DAY_MS)
    if end < start:
        raise MalformedError("to must not be before from", field_path="to")
    if end - start > MAX_DAYS * DAY_MS:
        raise MalformedError(
            f"from and to may be at most {MAX_DAYS} days apart", field_path="to"
        )
    kind = text_param(request, "kind", max_length=32)
    if kind is not None and kind not in KINDS:
        raise MalformedError(f"kind must be one of {sorted(KINDS)}", field_path="kind")
    feed = text_param(request, "feed", max_length=60)
    near = await request.app[SERVICES].places.resolve(near_params(request))
    return MeetingFilters(
        start=start,
        end=end,
        kind=kind,
        q=text_param(request, "q", max_length=200),
        feeds=None if feed is None else (parse_feed_id(feed, field="feed"),),
        network=_event_id(request, "network"),
        tour=_event_id(request, "tour"),
        campaign=_event_id(request, "campaign"),
        tag=text_param(request, "tag", max_length=32),
        near=near,
    )


def _time(request: web.Request, name: str, default: int) -> int:
    value = int_param(request, name, default=default, minimum=0, maximum=MAX_TIME + 1)
    if value > MAX_TIME:
        raise MalformedError(f"{name} is past the year 9998", field_path=name)
    return value


def _event_id(request: web.Request, name: str) -> str | None:
    text = text_param(request, name, max_length=60)
    return None if text is None else parse_event_id(text, field=name)


def _limit(request: web.Request) -> int:
    return int_param(request, "limit", default=50, minimum=1, maximum=200)


def _after(request: web.Request) -> str | None:
    return text_param(request, "after", max_length=300)


@meeting_routes.get("/api/v1/meetings")
async def list_meetings(request: web.Request) -> web.Response:
    """Occurrences of meetings across the network, in start order."""
    services = request.app[SERVICES]
    filters = await _filters(
        request, default_from=services.clock(), default_days=DEFAULT_DAYS
    )
    page = await services.meetings.list_meetings(
        filters, limit=_limit(request), after=_after(request)
    )
    return json_response(page)


@meeting_routes.get("/api/v1/meetings/{id}")
async def get_meeting(request: web.Request) -> web.Response:
    """One meeting with its exceptions, agenda, counts and minutes."""
    meeting_id = parse_event_id(request.match_info["id"], field="id")
    meeting = await request.app[SERVICES].meetings.get_meeting(meeting_id)
    return json_response(meeting)


@meeting_routes.get("/api/v1/tours")
async def list_tours(request: web.Request) -> web.Response:
    """Speaking tours not yet over (or ending after ``from``), by start."""
    services = request.app[SERVICES]
    page = await services.meetings.list_tours(
        start=_time(request, "from", services.clock()),
        limit=_limit(request),
        after=_after(request),
    )
    return json_response(page)


@meeting_routes.get("/api/v1/tours/{id}")
async def get_tour(request: web.Request) -> web.Response:
    """One tour and its stops, each hosted in its own group's feed."""
    tour_id = parse_event_id(request.match_info["id"], field="id")
    return json_response(await request.app[SERVICES].meetings.get_tour(tour_id))


def _calendar_response(body: bytes) -> web.Response:
    response = web.Response(body=body, content_type="text/calendar", charset="utf-8")
    response.headers["Content-Disposition"] = 'inline; filename="meetings.ics"'
    return response


async def _calendar_filters(request: web.Request) -> MeetingFilters:
    now = request.app[SERVICES].clock()
    return await _filters(
        request,
        default_from=max(now - CALENDAR_PAST_DAYS * DAY_MS, 0),
        default_days=MAX_DAYS,
    )


@meeting_routes.get("/calendar.ics")
async def calendar(request: web.Request) -> web.Response:
    """Every meeting held that is not cancelled, as iCalendar (filters narrow it)."""
    filters = await _calendar_filters(request)
    body = await request.app[SERVICES].meetings.calendar(filters)
    return _calendar_response(body)


@meeting_routes.get("/groups/{feed}/calendar.ics")
async def group_calendar(request: web.Request) -> web.Response:
    """The meetings one group hosts or co-hosts, as iCalendar."""
    services = request.app[SERVICES]
    feed = parse_feed_id(request.match_info["feed"], field="feed")
    if not await services.meetings.has_group(feed):
        raise NotFoundError(f"no group {feed} is held here")
    filters = await _calendar_filters(request)
    if filters.feeds is not None and filters.feeds != (feed,):
        raise MalformedError("feed is given by the path", field_path="feed")
    body = await services.meetings.calendar(replace(filters, feeds=(feed,)))
    return _calendar_response(body)
