"""The ``web.AppKey``s of the API, declared once in ``node.web.keys``."""

from __future__ import annotations

from node.web.keys import SERVICES, SETTINGS

# The pages (``node.web``, a layer below) read the same keys: one declaration.
__all__ = ["SERVICES", "SETTINGS"]
