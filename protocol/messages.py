"""The federation messages of ``docs/protocol.md#federation`` as typed values.

Each message is a frozen dataclass with ``from_json`` (validating a decoded
JSON value, refusing with ``malformed`` or ``too-large``) and ``to_json``. A
feed page is NDJSON of canonical wire events, one per line. Nothing here
speaks HTTP: the node builds requests and answers around these values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from protocol import base64url, canonical, signing
from protocol.errors import (
    InvalidSignatureError,
    MalformedError,
    TooLargeError,
)
from protocol.event import Event, decode_event, event_from_wire
from protocol.keys import SigningKey, is_valid_signature, parse_feed_id
from protocol.types import FeedId, JsonObject, JsonValue

__all__ = [
    "DEFAULT_PAGE_LIMIT",
    "INFO_CONTEXT",
    "MAX_HEADS",
    "MAX_PAGE_LIMIT",
    "MAX_PEERS",
    "ForkProof",
    "Forks",
    "Heads",
    "NodeInfo",
    "Notify",
    "PeerEntry",
    "Peers",
    "clamp_limit",
    "decode_feed_page",
    "encode_feed_page",
    "parse_challenge",
    "parse_url",
]

#: Events per feed page when the caller names no limit.
DEFAULT_PAGE_LIMIT = 500
#: Largest feed page; a larger ``limit`` is clamped to it.
MAX_PAGE_LIMIT = 1000
#: Most feeds in one heads answer.
MAX_HEADS = 100_000
#: Most peers in one peers answer.
MAX_PEERS = 1000
#: Most forks in one forks answer.
MAX_FORKS = 1000
#: Longest cursor, URL and short text.
MAX_CURSOR = 256
MAX_URL = 2048
MAX_TEXT = 200
#: Domain separation for info signatures: no event header starts with this.
INFO_CONTEXT = b"tredegar-info-v1\n"
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def clamp_limit(requested: int | None) -> int:
    """Return the page size to serve for a requested ``limit``.

    Args:
        requested: The caller's ``limit``, or ``None``.

    Returns:
        :data:`DEFAULT_PAGE_LIMIT` when none was asked, else the request
        clamped to 1 … :data:`MAX_PAGE_LIMIT`.
    """
    if requested is None:
        return DEFAULT_PAGE_LIMIT
    return max(1, min(requested, MAX_PAGE_LIMIT))


def parse_challenge(value: object) -> str:
    """Check an info challenge: 16-64 base64url characters.

    Args:
        value: The challenge received.

    Returns:
        The challenge.

    Raises:
        MalformedError: It is not.
    """
    if not isinstance(value, str) or _CHALLENGE.fullmatch(value) is None:
        raise MalformedError(
            "challenge must be 16-64 base64url characters", field_path="challenge"
        )
    return value


def parse_url(value: object, *, field: str = "url") -> str:
    """Check a node's public URL: absolute http(s), no credentials or fragment.

    Args:
        value: The URL received.
        field: Where it came from, for the error.

    Returns:
        The URL without a trailing slash.

    Raises:
        MalformedError: It is not such a URL.
    """
    if not isinstance(value, str) or not 0 < len(value) <= MAX_URL:
        raise MalformedError(
            f"{field} is not a URL of at most {MAX_URL} characters", field_path=field
        )
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        raise MalformedError(f"{field} is not a URL", field_path=field) from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or "#" in value
        or "?" in value
        or parts.scheme != value[: len(parts.scheme)]
        or not value.isascii()
        or any(ch.isspace() for ch in value)
    ):
        raise MalformedError(
            f"{field} must be an absolute http(s) URL without credentials, "
            "query or fragment",
            field_path=field,
        )
    return value.rstrip("/")


def _object(value: JsonValue, name: str, keys: Iterable[str]) -> JsonObject:
    if not isinstance(value, dict):
        raise MalformedError(f"{name} is not a JSON object")
    expected = set(keys)
    if set(value) != expected:
        raise MalformedError(f"{name} must have exactly the keys {sorted(expected)}")
    return value


def _text(value: JsonValue, field: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise MalformedError(
            f"{field} is not text of at most {limit} characters", field_path=field
        )
    return value


def _count(value: JsonValue, field: str, minimum: int = 0) -> int:
    if type(value) is not int or value < minimum:
        raise MalformedError(
            f"{field} is not an integer of at least {minimum}", field_path=field
        )
    return value


def _list(value: JsonValue, field: str, limit: int) -> list[JsonValue]:
    if not isinstance(value, list):
        raise MalformedError(f"{field} is not a list", field_path=field)
    if len(value) > limit:
        raise TooLargeError(f"{field} holds more than {limit} items", field_path=field)
    return value


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """``GET /fed/v1/info``: who a node is, proven by signing the caller's challenge."""

    feed: FeedId
    name: str
    url: str
    software: str
    version: str
    time: int
    sig: str

    @staticmethod
    def signing_bytes(challenge: str) -> bytes:
        """Return the bytes an info answer signs for ``challenge``."""
        return INFO_CONTEXT + parse_challenge(challenge).encode("ascii")

    @classmethod
    def signed(
        cls,
        key: SigningKey,
        challenge: str,
        *,
        name: str,
        url: str,
        software: str,
        version: str,
        time: int,
    ) -> NodeInfo:
        """Answer a challenge.

        Args:
            key: The node's feed key.
            challenge: The caller's challenge.
            name: The group's name.
            url: The node's public URL.
            software: The software's name.
            version: The software's version.
            time: The node's clock, milliseconds since the epoch.

        Returns:
            The signed info.
        """
        sig = base64url.encode(key.sign(cls.signing_bytes(challenge)))
        return cls(key.feed, name, url, software, version, time, sig)

    def verify(self, challenge: str) -> None:
        """Check that the info signs ``challenge`` with the key of :attr:`feed`.

        Args:
            challenge: The challenge that was sent.

        Raises:
            MalformedError: The challenge or signature is not well formed.
            InvalidSignatureError: The signature does not verify.
        """
        signature = base64url.decode(self.sig, length=64, field="sig")
        if not is_valid_signature(self.feed, signature, self.signing_bytes(challenge)):
            raise InvalidSignatureError(
                "info signature does not verify", field_path="sig"
            )

    @classmethod
    def from_json(cls, value: JsonValue) -> NodeInfo:
        """Validate a decoded info answer (signature not yet checked)."""
        obj = _object(
            value, "info", ("feed", "name", "url", "software", "version", "time", "sig")
        )
        sig = _text(obj["sig"], "sig", 86)
        base64url.decode(sig, length=64, field="sig")
        return cls(
            feed=parse_feed_id(obj["feed"]),
            name=_text(obj["name"], "name"),
            url=parse_url(obj["url"]),
            software=_text(obj["software"], "software", 64),
            version=_text(obj["version"], "version", 64),
            time=_count(obj["time"], "time"),
            sig=sig,
        )

    def to_json(self) -> JsonObject:
        """Return the JSON object."""
        return {
            "feed": self.feed,
            "name": self.name,
            "url": self.url,
            "software": self.software,
            "version": self.version,
            "time": self.time,
            "sig": self.sig,
        }


