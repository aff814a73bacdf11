"""Every ``web.AppKey`` of the application, declared in one place."""

from __future__ import annotations

from aiohttp import web

from node.config import Settings
from node.services.runtime import NodeServices

__all__ = ["SERVICES", "SETTINGS"]

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", NodeServices)
