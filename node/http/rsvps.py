"""The routes of what members do about meetings (``docs/api.md#rsvps``).

RSVPs (the caller's own; names only for organisers), attendance and agenda
items. The caller comes from ``authenticated`` (a Bearer token, or the session
cookie with its CSRF header on unsafe methods). A request body is a JSON
object of at most 16 KiB with exactly the allowed keys; answers about a
member's own RSVPs, and the names, are never cached.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from node.http.accounts import authenticated
from node.http.keys import SERVICES
from node.http.params import int_param
from node.services.accounts.fields import fields
from protocol import Event, TooLargeError, canonical

__all__ = ["rsvp_routes"]

rsvp_routes = web.RouteTableDef()

_MAX_BODY = 16 * 1024
_OCCURRENCE = "occurrence_starts_at"
_MEETING = "/api/v1/meetings/{id}"


async def _body(
    request: web.Request,
    required: Mapping[str, type],
    optional: Mapping[str, type],
) -> dict[str, Any]:
    data = await request.read()
    if len(data) > _MAX_BODY:
        raise TooLargeError(f"a meeting request is at most {_MAX_BODY} bytes")
    return fields(canonical.decode(data), required, optional)


def _private(value: object, *, status: int = 200) -> web.Response:
    response = web.Response(
        body=orjson.dumps(value), status=status, content_type="application/json"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _published(event: Event) -> web.Response:
    answer = event.to_wire()
    answer["id"] = event.id
    response = _private(answer, status=201)
    response.headers["Location"] = f"/api/v1/events/{event.id}"
    return response


def _occurrence_param(request: web.Request) -> int | None:
    if not request.query.get(_OCCURRENCE):
        return None
    return int_param(request, _OCCURRENCE, default=0, minimum=0, maximum=2**53 - 1)


def _paging(request: web.Request) -> dict[str, int]:
    return {
        "after": int_param(request, "after", default=0, minimum=0, maximum=2**31),
        "limit": int_param(request, "limit", default=100, minimum=1, maximum=500),
    }


@rsvp_routes.put(_MEETING + "/rsvp")
async def put_rsvp(request: web.Request) -> web.Response:
    """Answer ``{answer, occurrence_starts_at?}`` to a meeting (members)."""
    grant = await authenticated(request)
    given = await _body(request, {"answer": str}, {_OCCURRENCE: int})
    answer = await request.app[SERVICES].rsvps.rsvp(
        grant, request.match_info["id"], given["answer"], given.get(_OCCURRENCE)
    )
    return _private(answer)


@rsvp_routes.get(_MEETING + "/rsvp")
async def get_rsvp(request: web.Request) -> web.Response:
    """The caller's own answers to a meeting."""
    grant = await authenticated(request)
    mine = await request.app[SERVICES].rsvps.mine(
        grant, request.match_info["id"], **_paging(request)
    )
    return _private(mine)


@rsvp_routes.delete(_MEETING + "/rsvp")
async def delete_rsvp(request: web.Request) -> web.Response:
    """Withdraw the caller's answer (``?occurrence_starts_at=`` for one)."""
    grant = await authenticated(request)
    await request.app[SERVICES].rsvps.withdraw(
        grant, request.match_info["id"], _occurrence_param(request)
    )
    return web.Response(status=204, headers={"Cache-Control": "no-store"})


@rsvp_routes.get(_MEETING + "/rsvps")
async def list_rsvps(request: web.Request) -> web.Response:
    """Who of this node's members answered what (organisers)."""
    grant = await authenticated(request)
    named = await request.app[SERVICES].rsvps.names(
        grant, request.match_info["id"], **_paging(request)
    )
    return _private(named)


@rsvp_routes.post(_MEETING + "/attendance")
async def record_attendance(request: web.Request) -> web.Response:
    """Publish ``{attended, occurrence_starts_at?}`` with the counts (organisers)."""
    grant = await authenticated(request)
    given = await _body(request, {"attended": int}, {_OCCURRENCE: int})
    event = await request.app[SERVICES].rsvps.record_attendance(
        grant, request.match_info["id"], given.get(_OCCURRENCE), given["attended"]
    )
    return _published(event)


@rsvp_routes.post(_MEETING + "/agenda")
async def add_agenda_item(request: web.Request) -> web.Response:
    """Publish ``{title, text?, duration_minutes?, occurrence_starts_at?}``."""
    grant = await authenticated(request)
    optional = {"text": str, "duration_minutes": int, _OCCURRENCE: int}
    given = await _body(request, {"title": str}, optional)
    event = await request.app[SERVICES].rsvps.add_agenda_item(
        grant,
        request.match_info["id"],
        given["title"],
        given.get("text"),
        given.get("duration_minutes"),
        given.get(_OCCURRENCE),
    )
    return _published(event)
