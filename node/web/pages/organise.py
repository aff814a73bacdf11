"""The organisers' page: for now, making invite links.

Only the group's organisers see it; the other organiser tools (members,
publishing, redaction, peers) join it here.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node.errors import ForbiddenError, UnauthorisedError
from node.storage.private import TokenGrant
from node.web import forms
from node.web.keys import SERVICES
from node.web.render import page
from node.web.session import member_posting, viewer
from protocol import JsonValue

__all__ = ["routes"]

routes = web.RouteTableDef()


def _organiser(grant: TokenGrant | None) -> TokenGrant:
    if grant is None:
        raise UnauthorisedError("log in as an organiser to organise")
    if grant.role != "organiser":
        raise ForbiddenError("only the group's organisers can use this page")
    return grant


@routes.get("/organise")
async def organise_page(request: web.Request) -> web.Response:
    """The organisers' tools."""
    _organiser((await viewer(request)).grant)
    return await page(
        request, "organise.html", invite=None, problem=None, typed={}, nav="organise"
    )


async def _invite(request: web.Request, fields: dict[str, str]) -> Any:
    grant = _organiser(await member_posting(request, fields.get("csrf")))
    wanted: dict[str, JsonValue] = {
        "role": forms.choice(fields, "role", ("member", "organiser")) or "member",
        "max_uses": forms.integer(fields, "max_uses", minimum=1, maximum=1000) or 1,
    }
    return await request.app[SERVICES].accounts.create_invite(grant, wanted)


@routes.post("/organise/invites")
async def create_invite(request: web.Request) -> web.Response:
    """Make an invite link and show it (once: the code is not kept readable)."""
    fields = await forms.posted(request)
    done = await forms.attempt(lambda: _invite(request, fields))
    problem = done if isinstance(done, forms.Problem) else None
    return await page(
        request,
        "organise.html",
        status=problem.status if problem else 201,
        invite=None if problem else done,
        problem=problem,
        typed=fields,
        nav="organise",
    )
