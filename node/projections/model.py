"""What a read model is: the item it is given and the four steps it provides.

A read model is a module (``events``, ``groups``, ``search`` …) satisfying
:class:`ReadModel`. The recorder calls every model, in the order of
:data:`node.projections.recorder.MODELS`, inside the one transaction that
also records the tracking position, so a model never commits on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from node.errors import NodeError
from node.storage.sqldb import Cursor
from protocol import Event

__all__ = [
    "APPLICATION_NAME",
    "READMODELS_FILE",
    "SCHEMA_VERSION",
    "InvalidCursorError",
    "Projected",
    "ReadModel",
    "clamp",
]

#: The tracking name of the read models (and their environment prefix).
APPLICATION_NAME = "ReadModels"
#: The read models' database, in the data directory.
READMODELS_FILE = "readmodels.db"
#: The shape of every model's tables together. Raise it whenever a model's
#: tables or what it projects change: a node opening read models of another
#: version empties them and rebuilds them from its log (they are derived data),
#: so an upgrade never serves models that miss the events held before it.
SCHEMA_VERSION = 4


@dataclass(frozen=True, slots=True)
class Projected:
    """An event on its way into the read models.

    Attributes:
        position: The event's position in this node's log.
        event: The event, its body ``None`` when redacted.
        is_valid: The type is known and the body passes its schema; false for
            a redacted event. Only valid events enter typed models (DESIGN §3).
    """

    position: int
    event: Event
    is_valid: bool


class ReadModel(Protocol):
    """The steps of one read model, each given the batch's open cursor."""

    def create(self, cursor: Cursor) -> None:
        """Create the model's tables if they are missing."""

    def apply(self, cursor: Cursor, item: Projected) -> None:
        """Project one event, including the effect of a redaction it makes."""

    def finish(self, cursor: Cursor, items: Sequence[Projected]) -> None:
        """Tidy up once per batch, after every ``apply``."""

    def reset(self, cursor: Cursor) -> None:
        """Drop the model's tables and create them empty."""


class InvalidCursorError(NodeError):
    """A paging cursor that this node did not hand out."""

    code = "malformed"


def clamp(limit: int, maximum: int) -> int:
    """Bring a requested page size into ``1..maximum``.

    Args:
        limit: The size asked for.
        maximum: The largest allowed.

    Returns:
        The size to use.
    """
    return min(max(limit, 1), maximum)
