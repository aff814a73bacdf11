"""The protocol's errors: one root, one class per stable code.

Every refusal the protocol can make is a subclass of :class:`ProtocolError`
whose ``code`` is one of the stable codes of ``docs/protocol.md#errors``.
Nothing here knows about HTTP: the node maps codes to statuses.

Following h11, errors caused by bad input from a peer (or a member's request)
derive from :class:`RemoteProtocolError`; errors caused by our own caller
misusing the API derive from :class:`LocalProtocolError`.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "BadBodyHashError",
    "ChainError",
    "ForkError",
    "InvalidSignatureError",
    "LocalProtocolError",
    "MalformedError",
    "NonCanonicalError",
    "PrevMismatchError",
    "ProtocolError",
    "RemoteProtocolError",
    "SchemaViolationError",
    "SeqGapError",
    "TooLargeError",
    "UnknownEventTypeError",
    "UnknownVersionError",
]


class ProtocolError(Exception):
    """Root of every protocol refusal.

    Attributes:
        code: The stable error code (``malformed``, ``bad-signature`` …).
        message: A sentence saying what was wrong, for people.
        field_path: Where in the input the problem is, e.g. ``body.place.name``,
            or ``None`` when it concerns the whole input.
        event_id: The id of the event concerned, when it could be computed.
    """

    code: ClassVar[str] = "malformed"

    def __init__(
        self,
        message: str,
        *,
        field_path: str | None = None,
        event_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field_path = field_path
        self.event_id = event_id

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class RemoteProtocolError(ProtocolError):
    """The input (from a peer or a request) breaks the protocol."""


class LocalProtocolError(ProtocolError):
    """Our own caller used the API wrongly (e.g. a previous event of another feed)."""


class MalformedError(RemoteProtocolError):
    """Not JSON, wrong keys or types, or bad base64url."""

    code = "malformed"


class NonCanonicalError(RemoteProtocolError):
    """A value outside the canonical subset (float, big integer, non-ASCII key …)."""

    code = "non-canonical"


class TooLargeError(RemoteProtocolError):
    """A header, body or message over its limit."""

    code = "too-large"


class UnknownVersionError(RemoteProtocolError):
    """The envelope version ``v`` is not one this implementation knows."""

    code = "unknown-version"


class InvalidSignatureError(RemoteProtocolError):
    """The signature does not verify against the feed's key."""

    code = "bad-signature"


class BadBodyHashError(RemoteProtocolError):
    """The body does not match ``body_hash`` or ``body_size``."""

    code = "bad-body-hash"


class ChainError(RemoteProtocolError):
    """The event does not continue the feed held for it."""

    code = "seq-gap"


class SeqGapError(ChainError):
    """``seq`` is not one past the head of the feed."""

    code = "seq-gap"


class PrevMismatchError(ChainError):
    """``prev`` is not the id of the event before."""

    code = "prev-mismatch"


class ForkError(ChainError):
    """A second, different validly signed event for a (feed, seq) already held."""

    code = "fork"


class SchemaViolationError(RemoteProtocolError):
    """The body fails its type's schema."""

    code = "schema"


class UnknownEventTypeError(RemoteProtocolError):
    """No schema is known for the event type."""

    code = "unknown-type"
