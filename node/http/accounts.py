"""The account routes of the members' API (``docs/api.md#accounts``).

Invites, sessions (cookie login), password links, the members list, roles,
removal, and each caller's own account (read, export, erase). Handlers parse,
call one service and serialise; ``authenticated`` is the one way a route
learns its caller, from a Bearer token or the session cookie (with the CSRF
header on unsafe methods). Answers about accounts are never cached.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from node.http.keys import SERVICES, SETTINGS
from node.http.params import int_param
from node.http.ratelimit import client_address
from node.services.accounts import Presented
from node.storage.private import TokenGrant
from protocol import JsonValue, TooLargeError, canonical

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "account_routes",
    "authenticated",
]

SESSION_COOKIE = "tredegar_session"
CSRF_HEADER = "X-CSRF-Token"
_MAX_BODY = 16 * 1024
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

account_routes = web.RouteTableDef()
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def authenticated(request: web.Request) -> TokenGrant:
    """The caller: a Bearer token, or the session cookie (CSRF-checked)."""
    return await request.app[SERVICES].accounts.caller(
        Presented(
            authorization=request.headers.get("Authorization"),
            session=request.cookies.get(SESSION_COOKIE),
            csrf=request.headers.get(CSRF_HEADER),
            unsafe=request.method not in _SAFE_METHODS,
        )
    )


def _json(value: object, *, status: int = 200) -> web.Response:
    response = web.Response(
        body=orjson.dumps(value), status=status, content_type="application/json"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _no_content() -> web.Response:
    return web.Response(status=204, headers={"Cache-Control": "no-store"})


async def _payload(request: web.Request) -> JsonValue:
    body = await request.read()
    if len(body) > _MAX_BODY:
        raise TooLargeError(f"an account request is at most {_MAX_BODY} bytes")
    return canonical.decode(body)


def _forget_session(request: web.Request, response: web.Response) -> web.Response:
    response.del_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=request.app[SERVICES].accounts.secure_cookies,
    )
    return response


# --- sessions --------------------------------------------------------------


@account_routes.post("/api/v1/session")
async def log_in(request: web.Request) -> web.Response:
    """Log in with ``{login, password}``: a session cookie and its CSRF token."""
    accounts = request.app[SERVICES].accounts
    address = client_address(request, request.app[SETTINGS].proxies)
    session = await accounts.log_in(await _payload(request), address)
    response = _json(session.answer)
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=session.max_age,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=accounts.secure_cookies,
    )
    return response


@account_routes.delete("/api/v1/session")
async def log_out(request: web.Request) -> web.Response:
    """End the cookie's session and forget the cookie."""
    await request.app[SERVICES].accounts.log_out(
        request.cookies.get(SESSION_COOKIE), request.headers.get(CSRF_HEADER)
    )
    return _forget_session(request, _no_content())


# --- invites ---------------------------------------------------------------


@account_routes.post("/api/v1/invites")
async def create_invite(request: web.Request) -> web.Response:
    """Make an invite link (organisers)."""
    grant = await authenticated(request)
    accounts = request.app[SERVICES].accounts
    return _json(
        await accounts.create_invite(grant, await _payload(request)), status=201
    )


@account_routes.get("/api/v1/invites")
async def list_invites(request: web.Request) -> web.Response:
    """Every invite, without its code (organisers)."""
    grant = await authenticated(request)
    return _json(await request.app[SERVICES].accounts.list_invites(grant))


@account_routes.delete("/api/v1/invites/{id}")
async def revoke_invite(request: web.Request) -> web.Response:
    """Withdraw an invite by its id (organisers)."""
    grant = await authenticated(request)
    accounts = request.app[SERVICES].accounts
    await accounts.revoke_invite(grant, request.match_info["id"])
    return _no_content()


@account_routes.post("/api/v1/invites/{code}/accept")
async def accept_invite(request: web.Request) -> web.Response:
    """Join with ``{display_name, login, password}`` (anyone with the code)."""
    accounts = request.app[SERVICES].accounts
    member = await accounts.accept_invite(
        request.match_info["code"], await _payload(request)
    )
    return _json(member, status=201)


# --- password links --------------------------------------------------------


@account_routes.post("/api/v1/members/{id}/reset")
async def create_reset(request: web.Request) -> web.Response:
    """A one-time password link for a member (organisers)."""
    grant = await authenticated(request)
    accounts = request.app[SERVICES].accounts
    link = await accounts.create_reset(grant, request.match_info["id"])
    return _json(link, status=201)


@account_routes.post("/api/v1/reset/{code}")
async def reset_password(request: web.Request) -> web.Response:
    """Set a password with ``{password, login?}`` (anyone with the code)."""
    accounts = request.app[SERVICES].accounts
    await accounts.reset_password(request.match_info["code"], await _payload(request))
    return _no_content()


# --- members ---------------------------------------------------------------


@account_routes.get("/api/v1/members")
async def list_members(request: web.Request) -> web.Response:
    """Accounts in the order they joined (organisers)."""
    grant = await authenticated(request)
    page = await request.app[SERVICES].accounts.list_members(
        grant,
        after=int_param(request, "after", default=0, minimum=0, maximum=2**53),
        limit=int_param(request, "limit", default=100, minimum=1, maximum=500),
    )
    return _json(page)


@account_routes.patch("/api/v1/members/{id}")
async def change_role(request: web.Request) -> web.Response:
    """Set a member's ``{role}`` (organisers)."""
    grant = await authenticated(request)
    accounts = request.app[SERVICES].accounts
    member = await accounts.change_role(
        grant, request.match_info["id"], await _payload(request)
    )
    return _json(member)


@account_routes.delete("/api/v1/members/{id}")
async def remove_member(request: web.Request) -> web.Response:
    """Remove a member and erase their personal data (organisers)."""
    grant = await authenticated(request)
    await request.app[SERVICES].accounts.remove_member(grant, request.match_info["id"])
    return _no_content()


# --- the caller's own account ----------------------------------------------


@account_routes.get("/api/v1/me")
async def me(request: web.Request) -> web.Response:
    """The caller's account."""
    grant = await authenticated(request)
    return _json(await request.app[SERVICES].accounts.me(grant))


@account_routes.get("/api/v1/me/export")
async def export(request: web.Request) -> web.Response:
    """Everything the node holds about the caller."""
    grant = await authenticated(request)
    response = _json(await request.app[SERVICES].accounts.export(grant))
    response.headers["Content-Disposition"] = 'attachment; filename="my-data.json"'
    return response


@account_routes.delete("/api/v1/me")
async def erase_me(request: web.Request) -> web.Response:
    """Erase the caller's account for good."""
    grant = await authenticated(request)
    await request.app[SERVICES].accounts.erase_me(grant)
    return _forget_session(request, _no_content())
