"""The organisers' pages: the start page and invite links, and what they share.

Only the group's organisers use them: a visitor is asked to log in (401 page)
and a member is refused (403 page). Every form posts the session's CSRF token,
checked before anything is read or done (:func:`posting_organiser`); a form
refused for what it holds is shown again with what was typed and what to
change. After a change, a page redirects (303) to a listing with ``?done=`` a
code of :data:`DONE`, so a reload never repeats it and nobody can make a page
say something of their choosing.

The other tools live beside this module: ``organise_members`` (members and
password links), ``organise_casework`` (1-to-1s, cases, the activity report),
``organise_publish`` (publishing events), ``organise_redact`` (redaction) and
``organise_peers`` (peers, blocks, forks and sync lag).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from node.errors import ForbiddenError, UnauthorisedError
from node.storage.private import TokenGrant
from node.web import forms
from node.web.keys import SERVICES
from node.web.render import page, secure
from node.web.session import member_posting, redirect, viewer
from protocol import JsonValue

__all__ = [
    "DONE",
    "done_message",
    "organiser",
    "posting_organiser",
    "refusal",
    "routes",
    "viewing_organiser",
]

routes = web.RouteTableDef()

#: What a ``?done=`` code says after a change.
DONE = {
    "invite-revoked": "The invite is revoked: its link no longer works.",
    "role-changed": "The role is changed.",
    "member-removed": "The member is removed, with their personal data.",
    "one-to-one-added": "The 1-to-1 is recorded.",
    "follow-up-added": "The follow-up is added.",
    "follow-up-done": "The follow-up is ticked off.",
    "case-opened": "The case is opened.",
    "action-added": "The action is logged.",
    "case-closed": "The case is closed.",
    "case-reopened": "The case is open again.",
    "published": "Published to the group's feed.",
    "redacted": "The event's body is withdrawn; peers drop it when they sync.",
    "peer-added": "The peer is added; the node contacts it now.",
    "blocked": "Blocked: nothing of it is replicated, served or shown.",
    "unblocked": "Unblocked: it is replicated again from the next round.",
}
#: How many live invites the start page lists.
INVITES_SHOWN = 50


def organiser(grant: TokenGrant | None) -> TokenGrant:
    """The grant, when it is an organiser's.

    Raises:
        UnauthorisedError: Nobody is signed in.
        ForbiddenError: A member who is not an organiser.
    """
    if grant is None:
        raise UnauthorisedError("log in as an organiser to organise")
    if grant.role != "organiser":
        raise ForbiddenError("only the group's organisers can use this page")
    return grant


async def viewing_organiser(request: web.Request) -> TokenGrant:
    """The organiser looking at a page (else a 401 or 403 page)."""
    return organiser((await viewer(request)).grant)


async def posting_organiser(
    request: web.Request, fields: Mapping[str, str]
) -> TokenGrant:
    """The organiser sending a form, its CSRF token checked first.

    Raises:
        UnauthorisedError: Nobody is signed in, or the session has ended.
        ForbiddenError: A wrong or missing CSRF token, or not an organiser.
    """
    return organiser(await member_posting(request, fields.get("csrf")))


def done_message(request: web.Request) -> str | None:
    """What the ``?done=`` code of a page's address says, if it is one of ours."""
    return DONE.get(request.query.get("done", ""))


def refusal(problem: forms.Problem, names: Mapping[str, str]) -> forms.Problem:
    """``problem`` with its field named as the form names it (``body.title``)."""
    field = problem.field
    if field is None:
        return problem
    named = names.get(field, field)
    return forms.Problem(problem.code, problem.message, named, problem.status)


def done(request: web.Request, location: str, code: str) -> web.Response:
    """A 303 to ``location`` saying ``code`` there."""
    mark = "&" if "?" in location else "?"
    return secure(redirect(request, f"{location}{mark}done={code}"))


# --- the start page and invites ------------------------------------------------


async def _invites(request: web.Request, grant: TokenGrant) -> list[Any]:
    node = request.app[SERVICES]
    found: Any = await node.accounts.list_invites(grant)
    now = node.clock()
    live = [
        invite
        for invite in found["invites"]
        if invite["revoked_at"] is None
        and invite["expires_at"] > now
        and invite["uses_left"] > 0
    ]
    return list(reversed(live))[:INVITES_SHOWN]


async def _start_page(
    request: web.Request,
    grant: TokenGrant,
    *,
    status: int = 200,
    invite: Any = None,
    problem: forms.Problem | None = None,
    typed: Mapping[str, str] | None = None,
) -> web.Response:
    return await page(
        request,
        "organise.html",
        status=status,
        invite=invite,
        invites=await _invites(request, grant),
        problem=problem,
        typed=typed or {},
        done=done_message(request),
        nav="organise",
        tool="start",
    )


@routes.get("/organise")
async def organise_page(request: web.Request) -> web.Response:
    """The organisers' tools, and invite links."""
    grant = await viewing_organiser(request)
    return await _start_page(request, grant)


async def _invite(
    request: web.Request, grant: TokenGrant, fields: Mapping[str, str]
) -> Any:
    wanted: dict[str, JsonValue] = {
        "role": forms.choice(fields, "role", ("member", "organiser")) or "member",
        "max_uses": forms.integer(fields, "max_uses", minimum=1, maximum=1000) or 1,
    }
    return await request.app[SERVICES].accounts.create_invite(grant, wanted)


@routes.post("/organise/invites")
async def create_invite(request: web.Request) -> web.Response:
    """Make an invite link and show it (once: the code is not kept readable)."""
    fields = await forms.posted(request)
    grant = await posting_organiser(request, fields)
    made = await forms.attempt(lambda: _invite(request, grant, fields))
    if isinstance(made, forms.Problem):
        return await _start_page(
            request, grant, status=made.status, problem=made, typed=fields
        )
    return await _start_page(request, grant, status=201, invite=made)


@routes.post("/organise/invites/{id}/revoke")
async def revoke_invite(request: web.Request) -> web.Response:
    """Withdraw an invite: its link stops working."""
    fields = await forms.posted(request)
    grant = await posting_organiser(request, fields)
    accounts = request.app[SERVICES].accounts
    await accounts.revoke_invite(grant, request.match_info["id"])
    return done(request, "/organise", "invite-revoked")
