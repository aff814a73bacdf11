"""The places routes of the members' API (being built)."""

from __future__ import annotations

from aiohttp import web

__all__ = ["place_routes"]

place_routes = web.RouteTableDef()
