"""A proposal's page: its options, closing time, the vote form and the result.

``/proposals/{id}`` shows a proposal of any group held, its closing time in
the proposal's own time zone and its status. Members of this node's group
vote on the group's own proposals while they are open (the ballots service;
votes stay private, one per member, changeable and withdrawable until the
close): a radio choice for kinds consent, choose_one and pick_time, a
ranking for kind rank (a place number per option, no script needed), each
with an optional reason. Organisers may decide a proposal early. Once
decided the page shows the result and the counts per option, never who
voted how. The forms post to ``/proposals/{id}/vote``, ``…/vote/withdraw``
and ``…/decide``, each answered by a redirect (or the page again, with what
was typed and what to change).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node.errors import ForbiddenError, NotFoundError
from node.services.runtime import NodeServices
from node.storage.private import TokenGrant
from node.web import forms
from node.web.keys import SERVICES
from node.web.pages.changes import on_field, settled
from node.web.render import page, secure
from node.web.session import member_posting, redirect, viewer
from protocol import MalformedError, parse_event_id

__all__ = ["routes"]

routes = web.RouteTableDef()

_MAX_REASON = 2000
_MAX_TEXT = 10000


def _proposal_id(request: web.Request) -> str:
    return parse_event_id(request.match_info["id"], field="id")


async def _my_vote(node: NodeServices, grant: TokenGrant | None, proposal: Any) -> Any:
    """The viewer's own vote, when they may vote on this proposal at all."""
    if grant is None or proposal["feed"] != node.key.feed:
        return None
    mine: Any = await node.ideas.ballots.mine(grant, proposal["id"])
    return mine["vote"]


def _prefill(vote: Any) -> dict[str, str]:
    """The vote form's values from the viewer's current vote."""
    if vote is None:
        return {}
    shown = {"choice": vote["choice"] or "", "reason": vote["reason"] or ""}
    for place, option in enumerate(vote["ranking"] or (), start=1):
        shown[f"rank-{option}"] = str(place)
    return shown


def _counts(proposal: Any) -> list[dict[str, Any]]:
    """The decision's counts per option, in the proposal's order, with labels."""
    decision = proposal["decision"]
    if decision is None:
        return []
    by_option = {c["option"]: c for c in decision["counts"]}
    shown = []
    for option in proposal["options"]:
        count = by_option.get(option["id"], {})
        shown.append(
            {
                "id": option["id"],
                "label": option["label"],
                "votes": count.get("votes", 0),
                "score": count.get("score"),
            }
        )
    return shown


async def proposal_page(
    request: web.Request,
    *,
    problem: forms.Problem | None = None,
    typed: dict[str, str] | None = None,
) -> web.Response:
    """Render a proposal's page (after a refusal, with it and what was typed)."""
    node = request.app[SERVICES]
    proposal: Any = await node.ideas.get_proposal(_proposal_id(request))
    seen = await viewer(request)
    vote = await _my_vote(node, seen.grant, proposal)
    labels = {o["id"]: o["label"] for o in proposal["options"]}
    return await page(
        request,
        "proposal.html",
        status=problem.status if problem else 200,
        proposal=proposal,
        tz=proposal["tz"],
        is_own=proposal["feed"] == node.key.feed,
        vote=vote,
        labels=labels,
        counts=_counts(proposal),
        typed=typed if typed is not None else _prefill(vote),
        problem=problem,
        nav="ideas",
    )


@routes.get("/proposals/{id}")
async def show_proposal(request: web.Request) -> web.Response:
    """One proposal: options, closing time, status, the vote form, the result."""
    return await proposal_page(request)


