"""The 1-to-1 log and casework pages of the organisers (private to this node).

``/organise/one-to-ones`` lists the relational meetings organisers held
(latest first, searchable) with a form to record one; a 1-to-1's own page
adds follow-ups and ticks them off. ``/organise/cases`` lists the casework
(open, closed or both) with a form to open a case; a case's page logs what
was done, and closes it with an outcome (or opens it again). Everything goes
through the casework service, which checks and audits it; nothing here ever
enters a feed (DESIGN §4).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from node.storage.private import TokenGrant
from node.web import forms
from node.web.keys import SERVICES
from node.web.pages.organise import (
    done,
    done_message,
    posting_organiser,
    refusal,
    viewing_organiser,
)
from node.web.render import page
from protocol import JsonObject, JsonValue

__all__ = ["routes"]

routes = web.RouteTableDef()

PAGE_SIZE = 30
DAY_MS = 86_400_000
STATUSES = ("open", "closed")


def _words(fields: Mapping[str, str], name: str) -> list[JsonValue]:
    """Comma-separated words (interests) as a list, empties left out."""
    text = forms.text(fields, name, max_length=2_500) or ""
    return [word.strip() for word in text.split(",") if word.strip()]


def _given(request: dict[str, JsonValue]) -> JsonObject:
    """The request without the fields left empty."""
    return {name: value for name, value in request.items() if value not in (None, [])}


# --- 1-to-1s ------------------------------------------------------------------


async def _one_to_ones(
    request: web.Request,
    grant: TokenGrant,
    *,
    status: int = 200,
    problem: forms.Problem | None = None,
    typed: Mapping[str, str] | None = None,
) -> web.Response:
    query = request.query
    found: Any = await request.app[SERVICES].casework.list_one_to_ones(
        grant,
        q=forms.text(query, "q", max_length=200),
        after=forms.text(query, "after", max_length=100),
        limit=PAGE_SIZE,
    )
    return await page(
        request,
        "organise_one_to_ones.html",
        status=status,
        found=found,
        query=query,
        problem=problem,
        typed=typed or {},
        done=done_message(request),
        nav="organise",
        tool="one-to-ones",
    )


@routes.get("/organise/one-to-ones")
async def one_to_ones_page(request: web.Request) -> web.Response:
    """The 1-to-1 log, latest first, and the form that records one."""
    return await _one_to_ones(request, await viewing_organiser(request))


async def _record(
    request: web.Request, grant: TokenGrant, fields: Mapping[str, str]
) -> Any:
    follow_up = forms.text(fields, "follow_up", max_length=5_000)
    wanted = _given(
        {
            "person": forms.text(fields, "person", max_length=200) or "",
            "held_at": forms.day_start(fields, "held_on"),
            "interests": _words(fields, "interests"),
            "notes": forms.text(fields, "notes", max_length=10_000),
            "follow_ups": [{"text": follow_up}] if follow_up else [],
        }
    )
    wanted.setdefault("held_at", request.app[SERVICES].clock())
    return await request.app[SERVICES].casework.record_one_to_one(grant, wanted)


@routes.post("/organise/one-to-ones")
async def record_one_to_one(request: web.Request) -> web.Response:
    """Record a 1-to-1: who, when, their interests, notes, a follow-up."""
    fields = await forms.posted(request)
    grant = await posting_organiser(request, fields)
    made = await forms.attempt(lambda: _record(request, grant, fields))
    if isinstance(made, forms.Problem):
        shown = refusal(made, {"held_at": "held_on", "follow_ups": "follow_up"})
        return await _one_to_ones(
            request, grant, status=made.status, problem=shown, typed=fields
        )
    return done(request, f"/organise/one-to-ones/{made['id']}", "one-to-one-added")


async def _one_to_one(
    request: web.Request,
    grant: TokenGrant,
    *,
    status: int = 200,
    problem: forms.Problem | None = None,
    typed: Mapping[str, str] | None = None,
) -> web.Response:
    casework = request.app[SERVICES].casework
    held = await casework.get_one_to_one(grant, request.match_info["id"])
    return await page(
        request,
        "organise_one_to_one.html",
        status=status,
        held=held,
        problem=problem,
        typed=typed or {},
        done=done_message(request),
        nav="organise",
        tool="one-to-ones",
    )


@routes.get("/organise/one-to-ones/{id}")
async def one_to_one_page(request: web.Request) -> web.Response:
    """One 1-to-1 with its follow-ups."""
    return await _one_to_one(request, await viewing_organiser(request))


async def _change(
    request: web.Request, grant: TokenGrant, fields: Mapping[str, str]
) -> None:
    if "number" in fields:
        number = forms.integer(fields, "number", minimum=1, maximum=50)
        change: JsonObject = {"follow_ups_done": [number or 0]}
    else:
        item = _given(
            {
                "text": forms.text(fields, "text", max_length=5_000) or "",
                "due_at": forms.day_start(fields, "due_on"),
            }
        )
        change = {"add_follow_ups": [item]}
    casework = request.app[SERVICES].casework
    await casework.change_one_to_one(grant, request.match_info["id"], change)


@routes.post("/organise/one-to-ones/{id}/follow-ups")
async def follow_up(request: web.Request) -> web.Response:
    """Add a follow-up (``text``, ``due_on``) or tick one off (``number``)."""
    fields = await forms.posted(request)
    grant = await posting_organiser(request, fields)
    changed = await forms.attempt(lambda: _change(request, grant, fields))
    if isinstance(changed, forms.Problem):
        return await _one_to_one(
            request, grant, status=changed.status, problem=changed, typed=fields
        )
    code = "follow-up-done" if "number" in fields else "follow-up-added"
    return done(request, f"/organise/one-to-ones/{request.match_info['id']}", code)


# --- cases --------------------------------------------------------------------


async def _cases(
    request: web.Request,
    grant: TokenGrant,
    *,
    status: int = 200,
    problem: forms.Problem | None = None,
    typed: Mapping[str, str] | None = None,
) -> web.Response:
    query = request.query
    found: Any = await request.app[SERVICES].casework.list_cases(
        grant,
        status=forms.choice(query, "status", STATUSES),
        q=forms.text(query, "q", max_length=200),
        after=forms.text(query, "after", max_length=100),
        limit=PAGE_SIZE,
    )
    return await page(
        request,
        "organise_cases.html",
        status=status,
        found=found,
        query=query,
        problem=problem,
        typed=typed or {},
        done=done_message(request),
        nav="organise",
        tool="cases",
    )


@routes.get("/organise/cases")
async def cases_page(request: web.Request) -> web.Response:
    """The casework, latest opened first, and the form that opens a case."""
    return await _cases(request, await viewing_organiser(request))


async def _open(
    request: web.Request, grant: TokenGrant, fields: Mapping[str, str]
) -> Any:
    wanted = _given(
        {
            "person": forms.text(fields, "person", max_length=200) or "",
            "problem": forms.text(fields, "problem", max_length=10_000) or "",
            "category": forms.text(fields, "category", max_length=100),
            "next_step": forms.text(fields, "next_step", max_length=1_000),
        }
    )
    return await request.app[SERVICES].casework.open_case(grant, wanted)


@routes.post("/organise/cases")
async def open_case(request: web.Request) -> web.Response:
    """Open a case: whose, what the problem is, its category, the next step."""
    fields = await forms.posted(request)
    grant = await posting_organiser(request, fields)
    made = await forms.attempt(lambda: _open(request, grant, fields))
    if isinstance(made, forms.Problem):
        return await _cases(
            request, grant, status=made.status, problem=made, typed=fields
        )
    return done(request, f"/organise/cases/{made['id']}", "case-opened")


async def _case(
    request: web.Request,
    grant: TokenGrant,
    *,
    status: int = 200,
    problem: forms.Problem | None = None,
    typed: Mapping[str, str] | None = None,
) -> web.Response:
    held = await request.app[SERVICES].casework.get_case(
        grant, request.match_info["id"]
    )
    return await page(
        request,
        "organise_case.html",
        status=status,
        case=held,
        problem=problem,
        typed=typed or {},
        done=done_message(request),
        nav="organise",
        tool="cases",
    )


@routes.get("/organise/cases/{id}")
async def case_page(request: web.Request) -> web.Response:
    """One case with what was done, and the forms that log and close it."""
    return await _case(request, await viewing_organiser(request))


async def _act(
    request: web.Request, grant: TokenGrant, fields: Mapping[str, str], step: str
) -> None:
    casework, case_id = request.app[SERVICES].casework, request.match_info["id"]
    if step == "actions":
        text = forms.text(fields, "text", max_length=5_000) or ""
        await casework.add_case_action(grant, case_id, {"text": text})
    elif step == "close":
        outcome = forms.text(fields, "outcome", max_length=5_000) or ""
        change: JsonObject = {"status": "closed", "outcome": outcome}
        await casework.change_case(grant, case_id, change)
    else:
        await casework.change_case(grant, case_id, {"status": "open"})


_CASE_DONE = {
    "actions": "action-added",
    "close": "case-closed",
    "reopen": "case-reopened",
}


@routes.post(r"/organise/cases/{id}/{step:actions|close|reopen}")
async def change_case(request: web.Request) -> web.Response:
    """Log an action (``text``), close with an ``outcome``, or reopen a case."""
    fields = await forms.posted(request)
    grant = await posting_organiser(request, fields)
    step = request.match_info["step"]
    changed = await forms.attempt(lambda: _act(request, grant, fields, step))
    if isinstance(changed, forms.Problem):
        return await _case(
            request, grant, status=changed.status, problem=changed, typed=fields
        )
    location = f"/organise/cases/{request.match_info['id']}"
    return done(request, location, _CASE_DONE[step])
