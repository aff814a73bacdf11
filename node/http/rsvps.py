"""The rsvps routes of the members' API (being built)."""

from __future__ import annotations

from aiohttp import web

__all__ = ["rsvp_routes"]

rsvp_routes = web.RouteTableDef()
