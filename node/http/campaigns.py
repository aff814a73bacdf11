"""The campaigns routes of the members' API (being built)."""

from __future__ import annotations

from aiohttp import web

__all__ = ["campaign_routes"]

campaign_routes = web.RouteTableDef()
