"""Making and checking the signature and body hash of an event.

See ``docs/protocol.md#signature``. The feed key signs the canonical header
(the eight fields without ``sig``); the header binds the body through
``body_hash`` and ``body_size``. :func:`sign` makes the next event of a feed;
:func:`verify` checks one received.
"""

from __future__ import annotations

from protocol import base64url, canonical, chain
from protocol.errors import (
    BadBodyHashError,
    InvalidSignatureError,
    LocalProtocolError,
    MalformedError,
    TooLargeError,
)
from protocol.event import (
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    TYPE_PATTERN,
    VERSION,
    Event,
    digest,
)
from protocol.keys import SigningKey, is_valid_signature
from protocol.types import EventId, JsonObject

__all__ = ["sign", "verify", "verify_body"]


def sign(
    key: SigningKey,
    previous: Event | None,
    ts: int,
    event_type: str,
    body: JsonObject,
) -> Event:
    """Make and sign the next event of the key's feed.

    Args:
        key: The feed's key.
        previous: The feed's current head, or ``None`` for its first event.
        ts: The author's clock, milliseconds since the epoch (passed in: the
            protocol never reads a clock).
        event_type: The type name, e.g. ``meeting.scheduled``.
        body: The content, in the canonical subset.

    Returns:
        The signed event, with its body.

    Raises:
        LocalProtocolError: ``previous`` belongs to another feed, or ``ts`` is negative.
        MalformedError: ``event_type`` is not a type name.
        NonCanonicalError: The body holds a value outside the canonical subset.
        TooLargeError: The body or header is over its limit.
    """
    if previous is not None and previous.feed != key.feed:
        raise LocalProtocolError("previous event belongs to another feed")
    if type(ts) is not int or ts < 0:
        raise LocalProtocolError("ts must be a non-negative integer")
    if TYPE_PATTERN.fullmatch(event_type) is None:
        raise MalformedError(
            f"{event_type!r} is not an event type name", field_path="type"
        )
    # The body sits one level inside the wire event.
    body_bytes = canonical.encode(body, depth=1)
    if len(body_bytes) > MAX_BODY_BYTES:
        raise TooLargeError(
            f"body is {len(body_bytes)} bytes, over {MAX_BODY_BYTES}", field_path="body"
        )
    seq, prev = chain.link(previous)
    header: JsonObject = {
        "body_hash": digest(body_bytes),
        "body_size": len(body_bytes),
        "feed": key.feed,
        "prev": prev,
        "seq": seq,
        "ts": ts,
        "type": event_type,
        "v": VERSION,
    }
    header_bytes = canonical.encode(header)
    if len(header_bytes) > MAX_HEADER_BYTES:
        raise TooLargeError(f"header is over {MAX_HEADER_BYTES} bytes")
    return Event(
        feed=key.feed,
        seq=seq,
        prev=prev,
        ts=ts,
        type=event_type,
        body_hash=header["body_hash"],  # type: ignore[arg-type]
        body_size=len(body_bytes),
        sig=base64url.encode(key.sign(header_bytes)),
        body=body,
        id=EventId(digest(header_bytes)),
        header_bytes=header_bytes,
    )


def verify(event: Event) -> None:
    """Check an event's signature and, unless redacted, its body hash.

    Args:
        event: An event from :func:`protocol.event.decode_event`.

    Raises:
        InvalidSignatureError: The signature is not the feed key's over the header.
        BadBodyHashError: The body does not match ``body_hash`` or ``body_size``.
    """
    signature = base64url.decode(event.sig, length=64, field="sig")
    if not is_valid_signature(event.feed, signature, event.header_bytes):
        raise InvalidSignatureError(
            "signature does not verify against the feed key",
            field_path="sig",
            event_id=event.id,
        )
    if event.body is not None:
        # Bodies of decoded events are in the subset already (decoding checked).
        verify_body(event, canonical.dump(event.body))


def verify_body(event: Event, body_bytes: bytes) -> None:
    """Check that canonical body bytes are the ones the header names.

    Args:
        event: The event whose header names the body.
        body_bytes: The canonical bytes of the body.

    Raises:
        BadBodyHashError: Size or hash differ.
    """
    if len(body_bytes) != event.body_size:
        raise BadBodyHashError(
            f"body is {len(body_bytes)} bytes, header says {event.body_size}",
            field_path="body_size",
            event_id=event.id,
        )
    if digest(body_bytes) != event.body_hash:
        raise BadBodyHashError(
            "body does not match body_hash", field_path="body_hash", event_id=event.id
        )
