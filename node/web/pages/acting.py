"""Acting for the group from a page: organisers' forms that publish events.

A form an organiser sends (answer a question, mark an answer helpful, mark a
need met, vote in a network decision) is checked like any member's form
(the session's CSRF token, :func:`node.web.session.member_posting`), then
the organiser role, then the service publishes. The answer waits a moment
for the read models to hold the new event, so the page the browser is sent
back to already shows it.
"""

from __future__ import annotations

from aiohttp import web

from node.errors import ForbiddenError
from node.services.runtime import NodeServices
from node.storage.private import TokenGrant
from node.web.keys import SERVICES
from node.web.session import member_posting
from protocol import Event, JsonObject

__all__ = ["SETTLE_SECONDS", "organiser_posting", "publish", "settled"]

#: The most seconds a form's answer waits for the read models.
SETTLE_SECONDS = 3.0


async def organiser_posting(request: web.Request, csrf: str | None) -> TokenGrant:
    """The signed-in organiser sending a form, its CSRF token checked.

    Raises:
        UnauthorisedError: Nobody is signed in, or the session has ended.
        ForbiddenError: A wrong CSRF token, or a member who is not an organiser.
    """
    grant = await member_posting(request, csrf)
    if grant.role != "organiser":
        raise ForbiddenError("only the group's organisers can do this")
    return grant


async def settled(node: NodeServices) -> None:
    """Wait (a little at most) until the read models hold everything stored."""
    await node.settled(SETTLE_SECONDS)


async def publish(
    request: web.Request, grant: TokenGrant, event_type: str, body: JsonObject
) -> Event:
    """Publish an event of the group's feed for an organiser, then settle.

    Raises:
        ForbiddenError: Not an organiser.
        SchemaViolationError: The body does not fit its type.
        CatchingUpError: The node cannot publish yet.
    """
    node = request.app[SERVICES]
    event = await node.publish(grant, {"type": event_type, "body": body})
    await settled(node)
    return event
