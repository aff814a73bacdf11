"""The 1-to-1s, casework and activity routes (``docs/api.md#casework``).

1-to-1s, cases and the activity counts are for the group's organisers only:
the caller comes from ``authenticated`` (a Bearer token, or the session
cookie with its CSRF header on unsafe methods) and must be an organiser
before its request is even read. A request body is a JSON object of at most
16 KiB; every answer about them is ``Cache-Control: no-store``. A group's
published activity reports are public.
"""

from __future__ import annotations

import orjson
from aiohttp import web

from node.http.accounts import authenticated
from node.http.keys import SERVICES
from node.http.params import int_param, text_param
from node.http.routes import json_response
from node.services.casework_fields import MAX_TIME, organiser_only
from node.storage.private import TokenGrant
from protocol import JsonValue, MalformedError, TooLargeError, canonical, parse_feed_id

__all__ = ["casework_routes"]

casework_routes = web.RouteTableDef()

_MAX_BODY = 16 * 1024
_DAY = 86_400_000
_ONE_TO_ONES, _CASES = "/api/v1/one-to-ones", "/api/v1/cases"


async def _organiser(request: web.Request) -> TokenGrant:
    grant = await authenticated(request)
    organiser_only(grant)
    return grant


async def _body(request: web.Request) -> JsonValue:
    data = await request.read()
    if len(data) > _MAX_BODY:
        raise TooLargeError(f"a casework request is at most {_MAX_BODY} bytes")
    return canonical.decode(data)


def _private(value: object, *, status: int = 200, location: str = "") -> web.Response:
    response = web.Response(
        body=orjson.dumps(value), status=status, content_type="application/json"
    )
    response.headers["Cache-Control"] = "no-store"
    if location:
        response.headers["Location"] = location
    return response


def _gone() -> web.Response:
    return web.Response(status=204, headers={"Cache-Control": "no-store"})


def _time(request: web.Request, name: str) -> int | None:
    if not request.query.get(name):
        return None
    return int_param(request, name, default=0, minimum=0, maximum=MAX_TIME)


def _after(request: web.Request) -> str | None:
    return text_param(request, "after", max_length=100)


def _limit(request: web.Request, maximum: int = 100) -> int:
    return int_param(request, "limit", default=50, minimum=1, maximum=maximum)


def _flag(request: web.Request, name: str) -> bool:
    value = request.query.get(name, "false")
    if value not in ("true", "false"):
        raise MalformedError(f"{name} is true or false", field_path=name)
    return value == "true"


@casework_routes.post(_ONE_TO_ONES)
async def record_one_to_one(request: web.Request) -> web.Response:
    """Record a 1-to-1 (organisers)."""
    grant = await _organiser(request)
    casework = request.app[SERVICES].casework
    held = await casework.record_one_to_one(grant, await _body(request))
    return _private(held, status=201, location=f"{_ONE_TO_ONES}/{held['id']}")


@casework_routes.get(_ONE_TO_ONES)
async def list_one_to_ones(request: web.Request) -> web.Response:
    """1-to-1s, latest first, filtered by ``from``, ``to``, ``q``, follow-ups."""
    grant = await _organiser(request)
    page = await request.app[SERVICES].casework.list_one_to_ones(
        grant,
        starts_at=_time(request, "from"),
        ends_at=_time(request, "to"),
        q=text_param(request, "q"),
        open_follow_ups=_flag(request, "open_follow_ups"),
        after=_after(request),
        limit=_limit(request),
    )
    return _private(page)


@casework_routes.get(_ONE_TO_ONES + "/{id}")
async def get_one_to_one(request: web.Request) -> web.Response:
    """One 1-to-1 (organisers)."""
    grant = await _organiser(request)
    casework = request.app[SERVICES].casework
    return _private(await casework.get_one_to_one(grant, request.match_info["id"]))


@casework_routes.patch(_ONE_TO_ONES + "/{id}")
async def change_one_to_one(request: web.Request) -> web.Response:
    """Change a 1-to-1's notes, interests and follow-ups (organisers)."""
    grant = await _organiser(request)
    changed = await request.app[SERVICES].casework.change_one_to_one(
        grant, request.match_info["id"], await _body(request)
    )
    return _private(changed)


