"""The pledges routes of the members' API (being built)."""

from __future__ import annotations

from aiohttp import web

__all__ = ["pledge_routes"]

pledge_routes = web.RouteTableDef()
