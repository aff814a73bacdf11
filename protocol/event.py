"""The event envelope: its wire form, its limits and its id.

See ``docs/protocol.md#the-event``. On the wire an event is one JSON object
with exactly the keys ``v feed seq prev ts type body_hash body_size sig`` and
``body`` (``body`` absent when its author redacted it). The eight fields
without ``sig`` are the *header*; its canonical bytes are what the feed key
signs and what the id hashes, so the body can be dropped while the rest of the
feed still proves itself.

:func:`decode_event` checks everything that needs no key: the text's size,
JSON and canonical subset, exact keys, field types, version and limits. The
signature and body hash are checked by :func:`protocol.signing.verify`, the
chain by :mod:`protocol.chain`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache

from protocol import base64url, canonical
from protocol.errors import (
    MalformedError,
    TooLargeError,
    UnknownVersionError,
)
from protocol.keys import parse_feed_id
from protocol.types import EventId, FeedId, JsonObject, JsonValue

__all__ = [
    "HEADER_FIELDS",
    "MAX_BODY_BYTES",
    "MAX_EVENT_TEXT_BYTES",
    "MAX_HEADER_BYTES",
    "VERSION",
    "Event",
    "decode_event",
    "digest",
    "event_from_stored",
    "event_from_wire",
    "parse_event_id",
]

#: The envelope version this implementation speaks.
VERSION = 1
#: Limit on the canonical header (without ``sig``).
MAX_HEADER_BYTES = 1024
#: Limit on ``body_size``, the canonical body's length.
MAX_BODY_BYTES = 65536
#: Limit on one event's received text, whatever its whitespace and escapes,
#: checked before parsing: four times the largest canonical event.
MAX_EVENT_TEXT_BYTES = 4 * (MAX_HEADER_BYTES + 128 + MAX_BODY_BYTES)
#: The signed fields, in canonical (sorted) order.
HEADER_FIELDS = ("body_hash", "body_size", "feed", "prev", "seq", "ts", "type", "v")
_WIRE_FIELDS = frozenset((*HEADER_FIELDS, "sig", "body"))
_REDACTED_FIELDS = _WIRE_FIELDS - {"body"}
_HASH_PREFIX = "sha256:"
_HASH_PATTERN = re.compile(r"sha256:[A-Za-z0-9_-]{43}")
#: Event type names: lowercase dotted words, e.g. ``meeting.scheduled``.
TYPE_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}(\.[a-z][a-z0-9_]{0,31}){1,3}")


def digest(data: bytes) -> str:
    """Hash bytes as the protocol writes hashes and ids.

    Args:
        data: The bytes to hash.

    Returns:
        ``sha256:`` + unpadded base64url of their SHA-256.
    """
    return _HASH_PREFIX + base64url.encode(hashlib.sha256(data).digest())


@dataclass(frozen=True, slots=True)
class Event:
    """One event of a feed, as decoded (not necessarily verified).

    Attributes:
        feed: The author's feed id.
        seq: Position in the feed, from 1.
        prev: Id of event ``seq - 1``, ``None`` at ``seq`` 1.
        ts: The author's clock in milliseconds since the epoch (advisory).
        type: The event type name.
        body_hash: ``sha256:`` digest of the canonical body.
        body_size: Length of the canonical body in bytes.
        sig: Unpadded base64url Ed25519 signature of :attr:`header_bytes`.
        body: The content, or ``None`` when the body was redacted.
        id: ``sha256:`` digest of :attr:`header_bytes`.
        header_bytes: The canonical header without ``sig``: the signed bytes.
    """

    feed: FeedId
    seq: int
    prev: EventId | None
    ts: int
    type: str
    body_hash: str
    body_size: int
    sig: str
    body: JsonObject | None
    id: EventId
    header_bytes: bytes

    @property
    def is_redacted(self) -> bool:
        """True when the event is held without its body."""
        return self.body is None

    def header(self) -> JsonObject:
        """Return the eight signed fields."""
        return {
            "body_hash": self.body_hash,
            "body_size": self.body_size,
            "feed": self.feed,
            "prev": self.prev,
            "seq": self.seq,
            "ts": self.ts,
            "type": self.type,
            "v": VERSION,
        }

    def signed_header(self) -> JsonObject:
        """Return the header with its ``sig``: everything but the body."""
        header = self.header()
        header["sig"] = self.sig
        return header

    def to_wire(self) -> JsonObject:
        """Return the wire object: the signed header and, unless redacted, the body."""
        wire = self.signed_header()
        if self.body is not None:
            wire["body"] = self.body
        return wire

    def wire_bytes(self) -> bytes:
        """Return the canonical text of the wire object, as nodes serve it."""
        return canonical.dump(self.to_wire())

    def signed_header_bytes(self) -> bytes:
        """Return the canonical text of the signed header (without the body)."""
        return canonical.dump(self.signed_header())

    def without_body(self) -> Event:
        """Return the same event with its body dropped, as after a redaction."""
        return replace(self, body=None)


def parse_event_id(value: object, *, field: str) -> EventId:
    """Check that a value is a well-formed event id (``sha256:`` + 43 characters).

    Args:
        value: The value to check.
        field: Where it came from, for the error.

    Returns:
        The id.

    Raises:
        MalformedError: It is not.
    """
    if not isinstance(value, str) or _HASH_PATTERN.fullmatch(value) is None:
        raise MalformedError(f"{field} is not a sha256 id", field_path=field)
    base64url.decode(value[len(_HASH_PREFIX) :], length=32, field=field)
    return EventId(value)


def decode_event(text: bytes | str) -> Event:
    """Decode one event's wire text and check everything that needs no key.

    Args:
        text: The JSON text of one wire event, canonical or not.

    Returns:
        The event, not yet verified.

    Raises:
        TooLargeError: The text, header or declared body size is over its limit.
        MalformedError: Not JSON, wrong keys, wrong types, bad base64url.
        NonCanonicalError: A value outside the canonical subset, a duplicate key.
        UnknownVersionError: ``v`` is an integer other than 1.
    """
    if isinstance(text, str):
        text = canonical.as_bytes(text)
    if len(text) > MAX_EVENT_TEXT_BYTES:
        raise TooLargeError(
            f"event text is over {MAX_EVENT_TEXT_BYTES} bytes", field_path=None
        )
    return event_from_wire(canonical.decode(text))


def event_from_wire(value: JsonValue) -> Event:
    """Build an event from an already decoded wire object.

    Args:
        value: The decoded JSON value (its values already in the canonical subset).

    Returns:
        The event, not yet verified.

    Raises:
        MalformedError: Wrong keys or types, bad base64url.
        TooLargeError: Header or declared body size over its limit.
        UnknownVersionError: ``v`` is an integer other than 1.
    """
    if not isinstance(value, dict):
        raise MalformedError("an event is a JSON object")
    header = _checked_header(value)
    body = value.get("body")
    if "body" in value and not isinstance(body, dict):
        raise MalformedError("body is not a JSON object", field_path="body")
    sig = value["sig"]
    if not isinstance(sig, str):
        raise MalformedError("sig is not text", field_path="sig")
    base64url.decode(sig, length=64, field="sig")
    # Every field is type-checked and the value already in the subset: encode
    # without walking it again.
    header_bytes = canonical.dump(header)
    if len(header_bytes) > MAX_HEADER_BYTES:
        raise TooLargeError(
            f"canonical header is {len(header_bytes)} bytes, over {MAX_HEADER_BYTES}"
        )
    return Event(
        feed=header["feed"],  # type: ignore[arg-type]
        seq=header["seq"],  # type: ignore[arg-type]
        prev=header["prev"],  # type: ignore[arg-type]
        ts=header["ts"],  # type: ignore[arg-type]
        type=header["type"],  # type: ignore[arg-type]
        body_hash=header["body_hash"],  # type: ignore[arg-type]
        body_size=header["body_size"],  # type: ignore[arg-type]
        sig=sig,
        body=body,  # type: ignore[arg-type]
        id=EventId(digest(header_bytes)),
        header_bytes=header_bytes,
    )


def event_from_stored(value: JsonObject, body: JsonObject | None) -> Event:
    """Build an event from a signed header this node checked before storing it.

    Nothing is checked again (the header was decoded, verified and chained
    before it was stored); only the id and signed bytes are recomputed.

    Args:
        value: The decoded signed header (the eight fields and ``sig``).
        body: The decoded body, or ``None`` when not held.

    Returns:
        The event.
    """
    header = {key: item for key, item in value.items() if key != "sig"}
    header_bytes = canonical.dump(header)
    return Event(
        feed=FeedId(value["feed"]),  # type: ignore[arg-type]
        seq=value["seq"],  # type: ignore[arg-type]
        prev=value["prev"],  # type: ignore[arg-type]
        ts=value["ts"],  # type: ignore[arg-type]
        type=value["type"],  # type: ignore[arg-type]
        body_hash=value["body_hash"],  # type: ignore[arg-type]
        body_size=value["body_size"],  # type: ignore[arg-type]
        sig=value["sig"],  # type: ignore[arg-type]
        body=body,
        id=EventId(digest(header_bytes)),
        header_bytes=header_bytes,
    )


def _checked_header(value: dict[str, JsonValue]) -> JsonObject:
    """Check the wire object's keys and header fields; return the header."""
    _check_version(value)
    keys = value.keys()
    if keys != _WIRE_FIELDS and keys != _REDACTED_FIELDS:
        raise MalformedError(_describe_keys(keys))
    seq = _integer(value, "seq", minimum=1)
    body_size = _integer(value, "body_size", minimum=0)
    if body_size > MAX_BODY_BYTES:
        raise TooLargeError(
            f"body_size {body_size} is over {MAX_BODY_BYTES}", field_path="body_size"
        )
    return {
        "body_hash": parse_event_id(value["body_hash"], field="body_hash"),
        "body_size": body_size,
        "feed": _feed_id(value["feed"]),
        "prev": _prev(seq, value["prev"]),
        "seq": seq,
        "ts": _integer(value, "ts", minimum=0),
        "type": _event_type(value["type"]),
        "v": VERSION,
    }


