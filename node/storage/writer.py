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
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from node.errors import ConflictError
from node.storage.feeds import FeedStore, Logged
from protocol import Event, ForkError, JsonObject, ProtocolError, SigningKey, sign

__all__ = ["Writer"]

logger = logging.getLogger(__name__)

Listener = Callable[[list[Logged]], None]
#: Times a publish batch is signed again when another writer sharing the
#: database appended to the own feed first.
ATTEMPTS = 8
#: Longest pause before signing again, times the attempt (s): random, so the
#: workers that lost a race do not collide again in step.
RETRY_PAUSE = 0.02


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
        for attempt in range(1, ATTEMPTS + 1):
            try:
                signed = self._sign(batch)
                stored = self.store.append([event for _, event in signed])
            except (ConflictError, ForkError) as error:
                # Another worker sharing the database took the next seq
                # first (PostgreSQL): sign again on the new head. Seen before
                # the insert, the taken seq is a ForkError (our events were
                # signed on the head just read, so never a real fork).
                if attempt < ATTEMPTS:
                    logger.info("own feed moved under us, signing again: %s", error)
                    time.sleep(random.uniform(0, RETRY_PAUSE * attempt))  # noqa: S311
                    continue
                self._fail(
                    batch,
                    ConflictError("other workers kept publishing first: try again"),
                )
                return
            except Exception as error:
                self._fail(batch, error)
                return
            break
        self._notify(stored)
        for item, event in signed:
            item.settle(event)

    def _sign(self, batch: list[_Publish]) -> list[tuple[_Publish, Event]]:
        """Sign the batch on the stored head; an item that cannot be is settled."""
        head = self.store.head(self.key.feed)
        signed: list[tuple[_Publish, Event]] = []
        for item in list(batch):
            try:
                event = sign(self.key, head, self._clock(), item.event_type, item.body)
            except ProtocolError as error:
                item.settle(error)
                batch.remove(item)
                continue
            signed.append((item, event))
            head = event
        return signed

    def _fail(self, batch: list[_Publish], error: Exception) -> None:
        if batch:
            logger.error("publishing %d events failed: %s", len(batch), error)
        for item in batch:
            item.settle(error)

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
