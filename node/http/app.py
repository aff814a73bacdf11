"""The aiohttp application factory: ``create_app(settings)``.

The services are opened in a cleanup context (blocking work in a thread) and
closed the same way on shutdown, after the server has stopped taking requests,
so pending writes are committed before the process exits.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from node.config import Settings
from node.http.accounts import account_routes
from node.http.campaigns import campaign_routes
from node.http.casework import casework_routes
from node.http.delegates import delegate_routes
from node.http.federation import federation_routes
from node.http.ideas import idea_routes
from node.http.keys import SERVICES, SETTINGS
from node.http.knowhow import knowhow_routes
from node.http.meetings import meeting_routes
from node.http.mutualaid import mutualaid_routes
from node.http.networks import network_routes
from node.http.places import place_routes
from node.http.pledges import pledge_routes
from node.http.problems import problems_middleware
from node.http.ratelimit import client_address, rate_limit_middleware
from node.http.routes import routes
from node.http.rsvps import rsvp_routes
from node.services.runtime import NodeServices
from node.web import setup_pages, web_routes

__all__ = ["AccessLogger", "create_app"]

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("node.access")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


@web.middleware
async def metrics_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Count and time every request by its route (never by raw path)."""
    started = time.perf_counter()
    response = await handler(request)
    route = request.match_info.route.resource
    name = route.canonical if route is not None else "unmatched"
    metrics = request.app[SERVICES].metrics
    metrics.requests.labels(name, request.method, str(response.status)).inc()
    metrics.request_seconds.labels(name).observe(time.perf_counter() - started)
    for header, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(header, value)
    return response


class AccessLogger(AbstractAccessLogger):
    """One structured line per request: method, route path, status, time.

    The query string is left out (search terms are members' words) and so are
    headers (they carry tokens) and the client's address.
    """

    def log(
        self, request: web.BaseRequest, response: web.StreamResponse, time: float
    ) -> None:
        """Write the line."""
        self.logger.info(
            "request",
            extra={
                "method": request.method,
                "path": _logged_path(request),
                "status": response.status,
                "ms": round(time * 1000, 1),
            },
        )


def _logged_path(request: web.BaseRequest) -> str:
    # Invite and password-link codes are secrets: log their routes' templates.
    if isinstance(request, web.Request):
        try:
            resource = request.match_info.route.resource
        except AssertionError:  # never routed: aiohttp refused its head
            return request.path
        if resource is not None and "{code}" in resource.canonical:
            return resource.canonical
    return request.path


def create_app(
    settings: Settings,
    services: NodeServices | None = None,
    *,
    seed_peers: Sequence[str] = (),
) -> web.Application:
    """Build the node's web application.

    Args:
        settings: The node's settings.
        services: Already opened services (tests); by default they are opened
            when the app starts and closed when it stops.
        seed_peers: Peer URLs the operator gave on the command line.

    Returns:
        The application.
    """
    app = web.Application(
        client_max_size=settings.max_request_bytes,
        # Longer request lines than aiohttp's 8 KiB default reach the
        # handlers, which refuse over-long parameters as problem+json.
        handler_args={"max_line_size": 32_768},
        middlewares=[
            metrics_middleware,
            problems_middleware,
            rate_limit_middleware(settings.peer_rate_limit, proxies=settings.proxies),
        ],
    )
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_services_context(settings, services, seed_peers))
    setup_pages(app, client_address=lambda r: client_address(r, settings.proxies))
    app.add_routes(routes)
    app.add_routes(federation_routes)
    app.add_routes(account_routes)
    for domain in (
        meeting_routes,
        rsvp_routes,
        campaign_routes,
        network_routes,
        place_routes,
        idea_routes,
        delegate_routes,
        knowhow_routes,
        mutualaid_routes,
        pledge_routes,
        casework_routes,
        web_routes,
    ):
        app.add_routes(domain)
    return app


def _services_context(
    settings: Settings, given: NodeServices | None, seed_peers: Sequence[str]
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        services: NodeServices
        if given is None:
            services = await loop.run_in_executor(None, NodeServices.open, settings)
        else:
            services = given
        app[SERVICES] = services
        services.start()
        await services.start_network(seed_peers)
        logger.info("node %s serving at %s", services.key.feed, settings.url)
        yield
        await services.stop_network()
        if given is None:
            await loop.run_in_executor(None, services.close)

    return context
