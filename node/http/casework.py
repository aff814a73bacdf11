"""The casework routes of the members' API (being built)."""

from __future__ import annotations

from aiohttp import web

__all__ = ["casework_routes"]

casework_routes = web.RouteTableDef()
