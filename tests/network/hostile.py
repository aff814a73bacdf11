"""A hostile peer: a small aiohttp server in the test process, lying on purpose.

It speaks enough of ``/fed/v1`` (``info``, ``heads``, ``feeds/{feed}``,
``notify``, ``peers``, ``forks``) for an honest node to sync from it, and
serves whatever a test tells it to: the events of feeds it authors with its
own Ed25519 keys (signed with :func:`protocol.sign`, so everything but the
tampering is valid), then the wire text tampered with — a forged signature, a
changed body, a float, a truncated line, a line too long — or pages that never
end. The same server with honest answers is an honest peer.

It runs on its own event loop in a thread, on a free loopback port, so it
keeps answering while the test blocks (starting a node, running a command).
Every request it receives is recorded, so a test can wait until the node has
come back for more instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal

import aiohttp
from aiohttp import web

from protocol import (
    MAX_EVENT_TEXT_BYTES,
    Event,
    EventId,
    JsonObject,
    JsonValue,
    NodeInfo,
    SigningKey,
    base64url,
    canonical,
    digest,
    parse_challenge,
    sign,
)

__all__ = [
    "Author",
    "HostilePeer",
    "Line",
    "Stall",
    "changed_body",
    "forged_in_feed",
    "forged_signature",
    "lines_of",
    "malformed",
    "non_canonical",
    "oversized",
    "peers",
    "wrong_prev",
]

#: How a page misbehaves after its lines: never ends (fast), or trickles.
Stall = Literal["endless", "slow"]
#: What an endless page keeps sending: whitespace lines a reader must skip.
_BLANK = (b" " * 1000 + b"\n") * 64


# --- feeds the hostile peer authors ----------------------------------------------


class Author:
    """A feed signed with a key of the hostile peer's own."""

    def __init__(self, name: str) -> None:
        """A new key and feed whose first event is the group's profile."""
        self.key = SigningKey.generate()
        self.events: list[Event] = []
        self.append("group.profile_set", {"name": name})

    @property
    def feed(self) -> str:
        """The feed id."""
        return self.key.feed

    def sign_after(
        self, previous: Event | None, event_type: str, body: JsonObject
    ) -> Event:
        """Sign an event after ``previous`` without adding it (for branches)."""
        return sign(self.key, previous, int(time.time() * 1000), event_type, body)

    def append(self, event_type: str, body: JsonObject) -> Event:
        """Sign the next event of the feed and keep it."""
        event = self.sign_after(
            self.events[-1] if self.events else None, event_type, body
        )
        self.events.append(event)
        return event

    def guide(self, title: str) -> Event:
        """Append a valid ``guide.published``."""
        return self.append(
            "guide.published",
            {"title": title, "text": f"{title}: what we learnt doing it."},
        )


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a feed page, served for requests with ``after < position``."""

    position: int
    text: bytes


def lines_of(events: Sequence[Event]) -> list[Line]:
    """The canonical wire lines of events, each at its own seq."""
    return [Line(e.seq, e.wire_bytes()) for e in events]


# --- tampering with the wire text ---------------------------------------------------


def _replace_once(text: bytes, old: bytes, new: bytes) -> bytes:
    assert text.count(old) == 1, (old, text)
    return text.replace(old, new)


def forged_signature(event: Event) -> bytes:
    """The event with ``sig`` replaced by another key's signature of its header."""
    other = SigningKey.generate().sign(event.header_bytes)
    return _replace_once(
        event.wire_bytes(), event.sig.encode(), base64url.encode(other).encode()
    )


def changed_body(event: Event) -> bytes:
    """The event with its body changed, keeping its size (``body_hash`` fails)."""
    assert event.body is not None
    wire = event.to_wire()
    body = dict(event.body)
    title = str(body["title"])
    body["title"] = title[:-1] + ("X" if title[-1] != "X" else "Y")
    wire["body"] = body
    return canonical.encode(wire)


def wrong_prev(author: Author, previous: Event, linked_to: Event) -> Event:
    """A validly signed event at ``previous.seq + 1`` whose ``prev`` names another."""
    stand_in = dataclasses.replace(previous, id=EventId(linked_to.id))
    return author.sign_after(
        stand_in, "guide.published", {"title": "Misplaced", "text": "Wrong prev."}
    )


