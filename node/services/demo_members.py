"""The demo member of each demo node: joining by invite, logging in, RSVPs.

A member joins as a real one does (an organiser's invite link, then a login
and password of their own), logs in for a session cookie and its CSRF token,
and answers meetings with ``PUT /api/v1/meetings/{id}/rsvp``. Their node
keeps their name and answers to itself and publishes only its members'
counts.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from time import monotonic

import aiohttp

from node.services.demo_activity import DemoActivityError, NodeApi
from protocol import JsonObject

__all__ = ["MEMBER_LOGIN", "MemberLogin", "answer_meetings", "make_member"]

#: The login of the demo member made on every node.
MEMBER_LOGIN = "member"
_MEMBER_NAME = "Demo member"
_POLL_SECONDS = 0.2


@dataclass(frozen=True, slots=True)
class MemberLogin:
    """The demo member of one node: a login and password for the web."""

    login: str
    password: str


async def _call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    body: JsonObject,
    headers: dict[str, str] | None = None,
) -> tuple[JsonObject, aiohttp.ClientResponse]:
    """A JSON request that must succeed; its answer and the response.

    Raises:
        DemoActivityError: The node refused it.
    """
    async with session.request(method, url, json=body, headers=headers) as response:
        answer = await response.json(content_type=None)
    if response.status >= 300 or not isinstance(answer, dict):
        problem = answer if isinstance(answer, dict) else {}
        raise DemoActivityError(
            f"{method} {url} was refused ({response.status} "
            f"{problem.get('code')}: {problem.get('detail')})"
        )
    return answer, response


async def make_member(session: aiohttp.ClientSession, node: NodeApi) -> MemberLogin:
    """Invite a demo member to ``node`` and join with a new random password."""
    organiser = {"Authorization": f"Bearer {node.token}"}
    invite, _ = await _call(
        session, "POST", f"{node.url}/api/v1/invites", {}, organiser
    )
    member = MemberLogin(MEMBER_LOGIN, secrets.token_urlsafe(12))
    joining: JsonObject = {
        "display_name": _MEMBER_NAME,
        "login": member.login,
        "password": member.password,
    }
    url = f"{node.url}/api/v1/invites/{invite['code']}/accept"
    await _call(session, "POST", url, joining)
    return member


async def _log_in(
    session: aiohttp.ClientSession, node: NodeApi, member: MemberLogin
) -> dict[str, str]:
    """The member's session: the cookie and its CSRF token, as headers."""
    body: JsonObject = {"login": member.login, "password": member.password}
    answer, response = await _call(session, "POST", f"{node.url}/api/v1/session", body)
    cookie = response.cookies.get("tredegar_session")
    if cookie is None:
        raise DemoActivityError(f"{node.url} gave the demo member no session")
    return {
        "Cookie": f"tredegar_session={cookie.value}",
        "X-CSRF-Token": str(answer["csrf_token"]),
    }


async def _holds(
    session: aiohttp.ClientSession, node: NodeApi, event_id: str, deadline: float
) -> None:
    """Wait until ``node`` holds the event ``event_id``.

    Raises:
        DemoActivityError: It has not arrived by ``deadline`` (``time.monotonic``).
    """
    while True:
        async with session.get(f"{node.url}/api/v1/events/{event_id}") as response:
            await response.read()
        if response.status == 200:
            return
        if monotonic() > deadline:
            raise DemoActivityError(f"{node.url} never received {event_id}")
        await asyncio.sleep(_POLL_SECONDS)


async def answer_meetings(
    session: aiohttp.ClientSession,
    node: NodeApi,
    member: MemberLogin,
    answers: Sequence[tuple[str, str]],
    deadline: float,
) -> None:
    """Log the member in; RSVP to each (meeting id, answer) once it is held.

    Raises:
        DemoActivityError: The node refused, or a meeting never arrived.
    """
    headers = await _log_in(session, node, member)
    for meeting, answer in answers:
        await _holds(session, node, meeting, deadline)
        url = f"{node.url}/api/v1/meetings/{meeting}/rsvp"
        await _call(session, "PUT", url, {"answer": answer}, headers)
