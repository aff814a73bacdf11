"""The ideas and decisions routes of the members' API (``docs/api.md#ideas``).

Public: listing and reading ideas, proposals, decisions and tasks. Members
(of this node's group) propose ideas, support them and vote; organisers see
the counts so far, decide and create tasks. The caller comes from
``authenticated``; a request body is a JSON object of at most 16 KiB with
exactly the allowed keys. Answers about a member's own vote and anything
published for a member are never cached.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from node.errors import ForbiddenError
from node.http.accounts import authenticated
from node.http.campaigns import choice_param
from node.http.keys import SERVICES
from node.http.params import int_param, text_param
from node.http.routes import json_response
from node.projections.idea_queries import (
    IDEA_STATUSES,
    PROPOSAL_STATUSES,
    TASK_STATUSES,
)
from node.services.accounts.fields import fields
from node.storage.private import TokenGrant
from protocol import (
    Event,
    MalformedError,
    TooLargeError,
    canonical,
    parse_event_id,
    parse_feed_id,
)

__all__ = ["idea_routes"]

idea_routes = web.RouteTableDef()

_MAX_BODY = 16 * 1024
_IDEA = "/api/v1/ideas/{id}"
_PROPOSAL = "/api/v1/proposals/{id}"


async def _body(
    request: web.Request,
    required: Mapping[str, type],
    optional: Mapping[str, type],
    *,
    flags: tuple[str, ...] = (),
    lists: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The request's JSON object: ``flags`` are booleans, ``lists`` texts."""
    data = await request.read()
    if len(data) > _MAX_BODY:
        raise TooLargeError(f"a request is at most {_MAX_BODY} bytes")
    given = canonical.decode(data) if data.strip() else {}
    if not isinstance(given, dict):
        raise MalformedError("send a JSON object")
    values = {k: given.pop(k) for k in (*flags, *lists) if k in given}
    for name in flags:
        if name in values and not isinstance(values[name], bool):
            raise MalformedError(f"{name} must be true or false", field_path=name)
    for name in lists:
        value = values.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise MalformedError(f"{name} must be a list of texts", field_path=name)
    return {**fields(given, required, optional), **values}


def _id(request: web.Request) -> str:
    """The path's event id; a malformed one is a bad request (400)."""
    value = request.match_info["id"]
    parse_event_id(value, field="id")
    return value


def _paging(request: web.Request) -> dict[str, Any]:
    feed = text_param(request, "feed", max_length=60)
    return {
        "feed": parse_feed_id(feed) if feed else None,
        "limit": int_param(request, "limit", default=50, minimum=1, maximum=200),
        "after": text_param(request, "after", max_length=300),
    }


def _organiser(grant: TokenGrant) -> TokenGrant:
    """The caller, when an organiser (before their request body is read)."""
    if grant.role != "organiser":
        raise ForbiddenError("only the group's organisers may do this")
    return grant


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


# --- ideas ------------------------------------------------------------------


@idea_routes.get("/api/v1/ideas")
async def list_ideas(request: web.Request) -> web.Response:
    """Ideas of every feed held, newest first."""
    page = await request.app[SERVICES].ideas.list_ideas(
        **_paging(request),
        status=choice_param(request, "status", IDEA_STATUSES),
        tag=text_param(request, "tag", max_length=32),
        q=text_param(request, "q"),
    )
    return json_response(page)


@idea_routes.post("/api/v1/ideas")
async def propose_idea(request: web.Request) -> web.Response:
    """Publish ``{title, text?, tags?, named?}`` as the group's (members)."""
    grant = await authenticated(request)
    given = await _body(
        request, {"title": str}, {"text": str}, flags=("named",), lists=("tags",)
    )
    event = await request.app[SERVICES].ideas.propose(
        grant,
        given["title"],
        given.get("text"),
        given.get("tags"),
        named=given.get("named", False),
    )
    return _published(event)


@idea_routes.get(_IDEA)
async def get_idea(request: web.Request) -> web.Response:
    """One idea with its support count and the proposals naming it."""
    return json_response(await request.app[SERVICES].ideas.get_idea(_id(request)))


@idea_routes.put(_IDEA + "/support")
async def support_idea(request: web.Request) -> web.Response:
    """Support an idea of the group (members)."""
    grant = await authenticated(request)
    answer = await request.app[SERVICES].ideas.support(grant, _id(request), True)
    return _private(answer)