@dataclass(frozen=True, slots=True)
class Heads:
    """``GET /fed/v1/heads``: head seq of every feed held, or changed since a cursor."""

    heads: Mapping[FeedId, int]
    cursor: str

    @classmethod
    def from_json(cls, value: JsonValue) -> Heads:
        """Validate a decoded heads answer."""
        obj = _object(value, "heads answer", ("heads", "cursor"))
        raw = obj["heads"]
        if not isinstance(raw, dict):
            raise MalformedError("heads is not an object", field_path="heads")
        if len(raw) > MAX_HEADS:
            raise TooLargeError(f"more than {MAX_HEADS} heads", field_path="heads")
        heads = {
            parse_feed_id(feed, field="heads"): _count(seq, f"heads.{feed}", 1)
            for feed, seq in raw.items()
        }
        return cls(heads, _text(obj["cursor"], "cursor", MAX_CURSOR))

    def to_json(self) -> JsonObject:
        """Return the JSON object."""
        heads: JsonObject = dict(self.heads.items())
        return {"heads": heads, "cursor": self.cursor}


@dataclass(frozen=True, slots=True)
class Notify:
    """``POST /fed/v1/notify``: a hint that the sender at ``url`` has new events."""

    feed: FeedId
    seq: int
    url: str

    @classmethod
    def from_json(cls, value: JsonValue) -> Notify:
        """Validate a decoded notify."""
        obj = _object(value, "notify", ("feed", "seq", "url"))
        return cls(
            parse_feed_id(obj["feed"]), _count(obj["seq"], "seq"), parse_url(obj["url"])
        )

    def to_json(self) -> JsonObject:
        """Return the JSON object."""
        return {"feed": self.feed, "seq": self.seq, "url": self.url}


