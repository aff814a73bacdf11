"""The pledges routes of the members' API (``docs/api.md#pledges``).

Targets and their progress are public. A member's pledge is their own
(``authenticated``: a Bearer token, or the session cookie with its CSRF
header on unsafe methods); the names behind the totals only the group's
organisers see. A request body is a JSON object of at most 16 KiB with
exactly the allowed keys; private answers are never cached.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from node.http.accounts import authenticated
from node.http.campaigns import choice_param
from node.http.keys import SERVICES
from node.http.params import int_param, text_param
from node.http.routes import json_response
from node.projections.pledges import KINDS, STATUSES
from node.services.accounts.fields import fields
from node.services.pledges import PledgeRequest, TargetFilters
from protocol import (
    MalformedError,
    TooLargeError,
    canonical,
    parse_event_id,
    parse_feed_id,
)

__all__ = ["pledge_routes"]

pledge_routes = web.RouteTableDef()

_MAX_BODY = 16 * 1024
_TARGET = "/api/v1/pledge-targets/{id}"
_OPTIONAL = {"pence": int, "hours": int, "skills": list, "condition": dict}


def _target_id(request: web.Request) -> str:
    return parse_event_id(request.match_info["id"], field="id")


def _private(value: object) -> web.Response:
    response = web.Response(body=orjson.dumps(value), content_type="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


async def _pledge_request(request: web.Request) -> PledgeRequest:
    data = await request.read()
    if len(data) > _MAX_BODY:
        raise TooLargeError(f"a pledge is at most {_MAX_BODY} bytes")
    given: dict[str, Any] = fields(canonical.decode(data), {}, _OPTIONAL)
    skills = given.get("skills")
    if skills is not None and not all(isinstance(s, str) for s in skills):
        raise MalformedError("skills must be texts", field_path="skills")
    others = None
    if "condition" in given:
        others = fields(given["condition"], {"others": int})["others"]
    return given.get("pence"), given.get("hours"), skills, others


def _filters(request: web.Request) -> TargetFilters:
    feed = text_param(request, "feed", max_length=60)
    subject = text_param(request, "subject", max_length=60)
    return TargetFilters(
        feed=parse_feed_id(feed) if feed else None,
        subject=parse_event_id(subject, field="subject") if subject else None,
        kind=choice_param(request, "kind", KINDS),
        status=choice_param(request, "status", STATUSES),
        q=text_param(request, "q"),
    )


@pledge_routes.get("/api/v1/pledge-targets")
async def list_targets(request: web.Request) -> web.Response:
    """Pledge targets of every group held, newest first."""
    page = await request.app[SERVICES].pledges.list_targets(
        _filters(request),
        limit=int_param(request, "limit", default=50, minimum=1, maximum=200),
        after=text_param(request, "after", max_length=300),
    )
    return json_response(page)


@pledge_routes.get(_TARGET)
async def get_target(request: web.Request) -> web.Response:
    """One target with every group's totals and the progress."""
    target = await request.app[SERVICES].pledges.get_target(_target_id(request))
    return json_response(target)


@pledge_routes.put(_TARGET + "/pledge")
async def put_pledge(request: web.Request) -> web.Response:
    """Pledge ``{pence|hours|skills, condition?: {others}}`` (members)."""
    grant = await authenticated(request)
    target_id = _target_id(request)
    given = await _pledge_request(request)
    answer = await request.app[SERVICES].pledges.pledge(grant, target_id, given)
    return _private(answer)


@pledge_routes.get(_TARGET + "/pledge")
async def get_pledge(request: web.Request) -> web.Response:
    """The caller's own pledge to a target."""
    grant = await authenticated(request)
    mine = await request.app[SERVICES].pledges.mine(grant, _target_id(request))
    return _private(mine)


@pledge_routes.delete(_TARGET + "/pledge")
async def delete_pledge(request: web.Request) -> web.Response:
    """Withdraw the caller's pledge."""
    grant = await authenticated(request)
    await request.app[SERVICES].pledges.withdraw(grant, _target_id(request))
    return web.Response(status=204, headers={"Cache-Control": "no-store"})


@pledge_routes.get(_TARGET + "/pledges")
async def list_pledges(request: web.Request) -> web.Response:
    """This node's members' pledges with their names (organisers)."""
    grant = await authenticated(request)
    named = await request.app[SERVICES].pledges.pledgers(
        grant,
        _target_id(request),
        after=int_param(request, "after", default=0, minimum=0, maximum=2**31),
        limit=int_param(request, "limit", default=100, minimum=1, maximum=500),
    )
    return _private(named)
