"""The web pages of a node: server-rendered HTML for members and visitors.

Pages are Jinja2 templates (``node/web/templates``) over the same services the
JSON API uses, with a small stylesheet of our own (``node/web/static``); no
build step and no JavaScript needed for anything essential. ``web_routes``
is registered by the app factory (``node.http.app``).
"""

from __future__ import annotations

from aiohttp import web

__all__ = ["web_routes"]

web_routes = web.RouteTableDef()
