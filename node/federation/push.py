"""Pushing: telling peers, soon after each commit, that there is something new.

A notify is only a hint (``docs/protocol.md#notify``): the receiver pulls and
verifies. After every commit the writer thread hands the last event stored to
:meth:`Pusher.stored`; one notify per peer follows after a short debounce, so
a burst of commits costs one round of notifies. The first time the node
contacts a peer it announces its own URL the same way, so the peer learns of
it; an announcement that failed is tried again at the next round.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from node.federation.transport import PeerUnavailableError, Transport
from node.storage.federation import PeerState
from node.storage.feeds import Logged, SqliteFeedStore
from protocol import FeedId, Notify

__all__ = ["Pusher"]

logger = logging.getLogger(__name__)


class Pusher:
    """Debounced notifies after commits, and announcements to new peers."""

    def __init__(
        self,
        *,
        store: SqliteFeedStore,
        own_feed: FeedId,
        own_url: str,
        delay: float,
        is_enabled: bool,
        transport: Callable[[], Transport],
        offload: Callable[..., Awaitable[Any]],
        clock: Callable[[], int],
    ) -> None:
        """Push for the node whose feed is ``own_feed``, served at ``own_url``."""
        self._store = store
        self._own_feed = own_feed
        self._own_url = own_url
        self._delay = delay
        self._is_enabled = is_enabled
        self._transport = transport
        self._offload = offload
        self._clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.announced: set[str] = set()

    def start(self) -> None:
        """Remember the event loop (the writer calls in from its thread)."""
        self._loop = asyncio.get_running_loop()

    def stop(self) -> None:
        """Push no more after commits (the sync loop stopped: another worker leads)."""
        self._loop = None

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The pending push, if any (for shutdown)."""
        return self._task

    def stored(self, stored: list[Logged]) -> None:
        """Writer listener (writer thread): schedule a debounced notify."""
        if self._is_enabled and self._loop is not None:
            last = stored[-1].event
            self._loop.call_soon_threadsafe(self._schedule, last.feed, last.seq)

    def schedule(self, feed: FeedId, seq: int) -> None:
        """On the event loop: a debounced notify for an event stored elsewhere.

        Another worker process of this node stored it (``node.services.leadership``).
        """
        if self._is_enabled and self._loop is not None:
            self._schedule(feed, seq)

    def _schedule(self, feed: FeedId, seq: int) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._push(feed, seq))

    async def _push(self, feed: FeedId, seq: int) -> None:
        await asyncio.sleep(self._delay)
        peers: list[PeerState] = await self._offload(self._store.federation.peers)
        now = self._clock()
        message = Notify(feed, seq, self._own_url)
        await asyncio.gather(
            *(
                self.notify(p.url, message)
                for p in peers
                if p.next_attempt <= now and p.url != self._own_url
            )
        )

    async def notify(self, url: str, message: Notify) -> bool:
        """Send one notify; False when the peer could not take it."""
        try:
            await self._transport().notify(url, message)
        except PeerUnavailableError as error:
            logger.debug("notify to %s failed: %s", url, error.message)
            return False
        return True

    async def announce(self, url: str) -> None:
        """Tell a peer our URL and head (once it has taken it, never again)."""
        if url in self.announced:
            return
        head = await self._offload(self._store.head, self._own_feed)
        message = Notify(self._own_feed, head.seq if head else 0, self._own_url)
        if await self.notify(url, message):
            self.announced.add(url)
