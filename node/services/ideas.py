"""The ideas service: commands and queries the HTTP layer calls (being built)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from node.services.runtime import NodeServices

__all__ = ["Ideas"]


class Ideas:
    """The ideas commands and queries of a running node."""

    def __init__(self, node: NodeServices) -> None:
        """Serve from the node's stores (see :class:`NodeServices`)."""
        self.node = node
