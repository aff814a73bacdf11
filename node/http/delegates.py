"""Network decisions by delegates: routes (``docs/api.md#network-decisions``).

Reading a network's decisions is public: the votes shown are groups'
public votes, signed in their own feeds, never members'. Voting and deciding
are for this group's organisers (a Bearer token, or the session cookie with
its CSRF header); the request body is a JSON object of at most 16 KiB with
only the allowed keys, and the answer is the event published.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from node.http.accounts import authenticated
from node.http.keys import SERVICES
from node.http.params import int_param, text_param
from node.http.routes import json_response
from protocol import (
    Event,
    JsonObject,
    MalformedError,
    TooLargeError,
    canonical,
    parse_event_id,
)

__all__ = ["delegate_routes", "request_object"]

delegate_routes = web.RouteTableDef()

_MAX_BODY = 16 * 1024
_DECISION = "/api/v1/network-decisions/{id}"


async def request_object(
    request: web.Request, allowed: Mapping[str, type], *, may_be_empty: bool = False
) -> JsonObject:
    """The request body: a JSON object with only ``allowed`` keys of their kinds.

    Raises:
        TooLargeError: Over 16 KiB.
        MalformedError: Not a JSON object, an unknown key or a wrong kind.
    """
    data = await request.read()
    if len(data) > _MAX_BODY:
        raise TooLargeError(f"a request body is at most {_MAX_BODY} bytes")
    if may_be_empty and not data.strip():
        return {}
    value = canonical.decode(data)
    if not isinstance(value, dict):
        raise MalformedError("send a JSON object")
    for name, given in value.items():
        kind = allowed.get(name)
        if kind is None:
            raise MalformedError(f"unknown field {name!r}", field_path=name)
        if not isinstance(given, kind) or isinstance(given, bool):
            raise MalformedError(f"{name} is of the wrong kind", field_path=name)
    return value


def _published(event: Event) -> web.Response:
    answer = event.to_wire()
    answer["id"] = event.id
    response = json_response(answer, status=201)
    response.headers["Location"] = f"/api/v1/events/{event.id}"
    return response


def _event_id(request: web.Request) -> str:
    return parse_event_id(request.match_info["id"], field="id")


@delegate_routes.get("/api/v1/networks/{id}/decisions")
async def list_decisions(request: web.Request) -> web.Response:
    """A network's decisions by delegates, newest opened first."""
    page = await request.app[SERVICES].delegates.list_decisions(
        _event_id(request),
        limit=int_param(request, "limit", default=50, minimum=1, maximum=100),
        after=text_param(request, "after", max_length=300),
    )
    return json_response(page)


@delegate_routes.get(_DECISION)
async def get_decision(request: web.Request) -> web.Response:
    """One decision with its groups' votes, provisional tally and result."""
    decision = await request.app[SERVICES].delegates.get_decision(_event_id(request))
    return json_response(decision)


@delegate_routes.put(_DECISION + "/vote")
async def vote(request: web.Request) -> web.Response:
    """Cast this group's vote ``{choice | ranking, reason?}`` (organisers)."""
    grant = await authenticated(request)
    decision_id = _event_id(request)
    allowed = {"choice": str, "ranking": list, "reason": str}
    given = await request_object(request, allowed)
    event = await request.app[SERVICES].delegates.vote(grant, decision_id, given)
    return _published(event)


@delegate_routes.post(_DECISION + "/decide")
async def decide(request: web.Request) -> web.Response:
    """Publish the result of a closed decision ``{text?}`` (the convenor's)."""
    grant = await authenticated(request)
    decision_id = _event_id(request)
    given = await request_object(request, {"text": str}, may_be_empty=True)
    text = given.get("text")
    event = await request.app[SERVICES].delegates.decide(
        grant, decision_id, text if isinstance(text, str) else None
    )
    return _published(event)
