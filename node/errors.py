"""The node's errors: one root, each carrying a stable code of ``docs/api.md``.

Protocol refusals keep their own classes (``protocol.ProtocolError``); the
HTTP layer maps both kinds to a status and an ``application/problem+json``
body in one place (``node/http/problems.py``).
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "HTTP_STATUS",
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


#: Stable code → HTTP status (DESIGN §8 of the contract, ``docs/api.md#errors``).
HTTP_STATUS = {
    "malformed": 400,
    "non-canonical": 400,
    "too-large": 413,
    "unknown-version": 422,
    "bad-signature": 422,
    "bad-body-hash": 422,
    "seq-gap": 409,
    "prev-mismatch": 409,
    "fork": 409,
    "schema": 422,
    "unknown-type": 422,
    "unauthorised": 401,
    "forbidden": 403,
    "not-found": 404,
    "method-not-allowed": 405,
    "conflict": 409,
    "rate-limited": 429,
    "catching-up": 503,
    "unavailable": 503,
    "internal": 500,
}