@lru_cache(maxsize=4096)
def _known_feed_id(text: str) -> FeedId:
    return parse_feed_id(text)


def _feed_id(text: JsonValue) -> FeedId:
    # A page holds many events of one feed: check each feed id once.
    if type(text) is not str:
        return parse_feed_id(text)
    return _known_feed_id(text)


def _prev(seq: int, prev: JsonValue) -> EventId | None:
    if seq == 1:
        if prev is not None:
            raise MalformedError("prev must be null at seq 1", field_path="prev")
        return None
    return parse_event_id(prev, field="prev")


def _event_type(value: JsonValue) -> str:
    if not isinstance(value, str) or TYPE_PATTERN.fullmatch(value) is None:
        raise MalformedError("type is not an event type name", field_path="type")
    return value


def _check_version(value: Mapping[str, JsonValue]) -> None:
    if "v" not in value:
        raise MalformedError("v is missing", field_path="v")
    version = value["v"]
    if type(version) is not int:
        raise MalformedError("v is not an integer", field_path="v")
    if version != VERSION:
        raise UnknownVersionError(
            f"envelope version {version} is not known (this node speaks {VERSION})",
            field_path="v",
        )


def _integer(value: Mapping[str, JsonValue], field: str, *, minimum: int) -> int:
    number = value[field]
    if type(number) is not int or number < minimum:
        raise MalformedError(
            f"{field} is not an integer of at least {minimum}", field_path=field
        )
    return number


def _describe_keys(keys: object) -> str:
    present = set(keys)  # type: ignore[call-overload]
    missing = sorted(_REDACTED_FIELDS - present)
    extra = sorted(present - _WIRE_FIELDS)
    parts = []
    if missing:
        parts.append("missing " + ", ".join(missing))
    if extra:
        parts.append("unexpected " + ", ".join(map(str, extra)))
    return "wrong envelope keys: " + "; ".join(parts)
