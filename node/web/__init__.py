"""The web pages of a node: server-rendered HTML for members and visitors.

Pages are Jinja2 templates (``node/web/templates``) over the same services the
JSON API uses, with a small stylesheet of our own (``node/web/static``); no
build step and no JavaScript needed for anything essential. ``web_routes``
is registered by the app factory (``node.http.app``), which also calls
:func:`setup_pages` for the pages' own state: the live streams (closed on
shutdown), the client-address function, and the middleware that shows a
refused page to a browser as a page.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from node.web.errors import page_errors_middleware
from node.web.keys import CLIENT_ADDRESS, STREAMS
from node.web.live import Streams
from node.web.pages import (
    account,
    campaigns,
    home,
    ideas,
    knowhow,
    meetings,
    mutualaid,
    network,
    network_decisions,
    organise,
    organise_activity,
    organise_casework,
    organise_members,
    organise_peers,
    organise_publish,
    organise_redact,
    pledges,
    stream,
    tours,
)
from node.web.render import STATIC_DIR

__all__ = ["setup_pages", "web_routes"]

#: Every page route, in matching order (``/meetings/{id}.ics`` before
#: ``/meetings/{id}``), and the stylesheet and scripts under ``/static``.
web_routes: list[web.AbstractRouteDef] = [
    *home.routes,
    *network.routes,
    *meetings.routes,
    *campaigns.routes,
    *ideas.routes,
    *pledges.routes,
    *knowhow.routes,
    *mutualaid.routes,
    *tours.routes,
    *network_decisions.routes,
    *account.routes,
    *organise.routes,
    *organise_members.routes,
    *organise_casework.routes,
    *organise_activity.routes,
    *organise_publish.routes,
    *organise_redact.routes,
    *organise_peers.routes,
    *stream.routes,
    web.static("/static", STATIC_DIR),
]


def setup_pages(
    app: web.Application, *, client_address: Callable[[web.BaseRequest], str]
) -> None:
    """Give the app what the pages need (before it starts).

    Args:
        app: The application.
        client_address: The client's address of a request, through trusted
            proxies (login throttling counts by it).
    """
    streams = Streams()
    app[STREAMS] = streams
    app[CLIENT_ADDRESS] = client_address
    # Outermost: it sees the problem+json answer the problems middleware made.
    app.middlewares.insert(0, page_errors_middleware)

    async def close_streams(_: web.Application) -> None:
        await streams.close()

    app.on_shutdown.append(close_streams)
