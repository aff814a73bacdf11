"""The mutualaid routes of the members' API (being built)."""

from __future__ import annotations

from aiohttp import web

__all__ = ["mutualaid_routes"]

mutualaid_routes = web.RouteTableDef()
