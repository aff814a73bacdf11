"""The network decisions pages: decisions a network takes by its groups' votes.

``/networks/{id}/decisions`` lists a network's decisions, newest first;
``/network-decisions/{id}`` shows one: its options, each member group's
vote, and the provisional tally until the convenor's result is held, then
the result. This group's organisers cast its vote there while the decision
is open and the group is a member (``network.delegate_vote_cast``); the
convening group's organisers publish the result once it has closed
(``network.decision_made``). The delegates service makes every check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from node.errors import NodeError, NotFoundError
from node.web import forms
from node.web.keys import SERVICES
from node.web.pages.acting import organiser_posting, settled
from node.web.pages.listing import Listing, listing_page
from node.web.render import page, secure
from node.web.session import redirect, viewer
from protocol import JsonObject, MalformedError, parse_event_id

__all__ = ["routes"]

routes = web.RouteTableDef()

#: How many decisions a page of a network's list shows.
PAGE_SIZE = 20


async def _decisions(request: web.Request, network_id: str) -> Listing:
    node = request.app[SERVICES]
    found: Any = await node.delegates.list_decisions(
        network_id,
        limit=PAGE_SIZE,
        after=forms.text(request.query, "after", max_length=300),
    )
    return Listing(found["decisions"], found["next"])


@routes.get("/networks/{id}/decisions")
async def decisions_page(request: web.Request) -> web.Response:
    """A network's decisions, newest first."""
    network_id = parse_event_id(request.match_info["id"], field="id")
    network = await request.app[SERVICES].networks.get_network(network_id)
    return await listing_page(
        request,
        "network_decisions.html",
        lambda: _decisions(request, network_id),
        network=network,
        nav="network",
    )


async def _is_member(request: web.Request, network_id: str) -> bool:
    node = request.app[SERVICES]
    try:
        network: Any = await node.networks.get_network(network_id)
    except NodeError:
        return False
    return any(g["feed"] == node.key.feed for g in network["groups"])


async def _decision_page(
    request: web.Request, *, problem: forms.Problem | None = None, typed: Any = None
) -> web.Response:
    node = request.app[SERVICES]
    decision_id = parse_event_id(request.match_info["id"], field="id")
    decision: Any = await node.delegates.get_decision(decision_id)
    seen = await viewer(request)
    own = node.key.feed
    is_member = await _is_member(request, decision["network"]["id"])
    return await page(
        request,
        "network_decision.html",
        status=problem.status if problem else 200,
        decision=decision,
        labels={o["id"]: o["label"] for o in decision["options"]},
        ours=next((v for v in decision["votes"] if v["feed"] == own), None),
        can_vote=seen.is_organiser and is_member and decision["status"] == "open",
        can_decide=seen.is_organiser
        and decision["convenor"]["feed"] == own
        and decision["status"] == "closed",
        is_member=is_member,
        problem=problem,
        typed=typed or {},
        nav="network",
    )


@routes.get("/network-decisions/{id}")
async def decision_page(request: web.Request) -> web.Response:
    """A decision: options, votes by group, the tally or the result."""
    return await _decision_page(request)


def _ranking(fields: dict[str, str], options: list[Any]) -> list[str]:
    """The options in the order of the places chosen (``rank-<option>``)."""
    places: dict[int, str] = {}
    size = len(options)
    for option in options:
        name = f"rank-{option['id']}"
        place = forms.integer(fields, name, minimum=1, maximum=size)
        if place is None:
            continue
        if place in places:
            raise MalformedError("give each option a different place", field_path=name)
        places[place] = str(option["id"])
    if not places:
        raise MalformedError("rank at least one option", field_path="ranking")
    return [places[place] for place in sorted(places)]


async def _vote(request: web.Request, fields: dict[str, str]) -> None:
    grant = await organiser_posting(request, fields.get("csrf"))
    node = request.app[SERVICES]
    decision_id = parse_event_id(request.match_info["id"], field="id")
    decision: Any = await node.delegates.get_decision(decision_id)
    vote: JsonObject = {}
    if decision["kind"] == "rank":
        vote["ranking"] = list(_ranking(fields, decision["options"]))
    else:
        choice = forms.choice(fields, "choice", [o["id"] for o in decision["options"]])
        if choice is None:
            raise MalformedError("choose one of the options", field_path="choice")
        vote["choice"] = choice
    reason = forms.text(fields, "reason", max_length=2000)
    if reason is not None:
        vote["reason"] = reason
    await node.delegates.vote(grant, decision_id, vote)
    await settled(node)


async def _decide(request: web.Request, fields: dict[str, str]) -> None:
    grant = await organiser_posting(request, fields.get("csrf"))
    node = request.app[SERVICES]
    decision_id = parse_event_id(request.match_info["id"], field="id")
    text = forms.text(fields, "text", max_length=10_000)
    await node.delegates.decide(grant, decision_id, text)
    await settled(node)


async def _sent(
    request: web.Request,
    work: Callable[[], Awaitable[None]],
    fields: dict[str, str],
) -> web.Response:
    decision_id = parse_event_id(request.match_info["id"], field="id")
    done = await forms.attempt(work)
    if isinstance(done, forms.Problem):
        if done.code == "not-found":
            raise NotFoundError(done.message)
        return await _decision_page(request, problem=done, typed=fields)
    return secure(redirect(request, f"/network-decisions/{decision_id}"))


@routes.post("/network-decisions/{id}/vote")
async def vote(request: web.Request) -> web.Response:
    """Cast the group's vote (organisers of a member group, while open)."""
    fields = await forms.posted(request)
    return await _sent(request, lambda: _vote(request, fields), fields)


@routes.post("/network-decisions/{id}/decide")
async def decide(request: web.Request) -> web.Response:
    """Publish the result of a closed decision (the convenor's organisers)."""
    fields = await forms.posted(request)
    return await _sent(request, lambda: _decide(request, fields), fields)
