"""Live updates for the pages: a notice per event stored, to the pages' script.

``GET /events/stream`` (server-sent events) tells an open page that an event
arrived, by sync or by publishing; the page's small script (``static/live.js``)
then fetches the page again and swaps in the lists it shows. Without
JavaScript the pages simply show the news on reload.

A notice is only the event's ``type``, ``id`` and ``feed``, never its body,
and it is sent once the read models hold the event, so the page fetched
after it already shows it. Events of blocked feeds are not announced. The
node keeps at most ``limit`` streams open (one more is ``rate-limited``) and
ends every stream when the app shuts down. The writer's listener runs on the
writer thread; it only hands the notices to the event loop.

Other worker processes of the node (PostgreSQL, ``tredegar run --workers``)
store events this process's writer never sees, so while a stream is open
the log is also read every ``projection_poll_seconds`` from the last
position looked at; what the writer already announced is not announced
again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from node.errors import NodeError, RateLimitedError

if TYPE_CHECKING:
    from node.services.runtime import NodeServices
    from node.storage.feeds import Logged

__all__ = ["STREAM_LIMIT", "Notice", "Streams", "StreamsClosedError"]

logger = logging.getLogger(__name__)

#: How many live streams a node keeps open at once.
STREAM_LIMIT = 100
#: How many notices wait for a slow page before newer ones are dropped.
QUEUE_SIZE = 64
#: The longest wait for the read models to hold an announced event, in s.
PROJECTION_WAIT = 5.0
#: The most log entries read per look for events other processes stored.
LOOK_LIMIT = 200


class StreamsClosedError(NodeError):
    """The node is shutting down: no new live streams."""

    code = "unavailable"


@dataclass(frozen=True, slots=True)
class Notice:
    """An event stored: what a page needs to know to refresh.

    Attributes:
        type: The event type.
        id: The event id.
        feed: The feed it belongs to.
    """

    type: str
    id: str
    feed: str


Queue = asyncio.Queue[Notice | None]


class Streams:
    """The open live streams of one app, fed by the node's writer."""

    def __init__(self, limit: int = STREAM_LIMIT) -> None:
        """Allow at most ``limit`` streams at once."""
        self.limit = limit
        self._queues: set[Queue] = set()
        self._node: NodeServices | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._follower: asyncio.Task[None] | None = None
        #: The log position looked at so far (None while no stream is open).
        self._cursor: int | None = None
        #: Positions past the cursor that the writer has announced.
        self._heard: set[int] = set()

    @property
    def open_count(self) -> int:
        """How many streams are open now."""
        return len(self._queues)

    def attach(self, node: NodeServices) -> None:
        """Listen to the node's writer (once; called on the event loop)."""
        if self._node is node:
            return
        self._node, self._loop = node, asyncio.get_running_loop()
        node.writer.add_listener(self._stored)
        if self._follower is None and not self._closed:
            poll = node.settings.projection_poll_seconds
            self._follower = asyncio.create_task(self._follow(poll))

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Queue]:
        """A queue of notices for one stream; ``None`` in it means "end".

        Raises:
            RateLimitedError: As many streams as allowed are open.
            StreamsClosedError: The app is shutting down.
        """
        node = self._node
        if self._cursor is None and node is not None and not self._closed:
            # Follow the log from here: what other processes store from now
            # on is announced (the writer's listener covers this one).
            self._cursor = await node.read(node.store.max_position)
        if self._closed:
            raise StreamsClosedError("the node is shutting down: reload later")
        if len(self._queues) >= self.limit:
            raise RateLimitedError("too many live pages are open: reload later")
        queue: Queue = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    async def close(self) -> None:
        """End every stream and refuse new ones (on shutdown)."""
        self._closed = True
        if self._follower is not None:
            self._follower.cancel()
            await asyncio.gather(self._follower, return_exceptions=True)
        for queue in list(self._queues):
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(None)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _stored(self, stored: list[Logged]) -> None:
        # On the writer thread: hand over to the loop, nothing more.
        loop = self._loop
        if not self._queues or loop is None or self._closed:
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed
            loop.call_soon_threadsafe(self._heard_of, stored)

    def _heard_of(self, stored: list[Logged]) -> None:
        cursor = self._cursor
        if cursor is not None:  # what the log follower passed is announced
            stored = [item for item in stored if item.position > cursor]
            self._heard.update(item.position for item in stored)
        if stored:
            self._spawn(stored)

    async def _follow(self, poll: float) -> None:
        while True:
            await asyncio.sleep(poll)
            try:
                await self._look()
            except Exception:  # keep following: log it, try at the next poll
                logger.exception("could not read the log for live pages")

    async def _look(self) -> None:
        """Announce what other processes stored since the last look."""
        node = self._node
        if node is None or not self._queues:
            self._cursor = None
            self._heard.clear()
            return
        if self._cursor is None:
            self._cursor = await node.read(node.store.max_position)
            return
        logged = await node.read(node.store.log, self._cursor, LOOK_LIMIT)
        if not logged:
            return
        last = logged[-1].position
        fresh = [item for item in logged if item.position not in self._heard]
        self._heard = {position for position in self._heard if position > last}
        self._cursor = last
        if fresh:
            node.projector.wake()
            self._spawn(fresh)

    def _spawn(self, stored: list[Logged]) -> None:
        notices = [
            Notice(item.event.type, item.event.id, item.event.feed) for item in stored
        ]
        task = asyncio.create_task(self._deliver(notices, stored[-1].position))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, notices: list[Notice], position: int) -> None:
        node = self._node
        if node is None:
            return
        try:
            await node.projector.caught_up(position, PROJECTION_WAIT)
            blocked = await node.read(node.store.federation.blocked)
        except NodeError:
            logger.warning("could not announce %d new events", len(notices))
            return
        for notice in notices:
            if notice.feed in blocked:
                continue
            for queue in list(self._queues):
                with contextlib.suppress(asyncio.QueueFull):  # a stalled page
                    queue.put_nowait(notice)
