"""Tredegar's protocol: signed, hash-chained event feeds, with no I/O at all.

This package is what another implementation would port (``docs/protocol.md``).
It encodes canonical JSON, makes and checks Ed25519 keys, feed ids and events,
verifies chains, validates bodies against schemas handed to it, and parses the
federation messages. It never touches files, sockets, clocks or databases:
callers pass time and bytes in.
"""

from protocol import base64url, canonical
from protocol.chain import is_duplicate, link, verify_chain, verify_link
from protocol.errors import (
    BadBodyHashError,
    ChainError,
    ForkError,
    InvalidSignatureError,
    LocalProtocolError,
    MalformedError,
    NonCanonicalError,
    PrevMismatchError,
    ProtocolError,
    RemoteProtocolError,
    SchemaViolationError,
    SeqGapError,
    TooLargeError,
    UnknownEventTypeError,
    UnknownVersionError,
)
from protocol.event import (
    MAX_BODY_BYTES,
    MAX_EVENT_TEXT_BYTES,
    MAX_HEADER_BYTES,
    VERSION,
    Event,
    decode_event,
    digest,
    event_from_wire,
    parse_event_id,
)
from protocol.keys import SigningKey, parse_feed_id
from protocol.messages import (
    DEFAULT_PAGE_LIMIT,
    MAX_PAGE_LIMIT,
    ForkProof,
    Forks,
    Heads,
    NodeInfo,
    Notify,
    PeerEntry,
    Peers,
    clamp_limit,
    decode_feed_page,
    encode_feed_page,
    parse_challenge,
    parse_url,
)
from protocol.signing import sign, verify, verify_body
from protocol.types import EventId, FeedId, JsonObject, JsonValue
from protocol.validation import BodyValidator

__all__ = [
    "DEFAULT_PAGE_LIMIT",
    "MAX_BODY_BYTES",
    "MAX_EVENT_TEXT_BYTES",
    "MAX_HEADER_BYTES",
    "MAX_PAGE_LIMIT",
    "VERSION",
    "BadBodyHashError",
    "BodyValidator",
    "ChainError",
    "Event",
    "EventId",
    "FeedId",
    "ForkError",
    "ForkProof",
    "Forks",
    "Heads",
    "InvalidSignatureError",
    "JsonObject",
    "JsonValue",
    "LocalProtocolError",
    "MalformedError",
    "NodeInfo",
    "NonCanonicalError",
    "Notify",
    "PeerEntry",
    "Peers",
    "PrevMismatchError",
    "ProtocolError",
    "RemoteProtocolError",
    "SchemaViolationError",
    "SeqGapError",
    "SigningKey",
    "TooLargeError",
    "UnknownEventTypeError",
    "UnknownVersionError",
    "base64url",
    "canonical",
    "clamp_limit",
    "decode_event",
    "decode_feed_page",
    "digest",
    "encode_feed_page",
    "event_from_wire",
    "is_duplicate",
    "link",
    "parse_challenge",
    "parse_event_id",
    "parse_feed_id",
    "parse_url",
    "receive",
    "sign",
    "verify",
    "verify_body",
    "verify_chain",
    "verify_link",
]


def receive(text: bytes | str, previous: Event | None) -> Event:
    """Decode, verify and link one received event: every check but the schema.

    Args:
        text: The event's wire text.
        previous: The receiver's head of that feed (or the event it holds at
            the same seq), or ``None`` when it holds none of the feed.

    Returns:
        The verified event.

    Raises:
        ProtocolError: The first check that fails, with its stable code.
    """
    event = decode_event(text)
    verify(event)
    verify_link(previous, event)
    return event
