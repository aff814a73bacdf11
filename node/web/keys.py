"""The ``web.AppKey``s the pages read, declared once for both layers.

``node.http.keys`` re-exports ``SERVICES`` and ``SETTINGS`` from here, so the
app factory sets one key that the API handlers and the pages both read; the
pages' own state (live streams, the client-address function) has keys here.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from node.config import Settings
from node.services.runtime import NodeServices
from node.web.live import Streams

__all__ = ["CLIENT_ADDRESS", "SERVICES", "SETTINGS", "STREAMS"]

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", NodeServices)
#: The live event streams of ``GET /events/stream``.
STREAMS = web.AppKey("streams", Streams)
#: The client's address as the app sees it (through trusted proxies).
CLIENT_ADDRESS = web.AppKey[Callable[[web.BaseRequest], str]]("client_address")