@dataclass(frozen=True, slots=True)
class PeerEntry:
    """One peer a node knows: its URL, its feed when known, when last heard from."""

    url: str
    feed: FeedId | None
    last_seen: int | None

    @classmethod
    def from_json(cls, value: JsonValue) -> PeerEntry:
        """Validate one decoded peer entry."""
        obj = _object(value, "peer", ("url", "feed", "last_seen"))
        feed = obj["feed"]
        last_seen = obj["last_seen"]
        return cls(
            parse_url(obj["url"]),
            None if feed is None else parse_feed_id(feed),
            None if last_seen is None else _count(last_seen, "last_seen"),
        )

    def to_json(self) -> JsonObject:
        """Return the JSON object."""
        return {"url": self.url, "feed": self.feed, "last_seen": self.last_seen}


@dataclass(frozen=True, slots=True)
class Peers:
    """``GET /fed/v1/peers``: the peers a node knows, for peer exchange."""

    peers: tuple[PeerEntry, ...]

    @classmethod
    def from_json(cls, value: JsonValue) -> Peers:
        """Validate a decoded peers answer."""
        obj = _object(value, "peers answer", ("peers",))
        items = _list(obj["peers"], "peers", MAX_PEERS)
        return cls(tuple(PeerEntry.from_json(item) for item in items))

    def to_json(self) -> JsonObject:
        """Return the JSON object."""
        return {"peers": [peer.to_json() for peer in self.peers]}


@dataclass(frozen=True, slots=True)
class ForkProof:
    """Two valid signed events for one (feed, seq): the key signed two histories."""

    feed: FeedId
    seq: int
    first: Event
    second: Event

    @classmethod
    def of(cls, first: Event, second: Event) -> ForkProof:
        """Make a proof from two events; checks them like :meth:`verify`."""
        proof = cls(first.feed, first.seq, first, second)
        proof.verify()
        return proof

    def verify(self) -> None:
        """Check the proof: both signatures verify, one position, two ids.

        Raises:
            MalformedError: The events are not for the proof's (feed, seq), or
                are the same event.
            InvalidSignatureError: A signature does not verify.
            BadBodyHashError: A body present does not match its hash.
        """
        for event in (self.first, self.second):
            if event.feed != self.feed or event.seq != self.seq:
                raise MalformedError("fork proof events are not for its (feed, seq)")
            signing.verify(event)
        if self.first.id == self.second.id:
            raise MalformedError("fork proof names the same event twice")

    @classmethod
    def from_json(cls, value: JsonValue) -> ForkProof:
        """Validate a decoded fork proof, signatures included."""
        obj = _object(value, "fork", ("feed", "seq", "events"))
        events = obj["events"]
        if not isinstance(events, list) or len(events) != 2:
            raise MalformedError("a fork proof holds two events", field_path="events")
        proof = cls(
            parse_feed_id(obj["feed"]),
            _count(obj["seq"], "seq", 1),
            event_from_wire(events[0]),
            event_from_wire(events[1]),
        )
        proof.verify()
        return proof

    def to_json(self) -> JsonObject:
        """Return the JSON object."""
        return {
            "feed": self.feed,
            "seq": self.seq,
            "events": [self.first.to_wire(), self.second.to_wire()],
        }


@dataclass(frozen=True, slots=True)
class Forks:
    """``GET /fed/v1/forks``: every fork proof a node holds."""

    forks: tuple[ForkProof, ...]

    @classmethod
    def from_json(cls, value: JsonValue) -> Forks:
        """Validate a decoded forks answer, every proof checked."""
        obj = _object(value, "forks answer", ("forks",))
        items = _list(obj["forks"], "forks", MAX_FORKS)
        return cls(tuple(ForkProof.from_json(item) for item in items))

    def to_json(self) -> JsonObject:
        """Return the JSON object."""
        return {"forks": [fork.to_json() for fork in self.forks]}


def encode_feed_page(events: Iterable[Event]) -> bytes:
    """Serialise events as a feed page: NDJSON, canonical wire text per line.

    Args:
        events: The events, in order.

    Returns:
        The page bytes.
    """
    return b"".join(event.wire_bytes() + b"\n" for event in events)


def decode_feed_page(data: bytes, *, limit: int = MAX_PAGE_LIMIT) -> Iterator[Event]:
    """Decode a feed page line by line (events not yet verified).

    The events before a bad line are yielded before its error is raised, so a
    receiver keeps the good events before a bad one (``docs/protocol.md#pulling``).

    Args:
        data: The NDJSON page.
        limit: Most events accepted in one page.

    Yields:
        Each event in turn.

    Raises:
        ProtocolError: The first bad line's refusal, or ``too-large`` past ``limit``.
    """
    count = 0
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        count += 1
        if count > limit:
            raise TooLargeError(f"a feed page holds at most {limit} events")
        yield decode_event(line)


def encode_json(message: Heads | Notify | Peers | Forks | NodeInfo) -> bytes:
    """Return the canonical bytes of a message."""
    return canonical.encode(message.to_json())