def _ranking(fields: dict[str, str], options: list[str]) -> list[str]:
    """The options in the order of the places given (1 is best).

    Raises:
        MalformedError: A place that is not a number of the list, two
            options in one place, or no option ranked.
    """
    places: dict[int, str] = {}
    for option in options:
        name = f"rank-{option}"
        place = forms.integer(fields, name, minimum=1, maximum=len(options))
        if place is None:
            continue
        if place in places:
            raise MalformedError(
                "give each option you rank a different place", field_path="ranking"
            )
        places[place] = option
    if not places:
        raise MalformedError(
            "rank at least one option: 1 for your first choice", field_path="ranking"
        )
    return [places[place] for place in sorted(places)]


def _vote(fields: dict[str, str], proposal: Any) -> dict[str, Any]:
    """The vote the form gives, for the proposal's kind."""
    vote: dict[str, Any] = {}
    if proposal["kind"] == "rank":
        options = [str(o["id"]) for o in proposal["options"]]
        vote["ranking"] = _ranking(fields, options)
    else:
        choice = forms.text(fields, "choice", max_length=64)
        if choice is None:
            raise MalformedError("choose one of the options", field_path="choice")
        vote["choice"] = choice
    reason = forms.text(fields, "reason", max_length=_MAX_REASON)
    if reason is not None:
        vote["reason"] = reason
    return vote


async def _refused(
    request: web.Request, problem: forms.Problem, fields: dict[str, str]
) -> web.Response:
    if problem.code == "not-found":
        raise NotFoundError(problem.message)
    typed = {k: v for k, v in fields.items() if k != "csrf"}
    return await proposal_page(request, problem=on_field(problem), typed=typed)


async def _cast(request: web.Request, fields: dict[str, str]) -> web.Response:
    node, proposal_id = request.app[SERVICES], _proposal_id(request)
    grant = await member_posting(request, fields.get("csrf"))
    proposal: Any = await node.ideas.get_proposal(proposal_id)
    await node.ideas.ballots.vote(grant, proposal_id, _vote(fields, proposal))
    return redirect(request, f"/proposals/{proposal_id}", flash="vote-saved")


@routes.post("/proposals/{id}/vote")
async def cast_vote(request: web.Request) -> web.Response:
    """Cast or change the member's vote (form ``csrf``, ``choice`` or ranks)."""
    _proposal_id(request)
    fields = await forms.posted(request)
    done = await forms.attempt(lambda: _cast(request, fields))
    if isinstance(done, forms.Problem):
        return await _refused(request, done, fields)
    return secure(done)


async def _withdraw(request: web.Request, fields: dict[str, str]) -> web.Response:
    proposal_id = _proposal_id(request)
    grant = await member_posting(request, fields.get("csrf"))
    await request.app[SERVICES].ideas.ballots.withdraw(grant, proposal_id)
    return redirect(request, f"/proposals/{proposal_id}", flash="vote-withdrawn")


@routes.post("/proposals/{id}/vote/withdraw")
async def withdraw_vote(request: web.Request) -> web.Response:
    """Withdraw the member's vote while voting is open (form ``csrf``)."""
    _proposal_id(request)
    fields = await forms.posted(request)
    done = await forms.attempt(lambda: _withdraw(request, fields))
    if isinstance(done, forms.Problem):
        return await _refused(request, done, fields)
    return secure(done)


async def _decide(request: web.Request, fields: dict[str, str]) -> web.Response:
    node, proposal_id = request.app[SERVICES], _proposal_id(request)
    grant = await member_posting(request, fields.get("csrf"))
    if grant.role != "organiser":
        raise ForbiddenError("only the group's organisers decide a proposal early")
    text = forms.text(fields, "text", max_length=_MAX_TEXT)
    decided = await node.ideas.ballots.decide(grant, proposal_id, text)
    await settled(node)
    return redirect(request, f"/decisions/{decided.id}", flash="decided")


@routes.post("/proposals/{id}/decide")
async def decide_now(request: web.Request) -> web.Response:
    """Close the proposal now and publish its decision (organisers)."""
    _proposal_id(request)
    fields = await forms.posted(request)
    done = await forms.attempt(lambda: _decide(request, fields))
    if isinstance(done, forms.Problem):
        return await _refused(request, done, fields)
    return secure(done)
