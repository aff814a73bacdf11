"""The knowhow routes of the members' API (being built)."""

from __future__ import annotations

from aiohttp import web

__all__ = ["knowhow_routes"]

knowhow_routes = web.RouteTableDef()
