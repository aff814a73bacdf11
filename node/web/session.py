"""Who is looking at a page, and the CSRF tokens its forms carry.

A signed-in member holds the session cookie the API sets at login
(``tredegar_session``: HttpOnly, SameSite=Lax, Secure behind https). The
pages ask the accounts service who that is, exactly as the API does
(``Accounts.caller``), so a page and an API call always agree on the caller;
pages never take Bearer tokens.

Every form carries a hidden ``csrf`` field, checked before anything is done:

- for a signed-in member it is the session's CSRF token (the one the API
  wants in ``X-CSRF-Token``), checked by ``Accounts.caller``;
- for a visitor (log in, accept an invite, set a password) it is a random
  token also kept in an HttpOnly, SameSite=Strict cookie of its own
  (``tredegar_form``), and the two must match; a visitor's new token only
  works once its cookie has come back, so a forged form fails.

Flash messages ride a short-lived cookie holding a code from :data:`FLASHES`,
never text, so nobody can make a page say something of their choosing.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from aiohttp import web

from node.errors import ForbiddenError, UnauthorisedError
from node.services.accounts import Presented
from node.storage.private import TokenGrant, csrf_token
from node.web.keys import SERVICES

__all__ = [
    "FLASHES",
    "FLASH_COOKIE",
    "FORM_COOKIE",
    "SESSION_COOKIE",
    "Viewer",
    "check_form",
    "forget_session",
    "member_posting",
    "redirect",
    "remember_session",
    "viewer",
]

SESSION_COOKIE = "tredegar_session"
FORM_COOKIE = "tredegar_form"
FLASH_COOKIE = "tredegar_flash"

#: What a flash code says.
FLASHES = {
    "logged-in": "You are logged in.",
    "logged-out": "You are logged out.",
    "joined": "Welcome! Your account is ready and you are logged in.",
    "password-set": "Your password is set: log in with it now.",
    "rsvp-saved": "Your answer is saved. Thank you for letting us know.",
    "erased": "Your account and personal data are erased. Goodbye.",
}


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person looking at a page: a member or a visitor.

    Attributes:
        grant: The signed-in member's grant, or None for a visitor.
        csrf: The token this viewer's forms carry.
        new_form_token: A visitor's new form token, to be set as a cookie.
    """

    grant: TokenGrant | None
    csrf: str
    new_form_token: str | None = None

    @property
    def is_signed_in(self) -> bool:
        """Whether a member is signed in."""
        return self.grant is not None

    @property
    def is_organiser(self) -> bool:
        """Whether the viewer is one of the group's organisers."""
        return self.grant is not None and self.grant.role == "organiser"


_VIEWER = web.RequestKey("viewer", Viewer)


async def viewer(request: web.Request) -> Viewer:
    """Who looks at the page (worked out once per request)."""
    if _VIEWER in request:
        return request[_VIEWER]
    session = request.cookies.get(SESSION_COOKIE)
    grant = None
    if session:
        try:
            grant = await request.app[SERVICES].accounts.caller(
                Presented(authorization=None, session=session, csrf=None, unsafe=False)
            )
        except UnauthorisedError:  # an ended session: a visitor again
            grant = None
    if grant is not None and session:
        found = Viewer(grant, csrf_token(session))
    else:
        token = request.cookies.get(FORM_COOKIE)
        if token and token.isascii() and len(token) == 43:
            found = Viewer(None, token)
        else:
            token = secrets.token_urlsafe(32)
            found = Viewer(None, token, new_form_token=token)
    request[_VIEWER] = found
    return found


async def member_posting(request: web.Request, csrf: str | None) -> TokenGrant:
    """The signed-in member sending a form, its CSRF token checked.

    Raises:
        UnauthorisedError: Nobody is signed in, or the session has ended.
        ForbiddenError: The form's CSRF token is not the session's.
    """
    session = request.cookies.get(SESSION_COOKIE)
    if not session:
        raise UnauthorisedError("log in first, then send the form again")
    return await request.app[SERVICES].accounts.caller(
        Presented(authorization=None, session=session, csrf=csrf, unsafe=True)
    )


async def check_form(request: web.Request, csrf: str | None) -> None:
    """Check the form token of a form anyone may send (log in, join).

    A signed-in member's form carries the session's token, a visitor's the
    form cookie's.

    Raises:
        ForbiddenError: The token is missing or not the expected one.
    """
    expected = (await viewer(request)).csrf
    if not csrf or not csrf.isascii() or not hmac.compare_digest(csrf, expected):
        raise ForbiddenError("the form has expired: reload the page and try again")


def _secure(request: web.Request) -> bool:
    return request.app[SERVICES].accounts.secure_cookies


def set_form_cookie(request: web.Request, response: web.StreamResponse) -> None:
    """Give a visitor the form cookie their page's forms match."""
    found = request.get(_VIEWER)
    if isinstance(found, Viewer) and found.new_form_token is not None:
        response.set_cookie(
            FORM_COOKIE,
            found.new_form_token,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=_secure(request),
        )


def remember_session(
    request: web.Request, response: web.StreamResponse, token: str, max_age: int
) -> None:
    """Set the session cookie, as ``POST /api/v1/session`` sets it."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=_secure(request),
    )


def forget_session(request: web.Request, response: web.StreamResponse) -> None:
    """Clear the session cookie."""
    response.del_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="Lax", secure=_secure(request)
    )


def redirect(
    request: web.Request, location: str, *, flash: str | None = None
) -> web.Response:
    """A 303 to ``location`` (a path here), with a flash message to show there."""
    response = web.Response(
        status=303, headers={"Location": location, "Cache-Control": "no-store"}
    )
    if flash is not None and flash in FLASHES:
        response.set_cookie(
            FLASH_COOKIE,
            flash,
            max_age=60,
            path="/",
            httponly=True,
            samesite="Lax",
            secure=_secure(request),
        )
    return response


def local_path(text: str | None, default: str = "/") -> str:
    """``text`` when it is a path on this site, else ``default``."""
    if (
        not text
        or not text.startswith("/")
        or text.startswith("//")
        or "\\" in text
        or len(text) > 500
        or not text.isprintable()
    ):
        return default
    return text
