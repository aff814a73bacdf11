"""The delegates routes of the members' API (being built)."""

from __future__ import annotations

from aiohttp import web

__all__ = ["delegate_routes"]

delegate_routes = web.RouteTableDef()