def oversized(event: Event) -> bytes:
    """Valid JSON of the event, padded with whitespace past the event text limit."""
    text = event.wire_bytes()
    return text[:-1] + b" " * MAX_EVENT_TEXT_BYTES + b"}"


def malformed(event: Event) -> bytes:
    """The first half of the event's text: not JSON."""
    text = event.wire_bytes()
    return text[: len(text) // 2]


def non_canonical(event: Event) -> bytes:
    """The event with ``"v":1`` written as the float ``1.0``."""
    return _replace_once(event.wire_bytes(), b'"v":1}', b'"v":1.0}')


def forged_in_feed(
    key: SigningKey, feed: str, previous: Event | None, body: JsonObject
) -> bytes:
    """An event claiming a place in someone else's ``feed``, signed with ``key``.

    It follows ``previous``, or is the feed's first event when that is None.
    """
    body_bytes = canonical.encode(body)
    header: JsonObject = {
        "body_hash": digest(body_bytes),
        "body_size": len(body_bytes),
        "feed": feed,
        "prev": previous.id if previous else None,
        "seq": previous.seq + 1 if previous else 1,
        "ts": int(time.time() * 1000),
        "type": "guide.published",
        "v": 1,
    }
    wire: JsonObject = dict(header)
    wire["sig"] = base64url.encode(key.sign(canonical.encode(header)))
    wire["body"] = body
    return canonical.encode(wire)


# --- the server ---------------------------------------------------------------------


@dataclass(slots=True)
class _Served:
    lines: list[Line]
    stall: Stall | None = None
    stall_after: int = 0


@dataclass(slots=True)
class _State:
    heads: dict[str, int] = field(default_factory=dict)
    feeds: dict[str, _Served] = field(default_factory=dict)
    peers: JsonValue = field(default_factory=lambda: _empty("peers"))
    forks: JsonValue = field(default_factory=lambda: _empty("forks"))


def _empty(name: str) -> JsonValue:
    value: list[JsonValue] = []
    return {name: value}


class HostilePeer:
    """A ``/fed/v1`` server answering what the test says (use it as a context)."""

    def __init__(self, name: str = "hostile") -> None:
        """Not yet listening: :meth:`start` it (or enter it)."""
        self.name = name
        self.key = SigningKey.generate()
        self._lock = threading.Lock()
        self._state = _State()
        self._requests: list[tuple[str, dict[str, str]]] = []
        self.notifies: list[JsonValue] = []
        #: Set once a stalling page has sent its lines and begun to stall.
        self.stalling = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"peer-{name}", daemon=True
        )
        self._closing: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]

    @property
    def url(self) -> str:
        """Where it listens, as a peer URL."""
        return f"http://127.0.0.1:{self.port}"

    # --- what it serves (called from the test's thread) ---------------------------

    def serve(
        self,
        feed: str,
        lines: Sequence[Line],
        *,
        head: int,
        stall: Stall | None = None,
        stall_after: int = 0,
    ) -> None:
        """Claim ``head`` for ``feed`` in ``heads`` and serve ``lines`` as its pages.

        With ``stall``, a page asked for after ``stall_after`` or later sends
        its lines and then never ends (``endless``) or trickles (``slow``).
        """
        with self._lock:
            self._state.heads[feed] = head
            self._state.feeds[feed] = _Served(list(lines), stall, stall_after)

    def serve_events(self, events: Sequence[Event]) -> None:
        """Serve valid events of one feed, honestly."""
        self.serve(events[0].feed, lines_of(events), head=events[-1].seq)

    def serve_forks(self, answer: JsonValue) -> None:
        """Answer ``GET /fed/v1/forks`` with this."""
        with self._lock:
            self._state.forks = answer

    def page_requests(self, feed: str, *, after: int | None = None) -> int:
        """How many pages of ``feed`` were asked for (with this ``after``)."""
        path = f"/fed/v1/feeds/{feed}"
        with self._lock:
            return sum(
                1
                for got, query in self._requests
                if got == path and (after is None or query.get("after") == str(after))
            )

    def asked(self, path: str) -> int:
        """How many requests for ``path`` (e.g. ``/fed/v1/forks``) came in."""
        with self._lock:
            return sum(1 for got, _ in self._requests if got == path)

    def notify(self, node_url: str, feed: str, seq: int) -> int:
        """POST a notify to a node as a peer would; the answer's status."""
        future = asyncio.run_coroutine_threadsafe(
            self._notify(node_url, feed, seq), self._loop
        )
        return future.result(timeout=10)

    # --- life -------------------------------------------------------------------

    def start(self) -> None:
        """Listen on the port chosen at construction."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._setup(), self._loop).result(timeout=10)

    def stop(self) -> None:
        """End every stalling page, close the server and the thread's loop."""
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._cleanup(), self._loop).result(
                timeout=30
            )
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()
        self._socket.close()

    def __enter__(self) -> HostilePeer:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    async def _setup(self) -> None:
        self._closing = asyncio.Event()
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_get("/fed/v1/info", self._info)
        app.router.add_get("/fed/v1/heads", self._heads)
        app.router.add_get("/fed/v1/feeds/{feed}", self._feed)
        app.router.add_post("/fed/v1/notify", self._notified)
        app.router.add_get("/fed/v1/peers", self._peers)
        app.router.add_get("/fed/v1/forks", self._forks)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, self._socket).start()

    async def _cleanup(self) -> None:
        if self._closing is not None:
            self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _notify(self, node_url: str, feed: str, seq: int) -> int:
        assert self._session is not None
        message = {"feed": feed, "seq": seq, "url": self.url}
        async with self._session.post(
            f"{node_url}/fed/v1/notify", data=json.dumps(message).encode()
        ) as response:
            await response.read()
            return response.status

    # --- handlers (on the server's loop) ------------------------------------------

    def _record(self, request: web.Request) -> None:
        with self._lock:
            self._requests.append((request.path, dict(request.query)))

    async def _info(self, request: web.Request) -> web.Response:
        self._record(request)
        info = NodeInfo.signed(
            self.key,
            parse_challenge(request.query.get("challenge")),
            name=self.name,
            url=self.url,
            software="hostile",
            version="0",
            time=int(time.time() * 1000),
        )
        return _json(info.to_json())

    async def _heads(self, request: web.Request) -> web.Response:
        self._record(request)
        with self._lock:
            heads: JsonObject = dict(self._state.heads.items())
            count = len(self._requests)
        return _json({"heads": heads, "cursor": f"hostile.{count}"})

    async def _peers(self, request: web.Request) -> web.Response:
        self._record(request)
        with self._lock:
            return _json(self._state.peers)

    async def _forks(self, request: web.Request) -> web.Response:
        self._record(request)
        with self._lock:
            return _json(self._state.forks)

    async def _notified(self, request: web.Request) -> web.Response:
        self._record(request)
        message = json.loads(await request.read())
        with self._lock:
            self.notifies.append(message)
        return _json({}, status=202)

    async def _feed(self, request: web.Request) -> web.StreamResponse:
        self._record(request)
        after = int(request.query.get("after", "0"))
        limit = int(request.query.get("limit", "500"))
        with self._lock:
            served = self._state.feeds.get(request.match_info["feed"])
        if served is None:
            return _json({"code": "not-found"}, status=404)
        lines = [line for line in served.lines if line.position > after][:limit]
        body = b"".join(line.text + b"\n" for line in lines)
        if served.stall is None or after < served.stall_after:
            return web.Response(body=body, content_type="application/x-ndjson")
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            await response.write(body)
            self.stalling.set()
            await self._stall(response, served.stall)
        return response

    async def _stall(self, response: web.StreamResponse, how: Stall) -> None:
        assert self._closing is not None
        while not self._closing.is_set():
            if how == "endless":
                await response.write(_BLANK)
            else:
                await response.write(b"\n")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), 0.5)


def _json(value: JsonValue, status: int = 200) -> web.Response:
    return web.Response(
        body=canonical.encode(value), status=status, content_type="application/json"
    )


@contextlib.contextmanager
def peers(*names: str) -> Iterator[list[HostilePeer]]:
    """Several peers, started, and stopped on the way out."""
    started: list[HostilePeer] = []
    try:
        for name in names:
            peer = HostilePeer(name)
            peer.start()
            started.append(peer)
        yield started
    finally:
        for peer in started:
            peer.stop()
