"""Error pages: a refusal of a page, shown as a page to a browser.

Errors are still raised as ``NodeError``/``ProtocolError`` and turned into
``application/problem+json`` by the one middleware of ``node.http.problems``;
this middleware sits outside it and, only for a browser (``Accept:
text/html``) asking for one of the pages (or for a path nothing serves),
renders that problem as HTML with the same status and code, saying what to
do. Scripts and the API keep problem+json.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from node.web.render import page

__all__ = ["page_errors_middleware"]

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_API_PREFIXES = ("/api/", "/fed/", "/health", "/metrics", "/static/")
_ADVICE = {
    401: "Log in, then try again.",
    403: "Your account cannot do this; ask one of the group's organisers.",
    404: "Check the address, or start again from the home page.",
    429: "Wait a little, then try again.",
    503: "The node is busy; try again in a minute.",
}


def _is_page(request: web.Request) -> bool:
    if request.path.startswith(_API_PREFIXES) or request.path.endswith(".ics"):
        return False
    return "text/html" in request.headers.get("Accept", "")


@web.middleware
async def page_errors_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Show a page's problem+json refusal to a browser as an HTML page."""
    response = await handler(request)
    if (
        response.status < 400
        or response.content_type != "application/problem+json"
        or not isinstance(response, web.Response)
        or not _is_page(request)
    ):
        return response
    try:
        problem = orjson.loads(response.body or b"{}")  # type: ignore[arg-type]
        shown = await page(
            request,
            "error.html",
            status=response.status,
            title=str(problem.get("title", "Something went wrong")),
            detail=str(problem.get("detail", "")),
            code=str(problem.get("code", "")),
            advice=_ADVICE.get(response.status, "Go back and try again."),
        )
    except Exception:  # the problem+json answer still says it all
        logger.exception("could not show an error page for %s", request.path)
        return response
    for header in ("Retry-After", "Allow"):
        if header in response.headers:
            shown.headers[header] = response.headers[header]
    return shown
