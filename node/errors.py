"""The node's errors: one root, each carrying a stable code of ``docs/api.md``.

Protocol refusals keep their own classes (``protocol.ProtocolError``); the
HTTP layer maps both kinds to a status and an ``application/problem+json``
body in one place (``node/http/problems.py``).
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "CatchingUpError",
    "ConfigError",
    "ConflictError",
    "ForbiddenError",
    "NodeError",
    "NotFoundError",
    "RateLimitedError",
    "StorageUnavailableError",
    "UnauthorisedError",
]


class NodeError(Exception):
    """Root of every refusal or failure the node reports."""

    code: ClassVar[str] = "conflict"
    #: Seconds the caller should wait before trying again, when known.
    retry_after: int | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(NodeError):
    """A setting is missing, unknown or of the wrong kind; the message names it."""

    code = "malformed"


class UnauthorisedError(NodeError):
    """No credentials, or credentials that are not valid."""

    code = "unauthorised"


class ForbiddenError(NodeError):
    """Valid credentials without the role the action needs."""

    code = "forbidden"


class NotFoundError(NodeError):
    """No such thing."""

    code = "not-found"


class ConflictError(NodeError):
    """The request clashes with current state (e.g. the own feed's head moved)."""

    code = "conflict"


class RateLimitedError(NodeError):
    """Too many requests."""

    code = "rate-limited"


class CatchingUpError(NodeError):
    """The node must sync its own feed from a peer before it publishes again."""

    code = "catching-up"


class StorageUnavailableError(NodeError):
    """The database could not be reached or refused the operation."""

    code = "unavailable"
