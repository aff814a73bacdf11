"""The meetings routes of the members' API (being built)."""

from __future__ import annotations

from aiohttp import web

__all__ = ["meeting_routes"]

meeting_routes = web.RouteTableDef()
