"""Leadership: which worker process runs the node's background duties.

A node on PostgreSQL may run as several worker processes
(``tredegar run --workers N``, or N processes behind a proxy;
``docs/operating.md#several-workers``). Every worker answers HTTP, publishes
(the writer re-signs when another worker took the seq, so the own feed stays
gap-free and fork-free), projects the log (a batch another worker applied is
skipped), recounts after erasures it handled and feeds its live pages. What
acts *on its own* runs in one worker only, the leader, chosen by the
:mod:`node.storage.leader` lock:

* the sync loop: pulling from peers, pushing notifies, learning peers,
  catching up the own feed (and the operator's ``--peer`` seeds, added when
  a worker starts to lead);
* deciding closed proposals (:mod:`node.services.ballots`) and closed network
  decisions (:mod:`node.services.delegates`), which publish;
* building the gazetteer index ahead of the first lookup (one build per data
  directory, not one per worker).

**Handing over.** :meth:`Leadership.start` tries for the lock at once, so a
lone worker leads before it serves. Then a background task checks every
``interval`` seconds: a follower tries for the lock (and notices when the
leader has caught the own feed up); the leader waits up to ``interval`` for
messages, then asks the server whether it still holds the lock and, when
not, stops its duties at once. A leader that dies loses its session and so
the lock; another worker takes over within about ``interval`` seconds.

**Messages.** What reaches a follower but concerns the leader is passed on
through the lock's channel: a peer's notify (``hint URL``: the leader pulls
from that peer now) and the follower's own publishes (``stored SEQ``: the
leader tells its peers). A message sent while no worker leads is lost; the
next sync round covers it.

On SQLite the node has one process, which always leads and never checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from prometheus_client import Gauge

from node.errors import NodeError, StorageUnavailableError
from node.storage.federation import OPERATOR
from node.storage.leader import LeaderLock

if TYPE_CHECKING:
    from node.services.runtime import NodeServices
    from node.storage.feeds import Logged

__all__ = ["CHECK_SECONDS", "Leadership"]

logger = logging.getLogger(__name__)

#: Seconds between a worker's checks of the lock (the takeover time).
CHECK_SECONDS = 1.0
#: Seconds the leader waits for a message from another worker at a time.
RECEIVE_SECONDS = 0.2

P = ParamSpec("P")
R = TypeVar("R")


class Leadership:
    """One worker's part in choosing the leader, and the leader's duties."""

    def __init__(
        self, node: NodeServices, lock: LeaderLock, *, interval: float = CHECK_SECONDS
    ) -> None:
        """Take part for ``node`` through ``lock`` (nothing runs until start).

        Args:
            node: The worker's services.
            lock: The node's leader lock.
            interval: Seconds between checks of the lock.
        """
        self.node = node
        self.lock = lock
        self.interval = interval
        self.is_leader = False
        self._seed_peers: tuple[str, ...] = ()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outbox: dict[str, str] = {}
        self._sender: asyncio.Task[None] | None = None
        self._is_failing = False
        self._checked = 0.0
        # Lock calls wait on the server: a thread of their own, never blocked
        # behind the read pool or other work in the default executor.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leader")
        registry = node.metrics.registry
        self.gauge = Gauge(
            "tredegar_leader",
            "1 while this worker leads (syncs and decides on its own), else 0.",
            registry=registry,
        )
        Gauge(
            "tredegar_worker_pid", "Process id of the worker.", registry=registry
        ).set(os.getpid())

    # --- lifecycle -------------------------------------------------------------

    async def start(self, seed_peers: Sequence[str] = ()) -> None:
        """Lead at once if the lock is free, then keep checking in the background.

        Args:
            seed_peers: Peer URLs the operator gave; added when leading starts.
        """
        self._loop = asyncio.get_running_loop()
        self._seed_peers = tuple(seed_peers)
        if await self._attempt():
            await self._lead()
        if self.lock.is_shared:
            self._task = asyncio.create_task(self._run(), name="leadership")

    async def stop(self) -> None:
        """Stop checking, stop the duties if leading, and drop the lock."""
        for task in (self._task, self._sender):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._sender = None
        await self._step_down("the worker is stopping", level=logging.INFO)
        await self._offload(self.lock.close)
        self._thread.shutdown(wait=True)

    async def _run(self) -> None:
        while True:
            try:
                if self.is_leader:
                    await self._check()
                else:
                    await self._contend()
            except Exception:  # the loop must outlive any one failure
                logger.exception("checking the leader lock failed")
                await asyncio.sleep(self.interval)

    async def _contend(self) -> None:
        if await self._attempt():
            await self._lead()
            return
        node = self.node
        if node.catching_up:  # the leader may have caught the own feed up
            with contextlib.suppress(NodeError):  # asked again next time
                node.catching_up = await node.read(node.must_catch_up)
        await asyncio.sleep(self.interval)

    async def _check(self) -> None:
        # Short waits for messages keep a stopping worker from waiting a whole
        # interval for its lock thread; the lock itself is checked once per
        # interval.
        try:
            messages = await self._offload(
                self.lock.receive, min(self.interval, RECEIVE_SECONDS)
            )
        except StorageUnavailableError as error:
            await self._step_down(error.message)
            return
        for message in messages:
            await self._handle(message)
        now = time.monotonic()
        if now - self._checked < self.interval:
            return
        self._checked = now
        if not await self._offload(self.lock.is_held):
            await self._step_down("the leader lock was lost")

    async def _attempt(self) -> bool:
        try:
            is_held: bool = await self._offload(self.lock.try_acquire)
        except StorageUnavailableError as error:
            if not self._is_failing:
                logger.warning("cannot try for the leader lock: %s", error.message)
            self._is_failing = True
            return False
        self._is_failing = False
        return is_held

    # --- the duties ------------------------------------------------------------

    async def _lead(self) -> None:
        node = self.node
        self.is_leader = True
        self.gauge.set(1)
        if self.lock.is_shared:
            logger.info(
                "this worker (pid %d) now leads: it syncs and decides", os.getpid()
            )
        try:
            for url in self._seed_peers:
                await node.read(
                    node.store.federation.add_peer,
                    url,
                    origin=OPERATOR,
                    now=node.clock(),
                )
            await node.federation.start()
            node.ideas.ballots.begin()
            node.delegates.start()
            node.places.prebuild(node.settings.gazetteer_prebuild_seconds)
        except BaseException:
            await self._step_down("starting the duties failed")
            raise

    async def _step_down(self, reason: str, *, level: int = logging.WARNING) -> None:
        """Stop the duties, then release the lock (a lost one is gone already)."""
        if not self.is_leader:
            return
        self.is_leader = False
        self.gauge.set(0)
        if self.lock.is_shared:
            logger.log(
                level, "this worker (pid %d) no longer leads: %s", os.getpid(), reason
            )
        node = self.node
        await node.ideas.ballots.stop()
        await node.delegates.stop()
        await node.places.stop()
        await node.federation.stop()
        with contextlib.suppress(NodeError):
            await self._offload(self.lock.release)

    async def _handle(self, message: str) -> None:
        kind, _, value = message.partition(" ")
        node = self.node
        if kind == "hint":
            await node.federation.hint(value)
        elif kind == "stored" and value.isdigit():
            node.federation.pusher.schedule(node.key.feed, int(value))
        else:
            logger.warning("ignored a message to the leader: %r", message[:80])

    # --- what followers pass on ---------------------------------------------------

    async def hint(self, url: str) -> None:
        """A peer at ``url`` has news: the leader pulls from it soon.

        Args:
            url: The peer's URL, from its notify.
        """
        if self.is_leader or not self.lock.is_shared:
            await self.node.federation.hint(url)
        else:
            self._pass_on(f"hint {url}", f"hint {url}")

    def stored(self, stored: list[Logged]) -> None:
        """Writer listener (writer thread): a follower's publishes reach peers.

        Args:
            stored: The events just committed by this worker.
        """
        loop = self._loop
        if self.is_leader or loop is None or not self.lock.is_shared:
            return
        feed = self.node.key.feed
        own = [item.event.seq for item in stored if item.event.feed == feed]
        if own:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(self._pass_on, "stored", f"stored {max(own)}")

    def _pass_on(self, key: str, message: str) -> None:
        # Only the newest message of each key waits: a burst of publishes
        # sends one "stored", not one per event.
        self._outbox[key] = message
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send(), name="leader-messages")

    async def _send(self) -> None:
        while self._outbox:
            key = next(iter(self._outbox))
            message = self._outbox.pop(key)
            try:
                await self._offload(self.lock.send, message)
            except StorageUnavailableError as error:
                logger.warning("could not tell the leader %r: %s", key, error.message)

    async def _offload(
        self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, lambda: fn(*args, **kwargs))
