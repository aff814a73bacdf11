"""The networks routes of the members' API (being built)."""

from __future__ import annotations

from aiohttp import web

__all__ = ["network_routes"]

network_routes = web.RouteTableDef()
