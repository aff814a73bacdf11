"""The body validator, compiled once per process from the shipped schemas."""

from __future__ import annotations

from functools import cache

import schemas
from protocol import BodyValidator

__all__ = ["body_validator"]


@cache
def body_validator() -> BodyValidator:
    """The validator of every event type (compiling takes tenths of a second)."""
    return BodyValidator(schemas.load_event_schemas())
