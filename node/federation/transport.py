"""Speaking HTTP to peers: building paths, bounding answers, decoding messages.

Nothing here decides anything: every call returns the peer's answer as
protocol values or raises :class:`PeerUnavailableError` (the peer could not
be reached, timed out or answered with an error) or a
:class:`~protocol.ProtocolError` (it answered something that breaks the
protocol). Every answer is read with a byte bound and a deadline, so an
endless or very slow peer costs a bounded amount of memory and time.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import aiohttp

from node.errors import NodeError
from protocol import (
    MAX_EVENT_TEXT_BYTES,
    Event,
    FeedId,
    Forks,
    Heads,
    JsonValue,
    NodeInfo,
    Notify,
    Peers,
    ProtocolError,
    TooLargeError,
    canonical,
    decode_event,
)

__all__ = ["FeedPage", "PeerUnavailableError", "Transport"]

#: Largest JSON answer read from a peer (heads of 100,000 feeds fit).
MAX_JSON_BYTES = 8 * 1024 * 1024
#: Largest feed page read from a peer; a longer page is cut, keeping what came.
MAX_PAGE_BYTES = 16 * 1024 * 1024
USER_AGENT = "tredegar"


class PeerUnavailableError(NodeError):
    """The peer could not be reached, was too slow, or answered with an error."""

    code = "unavailable"


@dataclass(frozen=True, slots=True)
class FeedPage:
    """What a peer served of a feed: the events decoded before any problem."""

    events: list[Event]
    error: ProtocolError | None
    is_cut: bool


class Transport:
    """HTTP calls to peers on one shared client session."""

    def __init__(
        self, session: aiohttp.ClientSession, *, timeout: float = 10.0
    ) -> None:
        """Use ``session``; each call must finish within ``timeout`` seconds."""
        self._session = session
        self._timeout = aiohttp.ClientTimeout(
            total=timeout, sock_connect=min(timeout, 5)
        )

    async def info(self, url: str, challenge: str) -> NodeInfo:
        """Ask a peer who it is, and check it signed our challenge."""
        value = await self._get_json(f"{url}/fed/v1/info", {"challenge": challenge})
        info = NodeInfo.from_json(value)
        info.verify(challenge)
        return info

    async def heads(self, url: str, since: str | None) -> Heads:
        """A peer's heads, all or since a cursor it gave us."""
        params = {"since": since} if since else None
        return Heads.from_json(await self._get_json(f"{url}/fed/v1/heads", params))

    async def peers(self, url: str) -> Peers:
        """The peers a peer knows."""
        return Peers.from_json(await self._get_json(f"{url}/fed/v1/peers", None))

    async def forks(self, url: str) -> Forks:
        """The fork proofs a peer holds (each checked)."""
        return Forks.from_json(await self._get_json(f"{url}/fed/v1/forks", None))

    async def notify(self, url: str, message: Notify) -> None:
        """Tell a peer we have new events."""
        try:
            async with self._session.post(
                f"{url}/fed/v1/notify",
                data=canonical.encode(message.to_json()),
                headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
                timeout=self._timeout,
            ) as response:
                if response.status != 202:
                    raise PeerUnavailableError(f"notify answered {response.status}")
        except (TimeoutError, aiohttp.ClientError) as error:
            raise PeerUnavailableError(f"notify failed: {error!r}") from None

    async def feed_page(
        self, url: str, feed: FeedId, after: int, limit: int
    ) -> FeedPage:
        """Events of a feed after ``after``, decoded line by line (not verified)."""
        params = {"after": str(after), "limit": str(limit)}
        events: list[Event] = []
        try:
            async with self._session.get(
                f"{url}/fed/v1/feeds/{quote(feed, safe=':')}",
                params=params,
                headers={"User-Agent": USER_AGENT},
                timeout=self._timeout,
            ) as response:
                _check_status(response)
                return await _read_page(response, events, limit)
        except (TimeoutError, aiohttp.ClientError) as error:
            if events:
                return FeedPage(events, None, is_cut=True)
            raise PeerUnavailableError(f"feed page failed: {error!r}") from None

    async def _get_json(self, url: str, params: dict[str, str] | None) -> JsonValue:
        try:
            async with self._session.get(
                url,
                params=params,
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                timeout=self._timeout,
            ) as response:
                _check_status(response)
                data = await _read_bounded(response, MAX_JSON_BYTES)
        except (TimeoutError, aiohttp.ClientError) as error:
            raise PeerUnavailableError(f"{url} failed: {error!r}") from None
        return canonical.decode(data)


def _check_status(response: aiohttp.ClientResponse) -> None:
    if response.status != 200:
        raise PeerUnavailableError(f"{response.url.path} answered {response.status}")


async def _read_bounded(response: aiohttp.ClientResponse, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(65536):
        size += len(chunk)
        if size > limit:
            raise TooLargeError(f"a peer's answer is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_page(
    response: aiohttp.ClientResponse, events: list[Event], limit: int
) -> FeedPage:
    pending = b""
    size = 0
    async for chunk in response.content.iter_chunked(65536):
        size += len(chunk)
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            if len(events) >= limit:
                return FeedPage(
                    events, TooLargeError("more events than asked for"), False
                )
            try:
                events.append(decode_event(line))
            except ProtocolError as error:
                return FeedPage(events, error, is_cut=False)
        if len(pending) > MAX_EVENT_TEXT_BYTES:
            return FeedPage(events, TooLargeError("an event line is too long"), False)
        if size > MAX_PAGE_BYTES:
            return FeedPage(events, None, is_cut=True)
    if pending.strip():
        try:
            events.append(decode_event(pending))
        except ProtocolError as error:
            return FeedPage(events, error, is_cut=False)
    return FeedPage(events, None, is_cut=False)
