"""Rendering pages: the Jinja2 environment, its filters and the page response.

Autoescaping is always on (every template, whatever its name), so anything an
event carries — a group's name, a campaign's story — renders as text. Every
page gets the layout's data (the group's name, the viewer, a flash message)
and the same headers: a Content-Security-Policy that allows only this node's
own styles, scripts, images, forms and connections, no framing, no caching
of personal pages.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from aiohttp import web

from node.errors import NotFoundError
from node.web.keys import SERVICES
from node.web.session import FLASH_COOKIE, FLASHES, set_form_cookie, viewer

__all__ = [
    "PAGE_CSP",
    "SECURITY_HEADERS",
    "STATIC_DIR",
    "TEMPLATES_DIR",
    "environment",
    "page",
    "secure",
]

R = TypeVar("R", bound=web.StreamResponse)

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "connect-src 'self'; script-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
    "Cache-Control": "no-store",
}


def _zone(name: object) -> ZoneInfo:
    try:
        return ZoneInfo(name) if isinstance(name, str) and name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def when(ms: object, tz: object = None) -> str:
    """A moment as people read it, in the given zone: "Tue 3 Mar 2026, 19:00 GMT"."""
    if not isinstance(ms, int) or isinstance(ms, bool):
        return ""
    moment = datetime.fromtimestamp(ms / 1000, UTC).astimezone(_zone(tz))
    return f"{moment:%a} {moment.day} {moment:%b %Y, %H:%M %Z}"


def day(ms: object, tz: object = None) -> str:
    """A date as people read it: "3 March 2026"."""
    if not isinstance(ms, int) or isinstance(ms, bool):
        return ""
    moment = datetime.fromtimestamp(ms / 1000, UTC).astimezone(_zone(tz))
    return f"{moment.day} {moment:%B %Y}"


def iso(ms: object, tz: object = None) -> str:
    """A moment for a ``<time datetime>`` attribute."""
    if not isinstance(ms, int) or isinstance(ms, bool):
        return ""
    moment = datetime.fromtimestamp(ms / 1000, UTC).astimezone(_zone(tz))
    return moment.isoformat(timespec="minutes")


def degrees(micro: object) -> str:
    """Micro-degrees as decimal degrees."""
    if not isinstance(micro, int) or isinstance(micro, bool):
        return ""
    return f"{micro / 1_000_000:.6f}"


def map_url(place: object) -> str | None:
    """An OpenStreetMap link for a place with coordinates (no tiles served here)."""
    if not isinstance(place, dict):
        return None
    lat, lon = degrees(place.get("lat_e6")), degrees(place.get("lon_e6"))
    if not lat or not lon:
        return None
    query = urlencode({"mlat": lat, "mlon": lon})
    return f"https://www.openstreetmap.org/?{query}#map=16/{lat}/{lon}"


def web_url(url: object) -> str:
    """``url`` when it is an http(s) link, else "" (never a ``javascript:`` one)."""
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        return url
    return ""


def label(code: object) -> str:
    """A code (``reading_group``) as words (``Reading group``)."""
    return str(code or "").replace("_", " ").capitalize()


def environment() -> jinja2.Environment:
    """The pages' Jinja2 environment: autoescaping everywhere, strict undefined."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=when,
        day=day,
        iso=iso,
        map_url=map_url,
        label=label,
        degrees=degrees,
        web_url=web_url,
    )
    env.globals["urlencode"] = urlencode
    return env


_ENV = environment()


def secure(response: R) -> R:
    """Set the pages' security headers (the CSP explicitly, not by default)."""
    for header, value in SECURITY_HEADERS.items():
        response.headers[header] = value
    return response


async def site(request: web.Request) -> dict[str, Any]:
    """The layout's data: this node's group."""
    node = request.app[SERVICES]
    try:
        group = await node.get_group(node.key.feed)
    except NotFoundError:
        group = {"name": "Tredegar", "feed": node.key.feed}
    return {"name": group.get("name") or "Tredegar", "feed": node.key.feed}


async def page(
    request: web.Request, template: str, *, status: int = 200, **context: Any
) -> web.Response:
    """Render ``template`` in the layout, with the pages' headers.

    Args:
        request: The request.
        template: The template's file name under ``templates/``.
        status: The HTTP status.
        **context: The template's own data.

    Returns:
        The HTML response.
    """
    seen = await viewer(request)
    flash = FLASHES.get(request.cookies.get(FLASH_COOKIE, ""))
    html = _ENV.get_template(template).render(
        site=await site(request),
        viewer=seen,
        flash=flash,
        path=request.path,
        **context,
    )
    response = web.Response(
        text=html, status=status, content_type="text/html", charset="utf-8"
    )
    secure(response)
    set_form_cookie(request, response)
    if FLASH_COOKIE in request.cookies:
        response.del_cookie(FLASH_COOKIE, path="/")
    return response
