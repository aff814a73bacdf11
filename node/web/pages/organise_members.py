"""The members page of the organisers: roles, removal and password links.

``/organise/members`` lists the group's accounts in the order they joined
(paged), each with a form to change its role, a form to remove it (it must be
confirmed by ticking a box, since removal erases the member's personal data
for good) and a button that makes a one-time password link, shown once on the
page that answers. All of it goes through the accounts service, as the API
does (``docs/api.md#members-and-accounts``).
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
    viewing_organiser,
)
from node.web.render import page
from protocol import MalformedError

__all__ = ["routes"]

routes = web.RouteTableDef()

#: Members per page.
PAGE_SIZE = 50
ROLES = ("member", "organiser")


async def _members_page(
    request: web.Request,
    grant: TokenGrant,
    *,
    status: int = 200,
    problem: forms.Problem | None = None,
    about: str | None = None,
    reset: Any = None,
) -> web.Response:
    after = forms.integer(request.query, "after", minimum=0, maximum=2**53 - 1) or 0
    found: Any = await request.app[SERVICES].accounts.list_members(
        grant, after=after, limit=PAGE_SIZE
    )
    return await page(
        request,
        "organise_members.html",
        status=status,
        members=found["members"],
        next=found["next"],
        problem=problem,
        about=about,
        reset=reset,
        me=str(grant.account_id),
        done=done_message(request),
        nav="organise",
        tool="members",
    )


@routes.get("/organise/members")
async def members_page(request: web.Request) -> web.Response:
    """The group's members with their roles."""
    grant = await viewing_organiser(request)
    return await _members_page(request, grant)


async def _change_role(
    request: web.Request, grant: TokenGrant, fields: Mapping[str, str]
) -> None:
    role = forms.choice(fields, "role", ROLES)
    if role is None:
        raise MalformedError("choose member or organiser", field_path="role")
    accounts = request.app[SERVICES].accounts
    await accounts.change_role(grant, request.match_info["id"], {"role": role})


async def _refused(
    request: web.Request, grant: TokenGrant, problem: forms.Problem
) -> web.Response:
    return await _members_page(
        request,
        grant,
        status=problem.status,
        problem=problem,
        about=request.match_info["id"],
    )


@routes.post("/organise/members/{id}/role")
async def change_role(request: web.Request) -> web.Response:
    """Make a member an organiser, or an organiser a member."""
    fields = await forms.posted(request)
    grant = await posting_organiser(request, fields)
    changed = await forms.attempt(lambda: _change_role(request, grant, fields))
    if isinstance(changed, forms.Problem):
        return await _refused(request, grant, changed)
    return done(request, "/organise/members", "role-changed")


async def _remove(
    request: web.Request, grant: TokenGrant, fields: Mapping[str, str]
) -> None:
    if fields.get("confirm") != "yes":
        raise MalformedError(
            "tick the box to confirm the removal", field_path="confirm"
        )
    accounts = request.app[SERVICES].accounts
    await accounts.remove_member(grant, request.match_info["id"])


@routes.post("/organise/members/{id}/remove")
async def remove_member(request: web.Request) -> web.Response:
    """Remove a member and erase their personal data, once confirmed."""
    fields = await forms.posted(request)
    grant = await posting_organiser(request, fields)
    removed = await forms.attempt(lambda: _remove(request, grant, fields))
    if isinstance(removed, forms.Problem):
        return await _refused(request, grant, removed)
    return done(request, "/organise/members", "member-removed")


@routes.post("/organise/members/{id}/reset")
async def password_link(request: web.Request) -> web.Response:
    """Make a one-time link that sets the member's password; shown only now."""
    fields = await forms.posted(request)
    grant = await posting_organiser(request, fields)
    accounts = request.app[SERVICES].accounts
    made = await forms.attempt(
        lambda: accounts.create_reset(grant, request.match_info["id"])
    )
    if isinstance(made, forms.Problem):
        return await _refused(request, grant, made)
    return await _members_page(request, grant, status=201, reset=made)
