"""The ideas routes of the members' API (being built)."""

from __future__ import annotations

from aiohttp import web

__all__ = ["idea_routes"]

idea_routes = web.RouteTableDef()