@casework_routes.delete(_ONE_TO_ONES + "/{id}")
async def delete_one_to_one(request: web.Request) -> web.Response:
    """Delete a 1-to-1 for good (organisers)."""
    grant = await _organiser(request)
    casework = request.app[SERVICES].casework
    await casework.delete_one_to_one(grant, request.match_info["id"])
    return _gone()


@casework_routes.post(_CASES)
async def open_case(request: web.Request) -> web.Response:
    """Open a case (organisers)."""
    grant = await _organiser(request)
    casework = request.app[SERVICES].casework
    case = await casework.open_case(grant, await _body(request))
    return _private(case, status=201, location=f"{_CASES}/{case['id']}")


@casework_routes.get(_CASES)
async def list_cases(request: web.Request) -> web.Response:
    """Cases, latest opened first, filtered by ``status``, ``category``, ``q``."""
    grant = await _organiser(request)
    status = text_param(request, "status", max_length=10)
    if status not in (None, "open", "closed"):
        raise MalformedError("status is open or closed", field_path="status")
    page = await request.app[SERVICES].casework.list_cases(
        grant,
        status=status,
        category=text_param(request, "category", max_length=100),
        q=text_param(request, "q"),
        after=_after(request),
        limit=_limit(request),
    )
    return _private(page)


@casework_routes.get(_CASES + "/{id}")
async def get_case(request: web.Request) -> web.Response:
    """One case with its actions (organisers)."""
    grant = await _organiser(request)
    casework = request.app[SERVICES].casework
    return _private(await casework.get_case(grant, request.match_info["id"]))


@casework_routes.post(_CASES + "/{id}/actions")
async def add_case_action(request: web.Request) -> web.Response:
    """Log what was done on a case (organisers)."""
    grant = await _organiser(request)
    case = await request.app[SERVICES].casework.add_case_action(
        grant, request.match_info["id"], await _body(request)
    )
    return _private(case, status=201)


@casework_routes.patch(_CASES + "/{id}")
async def change_case(request: web.Request) -> web.Response:
    """Change a case: next step, close with an outcome, reopen (organisers)."""
    grant = await _organiser(request)
    case = await request.app[SERVICES].casework.change_case(
        grant, request.match_info["id"], await _body(request)
    )
    return _private(case)


@casework_routes.delete(_CASES + "/{id}")
async def delete_case(request: web.Request) -> web.Response:
    """Delete a case for good (organisers)."""
    grant = await _organiser(request)
    await request.app[SERVICES].casework.delete_case(grant, request.match_info["id"])
    return _gone()


@casework_routes.get("/api/v1/activity")
async def activity(request: web.Request) -> web.Response:
    """The counts of a period ``[from, to)``; by default the last 30 days."""
    grant = await _organiser(request)
    services = request.app[SERVICES]
    ends_at, starts_at = _time(request, "to"), _time(request, "from")
    ends_at = services.clock() if ends_at is None else ends_at
    starts_at = max(ends_at - 30 * _DAY, 0) if starts_at is None else starts_at
    if starts_at >= ends_at:
        raise MalformedError("from must be before to", field_path="from")
    counts = await services.casework.reports.activity(grant, starts_at, ends_at)
    return _private(counts)


@casework_routes.post("/api/v1/activity/report")
async def report_activity(request: web.Request) -> web.Response:
    """Publish the counts of ``{starts_at, ends_at}`` (organisers)."""
    grant = await _organiser(request)
    reports = request.app[SERVICES].casework.reports
    event = await reports.report_activity(grant, await _body(request))
    answer = event.to_wire()
    answer["id"] = event.id
    return _private(answer, status=201, location=f"/api/v1/events/{event.id}")


@casework_routes.get("/api/v1/groups/{feed}/activity")
async def group_activity(request: web.Request) -> web.Response:
    """A group's published activity reports, the latest per period."""
    feed = parse_feed_id(request.match_info["feed"])
    page = await request.app[SERVICES].casework.reports.group_activity(
        feed,
        after=_after(request),
        limit=_limit(request, 200),
    )
    return json_response(page)
