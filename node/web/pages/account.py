"""The account pages: log in and out, accept an invite, set a password, my data.

Each form posts back to its own page and goes through the accounts service,
as the API does. A refused form is shown again with what was typed (never a
password) and what to change. ``/join/{code}`` is the address invite links
carry (``Accounts.create_invite``) and shows the same page as
``/invite/{code}``; ``/reset/{code}`` is a password link's page.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from node.errors import UnauthorisedError
from node.storage.private import TokenGrant
from node.web import forms
from node.web.keys import CLIENT_ADDRESS, SERVICES
from node.web.render import page, secure
from node.web.session import (
    SESSION_COOKIE,
    check_form,
    forget_session,
    local_path,
    member_posting,
    redirect,
    remember_session,
    viewer,
)
from protocol import JsonValue, MalformedError

__all__ = ["routes"]

routes = web.RouteTableDef()

#: What the erase form's confirmation box must say.
ERASE_WORDS = "erase my account"


def _typed(fields: dict[str, str], *names: str) -> dict[str, JsonValue]:
    return {name: fields.get(name, "") for name in names}


async def _form(
    request: web.Request,
    template: str,
    problem: forms.Problem | None = None,
    **more: Any,
) -> web.Response:
    status = problem.status if problem else 200
    return await page(request, template, status=status, problem=problem, **more)


@routes.get("/login")
async def login_page(request: web.Request) -> web.Response:
    """The login form."""
    next_path = local_path(request.query.get("next"), "/")
    return await _form(request, "login.html", typed={}, next=next_path)


async def _log_in(request: web.Request, fields: dict[str, str]) -> web.Response:
    await check_form(request, fields.get("csrf"))
    accounts = request.app[SERVICES].accounts
    address = request.app[CLIENT_ADDRESS](request)
    credentials = _typed(fields, "login", "password")
    session = await accounts.log_in(credentials, address)
    response = redirect(request, local_path(fields.get("next")), flash="logged-in")
    remember_session(request, response, session.token, session.max_age)
    return response


@routes.post("/login")
async def log_in(request: web.Request) -> web.Response:
    """Log in: a session cookie, then back to where the member was going."""
    fields = await forms.posted(request)
    done = await forms.attempt(lambda: _log_in(request, fields))
    if isinstance(done, forms.Problem):
        typed = _typed(fields, "login")
        next_path = local_path(fields.get("next"))
        return await _form(request, "login.html", done, typed=typed, next=next_path)
    return secure(done)


@routes.post("/logout")
async def log_out(request: web.Request) -> web.Response:
    """End the session (the form carries its CSRF token) and forget the cookie."""
    fields = await forms.posted(request)
    await request.app[SERVICES].accounts.log_out(
        request.cookies.get(SESSION_COOKIE), fields.get("csrf")
    )
    response = redirect(request, "/", flash="logged-out")
    forget_session(request, response)
    return secure(response)


async def _join(
    request: web.Request, code: str, fields: dict[str, str]
) -> web.Response:
    await check_form(request, fields.get("csrf"))
    accounts = request.app[SERVICES].accounts
    joining = _typed(fields, "display_name", "login", "password")
    await accounts.accept_invite(code, joining)
    address = request.app[CLIENT_ADDRESS](request)
    login: JsonValue = {"login": joining["login"], "password": joining["password"]}
    session = await accounts.log_in(login, address)
    response = redirect(request, "/me", flash="joined")
    remember_session(request, response, session.token, session.max_age)
    return response


@routes.get("/invite/{code}")
@routes.get("/join/{code}")
async def invite_page(request: web.Request) -> web.Response:
    """The form that accepts an invite: display name, login, password."""
    return await _form(
        request, "invite.html", typed={}, code=request.match_info["code"]
    )


@routes.post("/invite/{code}")
@routes.post("/join/{code}")
async def accept_invite(request: web.Request) -> web.Response:
    """Join the group with an invite code; logged in straight away."""
    code, fields = request.match_info["code"], await forms.posted(request)
    done = await forms.attempt(lambda: _join(request, code, fields))
    if isinstance(done, forms.Problem):
        typed = _typed(fields, "display_name", "login")
        return await _form(request, "invite.html", done, typed=typed, code=code)
    return secure(done)


@routes.get("/reset/{code}")
async def reset_page(request: web.Request) -> web.Response:
    """The form that sets a password with a one-time link."""
    code = request.match_info["code"]
    return await _form(request, "reset.html", typed={}, code=code)


async def _reset(request: web.Request, code: str, fields: dict[str, str]) -> None:
    await check_form(request, fields.get("csrf"))
    wanted: dict[str, JsonValue] = {"password": fields.get("password", "")}
    if fields.get("login"):
        wanted["login"] = fields["login"]
    await request.app[SERVICES].accounts.reset_password(code, wanted)


@routes.post("/reset/{code}")
async def reset_password(request: web.Request) -> web.Response:
    """Set a password, then log in with it."""
    code, fields = request.match_info["code"], await forms.posted(request)
    done = await forms.attempt(lambda: _reset(request, code, fields))
    if isinstance(done, forms.Problem):
        typed = _typed(fields, "login")
        return await _form(request, "reset.html", done, typed=typed, code=code)
    return secure(redirect(request, "/login", flash="password-set"))


async def _signed_in(request: web.Request) -> TokenGrant:
    grant = (await viewer(request)).grant
    if grant is None:
        raise UnauthorisedError("log in to see your data")
    return grant


@routes.get("/me")
async def me_page(request: web.Request) -> web.Response:
    """My data: my account, a download of everything held, and erasure."""
    grant = await _signed_in(request)
    me = await request.app[SERVICES].accounts.me(grant)
    return await page(request, "me.html", me=me, nav="me")


@routes.get("/me/export")
async def export(request: web.Request) -> web.Response:
    """Everything the node holds about me, as a JSON download."""
    grant = await _signed_in(request)
    held = await request.app[SERVICES].accounts.export(grant)
    response = web.Response(
        body=orjson.dumps(held, option=orjson.OPT_INDENT_2),
        content_type="application/json",
    )
    response.headers["Content-Disposition"] = 'attachment; filename="my-data.json"'
    return secure(response)


@routes.get("/me/erase")
async def erase_page(request: web.Request) -> web.Response:
    """The confirmation step before erasing my account."""
    await _signed_in(request)
    return await _form(request, "erase.html", typed={}, words=ERASE_WORDS, nav="me")


async def _erase(request: web.Request, fields: dict[str, str]) -> web.Response:
    grant = await member_posting(request, fields.get("csrf"))
    if fields.get("confirm", "").strip().casefold() != ERASE_WORDS:
        raise MalformedError(f"type “{ERASE_WORDS}” to confirm", field_path="confirm")
    await request.app[SERVICES].accounts.erase_me(grant)
    response = redirect(request, "/", flash="erased")
    forget_session(request, response)
    return response


@routes.post("/me/erase")
async def erase(request: web.Request) -> web.Response:
    """Erase my account for good, once confirmed."""
    fields = await forms.posted(request)
    done = await forms.attempt(lambda: _erase(request, fields))
    if isinstance(done, forms.Problem):
        typed = _typed(fields, "confirm")
        return await _form(
            request, "erase.html", done, typed=typed, words=ERASE_WORDS, nav="me"
        )
    return secure(done)
