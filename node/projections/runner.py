"""The projector: follows the node's log into the read models.

Design (DESIGN §4, NOTES-eventsourcing §1 "Projections"):

* **Polling, woken.** SQLite has no subscriptions, so the projector polls the
  feed store's log (``store.log(after, limit)``, the order this node stored
  events). A background thread runs :meth:`Projector.run_once` until it
  returns 0, then waits on a ``threading.Event`` for at most
  ``settings.projection_poll_seconds``. The node calls :meth:`Projector.wake`
  after every save, so read models follow within milliseconds; the timeout
  is only the safety net.
* **Tracking in the same transaction.** A batch and its last position are
  written in one transaction (:mod:`node.projections.recorder`). Each batch
  starts from the tracked position, read from the database, not memory.
* **Exactly once after a crash.** A crash before the commit loses the whole
  batch and its position, so it is applied again on restart; a crash after
  it loses nothing. A batch offered again is filtered against the tracked
  position inside its transaction: replay is a no-op.
* **Failures.** An event whose type is unknown or whose body fails its schema
  is listed but enters no typed model (DESIGN §3): not an error. Anything
  else that goes wrong is a bug and must not skip events: the batch rolls
  back, the thread logs it once and retries on the next wake or poll.
* **Waiting.** :meth:`Projector.wait_for` (and the awaitable
  :meth:`Projector.caught_up`) block on a ``Condition`` notified after each
  batch, so tests and the HTTP layer can wait for a given position.
* **Reindex.** :meth:`Projector.reindex` empties every model and the tracking
  row, then rebuilds from position 0 (``tredegar reindex``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Protocol

from node.projections.model import Projected
from node.projections.readmodels import ReadModels
from node.storage.feeds import Logged
from protocol import BodyValidator, SchemaViolationError, UnknownEventTypeError

__all__ = ["EventLog", "Projector", "reindex"]

logger = logging.getLogger(__name__)

#: Events per batch (one transaction each).
BATCH = 2000


class EventLog(Protocol):
    """What the projector reads: the node's log of stored events."""

    def log(self, after: int, limit: int) -> list[Logged]:
        """Events in the order this node stored them, after a position."""
        ...

    def max_position(self) -> int:
        """The position of the last event stored, 0 when none."""
        ...


class Projector:
    """Projects the log into the read models, on demand or from a thread."""

    def __init__(
        self,
        store: EventLog,
        readmodels: ReadModels,
        validator: BodyValidator,
        *,
        poll_seconds: float = 1.0,
    ) -> None:
        """Set up a projector; nothing runs until :meth:`run_once` or :meth:`start`.

        Args:
            store: The feed store.
            readmodels: The read models to write.
            validator: Decides which bodies enter typed models.
            poll_seconds: The longest the thread waits between polls
                (``settings.projection_poll_seconds``).
        """
        self._store = store
        self._readmodels = readmodels
        self._validator = validator
        self._poll_seconds = poll_seconds
        self._batch_lock = threading.Lock()
        self._progress = threading.Condition()
        self._position = readmodels.position()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def position(self) -> int:
        """The log position projected so far."""
        return self._position

    def run_once(self, limit: int = BATCH) -> int:
        """Project the next batch of the log, in one transaction.

        Args:
            limit: The most events to read.

        Returns:
            How many events the batch held (0 when caught up).

        Raises:
            Exception: Whatever failed; the batch was rolled back.
        """
        with self._batch_lock:
            after = self._readmodels.position()
            batch = self._store.log(after, limit)
            if not batch and after > self._store.max_position():
                # The log is shorter than what was projected: the feeds
                # database was replaced (a restore). Rebuild from it.
                logger.warning("read models are ahead of the log at %d", after)
                self._readmodels.reset()
                after = 0
                batch = self._store.log(after, limit)
            if batch:
                self._readmodels.apply([self._judge(logged) for logged in batch])
                after = batch[-1].position
            else:
                self._readmodels.tidy()
            self._advance(after)
            return len(batch)

    def _judge(self, logged: Logged) -> Projected:
        event = logged.event
        if event.body is None:
            return Projected(logged.position, event, is_valid=False)
        try:
            self._validator.validate(event.type, event.body)
        except (UnknownEventTypeError, SchemaViolationError):
            return Projected(logged.position, event, is_valid=False)
        return Projected(logged.position, event, is_valid=True)

    def _advance(self, position: int) -> None:
        with self._progress:
            self._position = position
            self._progress.notify_all()

    def reindex(self, limit: int = BATCH) -> int:
        """Drop every read model and rebuild it from position 0.

        Args:
            limit: Events per batch.

        Returns:
            How many events were projected.
        """
        with self._batch_lock:
            self._readmodels.reset()
            self._advance(0)
        total = 0
        while count := self.run_once(limit):
            total += count
        return total

    def wait_for(self, position: int, timeout: float) -> bool:
        """Block until the log is projected up to ``position``.

        Args:
            position: A log position (e.g. of an event just saved).
            timeout: The most seconds to wait.

        Returns:
            True once projected; False when the timeout passed first.
        """
        with self._progress:
            return self._progress.wait_for(lambda: self._position >= position, timeout)

    async def caught_up(self, position: int, timeout: float) -> bool:  # noqa: ASYNC109
        """Await :meth:`wait_for` without blocking the event loop.

        Args:
            position: A log position.
            timeout: The most seconds to wait.

        Returns:
            True once projected; False when the timeout passed first.
        """
        return await asyncio.to_thread(self.wait_for, position, timeout)

    def start(self) -> None:
        """Start the background thread (once; a second call does nothing)."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, name="tredegar-projector", daemon=True
        )
        self._thread.start()

    def wake(self) -> None:
        """Tell the thread there is news in the log (call after every save)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop the thread; returns once the batch in hand is committed."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        self._wake.set()
        thread.join()

    def _run(self) -> None:
        is_failing = False
        while not self._stopping.is_set():
            self._wake.clear()
            is_failing = self._drain(is_failing=is_failing)
            self._wake.wait(self._poll_seconds)

    def _drain(self, *, is_failing: bool) -> bool:
        """Run batches until none is left; return whether one failed."""
        try:
            while not self._stopping.is_set() and self.run_once():
                pass
        except Exception:
            if not is_failing:
                logger.exception(
                    "projecting after position %d failed; retrying", self._position
                )
            return True
        if is_failing:
            logger.info("projection recovered at position %d", self._position)
        return False


def reindex(store: EventLog, readmodels: ReadModels, validator: BodyValidator) -> int:
    """Rebuild the read models from the whole log (``tredegar reindex``).

    Args:
        store: The feed store.
        readmodels: The read models (not being projected by a running thread).
        validator: Decides which bodies enter typed models.

    Returns:
        How many events were projected.
    """
    return Projector(store, readmodels, validator).reindex()
