"""The mutualaid read model (being built: tables, projection and queries)."""

from __future__ import annotations

from collections.abc import Sequence

from eventsourcing.sqlite import SQLiteCursor

from node.projections.model import Projected

__all__ = ["apply", "create", "finish", "reset"]


def create(cursor: SQLiteCursor) -> None:
    """Create the model's tables."""


def apply(cursor: SQLiteCursor, item: Projected) -> None:
    """Project one event."""


def finish(cursor: SQLiteCursor, items: Sequence[Projected]) -> None:
    """Nothing to tidy per batch."""


def reset(cursor: SQLiteCursor) -> None:
    """Drop the model's tables and create them empty."""
    create(cursor)
