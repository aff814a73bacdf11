"""The one writer: every append to the feed store goes through one thread.

Why one thread (``docs/architecture.md#writes``): the own feed's ``seq`` and
``prev`` come from its head, so reading the head, signing and appending must
happen in one order; and a durable SQLite commit costs an fsync, so publishes
that arrive while one commit is under way are signed together and committed in
the next single transaction. A publish is answered only after that commit has
returned (``synchronous=FULL`` in WAL mode: the commit is on disk).

Callers on the event loop ``await`` :meth:`Writer.publish` or
:meth:`Writer.append_verified`; the blocking work runs on the writer thread and
results come back through futures. After each commit the listeners run (on the
writer thread): they wake projections and, later, the federation sender.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from node.storage.feeds import FeedStore, Logged
from protocol import Event, JsonObject, ProtocolError, SigningKey, sign

__all__ = ["Writer"]

logger = logging.getLogger(__name__)

Listener = Callable[[list[Logged]], None]


@dataclass(slots=True)
class _Publish:
    event_type: str
    body: JsonObject
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Event] = field(repr=False)

    def settle(self, result: Event | BaseException) -> None:
        self.loop.call_soon_threadsafe(_settle, self.future, result)


def _settle(future: asyncio.Future[Event], result: Event | BaseException) -> None:
    if future.done():  # the caller went away; the event is stored all the same
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


class Writer:
    """Orders head checks, signing and appends on one thread, batching publishes."""

    def __init__(
        self, store: FeedStore, key: SigningKey, clock: Callable[[], int]
    ) -> None:
        """Write to ``store``, signing the own feed with ``key`` at ``clock()`` ms."""
        self.store = store
        self.key = key
        self._clock = clock
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="writer")
        self._lock = threading.Lock()
        self._pending: list[_Publish] = []
        self._scheduled = False
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` with the newly stored events after every commit."""
        self._listeners.append(listener)

    async def publish(self, event_type: str, body: JsonObject) -> Event:
        """Sign and store the next event of the own feed; return it once durable.

        Args:
            event_type: A type already checked against its schema.
            body: The body, already validated.

        Returns:
            The stored, signed event.

        Raises:
            ProtocolError: The body cannot be signed (too large, not canonical).
            ConflictError, StorageUnavailableError: The store refused the batch.
        """
        loop = asyncio.get_running_loop()
        item = _Publish(event_type, body, loop, loop.create_future())
        with self._lock:
            self._pending.append(item)
            if not self._scheduled:
                self._scheduled = True
                self._executor.submit(self._drain)
        return await item.future

    async def append_verified(self, events: Sequence[Event]) -> list[Logged]:
        """Store verified events of any feeds in one transaction (see FeedStore)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.append_now, events)

    def append_now(self, events: Sequence[Event]) -> list[Logged]:
        """Blocking :meth:`append_verified`, for the writer thread and the CLI."""
        stored = self.store.append(events)
        self._notify(stored)
        return stored

    def _drain(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
            self._scheduled = False
        try:
            head = self.store.head(self.key.feed)
        except Exception as error:
            for item in batch:
                item.settle(error)
            return
        signed: list[tuple[_Publish, Event]] = []
        for item in batch:
            try:
                event = sign(self.key, head, self._clock(), item.event_type, item.body)
            except ProtocolError as error:
                item.settle(error)
                continue
            signed.append((item, event))
            head = event
        self._commit(signed)

    def _commit(self, signed: list[tuple[_Publish, Event]]) -> None:
        if not signed:
            return
        try:
            stored = self.store.append([event for _, event in signed])
        except Exception as error:
            logger.exception("publishing %d events failed", len(signed))
            for item, _ in signed:
                item.settle(error)
            return
        self._notify(stored)
        for item, event in signed:
            item.settle(event)

    def _notify(self, stored: list[Logged]) -> None:
        if not stored:
            return
        for listener in self._listeners:
            try:
                listener(stored)
            except Exception:
                logger.exception("a listener failed after a commit")

    def close(self) -> None:
        """Finish queued writes, then stop the thread."""
        self._executor.shutdown(wait=True)