@idea_routes.delete(_IDEA + "/support")
async def withdraw_support(request: web.Request) -> web.Response:
    """Withdraw the caller's support (members)."""
    grant = await authenticated(request)
    await request.app[SERVICES].ideas.support(grant, _id(request), False)
    return web.Response(status=204, headers={"Cache-Control": "no-store"})


# --- proposals, votes and decisions -----------------------------------------


@idea_routes.get("/api/v1/proposals")
async def list_proposals(request: web.Request) -> web.Response:
    """Proposals of every feed held, newest first."""
    page = await request.app[SERVICES].ideas.list_proposals(
        **_paging(request),
        status=choice_param(request, "status", PROPOSAL_STATUSES),
    )
    return json_response(page)


@idea_routes.get(_PROPOSAL)
async def get_proposal(request: web.Request) -> web.Response:
    """One proposal, with its decision once decided."""
    proposal = await request.app[SERVICES].ideas.get_proposal(_id(request))
    return json_response(proposal)


@idea_routes.put(_PROPOSAL + "/vote")
async def vote(request: web.Request) -> web.Response:
    """Cast or change ``{choice?, ranking?, reason?}`` (members)."""
    grant = await authenticated(request)
    given = await _body(request, {}, {"choice": str, "reason": str}, lists=("ranking",))
    answer = await request.app[SERVICES].ideas.ballots.vote(grant, _id(request), given)
    return _private(answer)


@idea_routes.get(_PROPOSAL + "/vote")
async def my_vote(request: web.Request) -> web.Response:
    """The caller's own vote (members)."""
    grant = await authenticated(request)
    return _private(await request.app[SERVICES].ideas.ballots.mine(grant, _id(request)))


@idea_routes.delete(_PROPOSAL + "/vote")
async def withdraw_vote(request: web.Request) -> web.Response:
    """Withdraw the caller's vote while voting is open (members)."""
    grant = await authenticated(request)
    await request.app[SERVICES].ideas.ballots.withdraw(grant, _id(request))
    return web.Response(status=204, headers={"Cache-Control": "no-store"})


@idea_routes.get(_PROPOSAL + "/votes")
async def vote_counts(request: web.Request) -> web.Response:
    """The counts so far, never who voted how (organisers)."""
    grant = await authenticated(request)
    counts = await request.app[SERVICES].ideas.ballots.counts(grant, _id(request))
    return _private(counts)


@idea_routes.post(_PROPOSAL + "/decide")
async def decide(request: web.Request) -> web.Response:
    """Close the proposal and publish its decision, ``{text?}`` (organisers)."""
    grant = _organiser(await authenticated(request))
    given = await _body(request, {}, {"text": str})
    event = await request.app[SERVICES].ideas.ballots.decide(
        grant, _id(request), given.get("text")
    )
    return _published(event)


@idea_routes.get("/api/v1/decisions/{id}")
async def get_decision(request: web.Request) -> web.Response:
    """A decision with its idea, proposal, tasks, actions and outcome."""
    return json_response(await request.app[SERVICES].ideas.get_decision(_id(request)))


# --- tasks ------------------------------------------------------------------


@idea_routes.get("/api/v1/tasks")
async def list_tasks(request: web.Request) -> web.Response:
    """Tasks of every feed held, newest first."""
    decision = text_param(request, "decision", max_length=60)
    page = await request.app[SERVICES].ideas.list_tasks(
        **_paging(request),
        decision=parse_event_id(decision, field="decision") if decision else None,
        status=choice_param(request, "status", TASK_STATUSES),
    )
    return json_response(page)


@idea_routes.post("/api/v1/tasks")
async def create_task(request: web.Request) -> web.Response:
    """Publish a task (organisers); see :meth:`Ideas.create_task`."""
    grant = _organiser(await authenticated(request))
    texts = ("text", "decision", "campaign", "meeting", "owner_account")
    optional: dict[str, type] = dict.fromkeys(texts, str)
    given = await _body(
        request, {"title": str}, {**optional, "due_at": int}, flags=("named",)
    )
    return _published(await request.app[SERVICES].ideas.create_task(grant, given))
