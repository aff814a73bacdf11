"""The ideas pages: ideas and their support, decisions and tasks.

``/ideas`` lists ideas of every group held (newest first, by status or
words) with their supporters and status, the open proposals, and for
members a form to put an idea forward (the ideas service publishes it,
naming the member only when they tick "show my name"). ``/ideas/{id}``
shows an idea, the proposals naming it and, for members of the group whose
idea it is, a support or withdraw button (who supports stays private; only
the count is published). ``/decisions/{id}`` follows a decision's chain:
idea → proposal → decision → tasks → actions → outcome, with its progress.
``/tasks`` lists open and done tasks, their owners only by a display name
they agreed to. Proposals have their own module (:mod:`.proposals`), whose
routes are served with these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from node.errors import NotFoundError
from node.projections.idea_queries import IDEA_STATUSES, TASK_STATUSES
from node.services.runtime import NodeServices
from node.storage.private import TokenGrant
from node.web import forms
from node.web.keys import SERVICES
from node.web.pages import proposals
from node.web.pages.changes import on_field, settled
from node.web.render import page, secure
from node.web.session import member_posting, redirect, viewer
from protocol import MalformedError, parse_event_id

__all__ = ["routes"]

_routes = web.RouteTableDef()

#: How many ideas, proposals and tasks a page shows.
PAGE_SIZE = 30
_TAG_SPLIT = re.compile(r"[\s,]+")
_MAX_TITLE, _MAX_TEXT, _MAX_TAGS = 200, 10000, 700


@dataclass(slots=True)
class Listing:
    """What ``/ideas`` shows: ideas and open proposals, or what to change."""

    ideas: list[Any] = field(default_factory=list)
    next: str | None = None
    problem: forms.Problem | None = None
    proposals: list[Any] = field(default_factory=list)


async def _listing(request: web.Request) -> Listing:
    node, query = request.app[SERVICES], request.query
    found: Any = await node.ideas.list_ideas(
        limit=PAGE_SIZE,
        after=forms.text(query, "after", max_length=300),
        status=forms.choice(query, "status", IDEA_STATUSES),
        q=forms.text(query, "q", max_length=200),
        tag=forms.text(query, "tag", max_length=32),
    )
    return Listing(list(found["ideas"]), found["next"])


async def _ideas_page(
    request: web.Request,
    *,
    problem: forms.Problem | None = None,
    typed: dict[str, str] | None = None,
) -> web.Response:
    node = request.app[SERVICES]
    found = await forms.attempt(lambda: _listing(request))
    listing = Listing(problem=found) if isinstance(found, forms.Problem) else found
    open_ones: Any = await node.ideas.list_proposals(
        limit=PAGE_SIZE, after=None, status="open"
    )
    listing.proposals = list(open_ones["proposals"])
    shown = problem or listing.problem
    return await page(
        request,
        "ideas.html",
        status=shown.status if shown else 200,
        listing=listing,
        query=request.query,
        statuses=IDEA_STATUSES,
        problem=problem,
        typed=typed or {},
        nav="ideas",
    )


@_routes.get("/ideas")
async def ideas_page(request: web.Request) -> web.Response:
    """Ideas across the network, open proposals and the form to propose one."""
    return await _ideas_page(request)


def _tags(text: str | None) -> list[str] | None:
    """Tags as typed ("Housing, repairs") as the schema has them."""
    if text is None:
        return None
    tags = [t for t in _TAG_SPLIT.split(text.casefold()) if t]
    return list(dict.fromkeys(tags)) or None


async def _propose(request: web.Request, fields: dict[str, str]) -> web.Response:
    node = request.app[SERVICES]
    grant = await member_posting(request, fields.get("csrf"))
    title = forms.text(fields, "title", max_length=_MAX_TITLE)
    if title is None:
        raise MalformedError("give the idea a title", field_path="title")
    event = await node.ideas.propose(
        grant,
        title,
        forms.text(fields, "text", max_length=_MAX_TEXT),
        _tags(forms.text(fields, "tags", max_length=_MAX_TAGS)),
        named=fields.get("named") == "yes",
    )
    await settled(node)
    return redirect(request, f"/ideas/{event.id}", flash="idea-proposed")


@_routes.post("/ideas")
async def propose(request: web.Request) -> web.Response:
    """Put an idea forward (form ``csrf``, ``title``, ``text``, ``tags``, ``named``)."""
    fields = await forms.posted(request)
    done = await forms.attempt(lambda: _propose(request, fields))
    if isinstance(done, forms.Problem):
        problem = on_field(done, {"proposer_display_name": "named"})
        typed = {k: v for k, v in fields.items() if k != "csrf"}
        return await _ideas_page(request, problem=problem, typed=typed)
    return secure(done)


# --- one idea ------------------------------------------------------------------


def _idea_id(request: web.Request) -> str:
    return parse_event_id(request.match_info["id"], field="id")


async def _supports(node: NodeServices, grant: TokenGrant | None, idea: Any) -> bool:
    """Whether the viewer supports the idea (only the group's own ideas)."""
    if grant is None or idea["feed"] != node.key.feed:
        return False
    held = await node.read(node.private.ideas.supports_of, grant.account_id)
    return any(support.idea == idea["id"] for support in held)


async def _idea_page(
    request: web.Request, *, problem: forms.Problem | None = None
) -> web.Response:
    node = request.app[SERVICES]
    idea: Any = await node.ideas.get_idea(_idea_id(request))
    seen = await viewer(request)
    return await page(
        request,
        "idea.html",
        status=problem.status if problem else 200,
        idea=idea,
        is_own=idea["feed"] == node.key.feed,
        supports=await _supports(node, seen.grant, idea),
        problem=problem,
        nav="ideas",
    )


@_routes.get("/ideas/{id}")
async def idea_page(request: web.Request) -> web.Response:
    """One idea: its supporters, status, proposals and the support button."""
    return await _idea_page(request)


async def _support(request: web.Request, fields: dict[str, str]) -> web.Response:
    node, idea_id = request.app[SERVICES], _idea_id(request)
    grant = await member_posting(request, fields.get("csrf"))
    wanted = forms.choice(fields, "support", ("yes", "no"))
    if wanted is None:
        raise MalformedError("say yes or no to supporting it", field_path="support")
    await node.ideas.support(grant, idea_id, wanted == "yes")
    await settled(node)
    flash = "support-saved" if wanted == "yes" else "support-withdrawn"
    return redirect(request, f"/ideas/{idea_id}", flash=flash)


@_routes.post("/ideas/{id}/support")
async def support(request: web.Request) -> web.Response:
    """Support an idea, or withdraw support (form ``csrf``, ``support`` yes/no)."""
    _idea_id(request)
    fields = await forms.posted(request)
    done = await forms.attempt(lambda: _support(request, fields))
    if isinstance(done, forms.Problem):
        if done.code == "not-found":
            raise NotFoundError(done.message)
        return await _idea_page(request, problem=done)
    return secure(done)


# --- decisions and tasks ---------------------------------------------------------


@_routes.get("/decisions/{id}")
async def decision_page(request: web.Request) -> web.Response:
    """A decision's chain: idea, proposal, result, tasks, actions, outcome."""
    decision_id = parse_event_id(request.match_info["id"], field="id")
    chain: Any = await request.app[SERVICES].ideas.get_decision(decision_id)
    proposal = chain["proposal"]
    labels = {o["id"]: o["label"] for o in proposal["options"]} if proposal else {}
    return await page(
        request,
        "decision.html",
        chain=chain,
        decision=chain["decision"],
        tz=proposal["tz"] if proposal else None,
        labels=labels,
        nav="ideas",
    )


async def _task_sections(request: web.Request) -> dict[str, Any]:
    """The tasks of one status (paged), or the first page of each."""
    node, query = request.app[SERVICES], request.query
    status = forms.choice(query, "status", TASK_STATUSES)
    after = forms.text(query, "after", max_length=300) if status else None
    sections: dict[str, Any] = {}
    for shown in (status,) if status else TASK_STATUSES:
        sections[shown] = await node.ideas.list_tasks(
            limit=PAGE_SIZE, after=after, status=shown
        )
    return sections


@_routes.get("/tasks")
async def tasks_page(request: web.Request) -> web.Response:
    """Tasks across the network: open and done."""
    found = await forms.attempt(lambda: _task_sections(request))
    problem = found if isinstance(found, forms.Problem) else None
    return await page(
        request,
        "tasks.html",
        status=problem.status if problem else 200,
        sections={} if problem else found,
        problem=problem,
        nav="ideas",
    )


#: Every route of the ideas pages, proposals' included.
routes: list[web.AbstractRouteDef] = [*_routes, *proposals.routes]
