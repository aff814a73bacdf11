"""The sync loop: pull what peers have, push hints, learn peers, catch forks.

Design (``docs/protocol.md#pulling``):

* **Rounds.** Every ``sync_interval`` seconds, and at once for a peer that
  sent a notify, the node asks each due peer for its heads *since the cursor
  that peer gave it last time*, so two peers in agreement spend one small
  request. For every feed where the peer is ahead, it pulls pages after its
  own head, verifies each event (signature and body hash, off the event loop)
  and its place in the chain, and hands the good ones to the writer. The
  cursor is kept only when every such feed was pulled to the peer's head, so a
  failed round is simply repeated; a restarted node resumes from the stored
  cursor instead of starting again.
* **Bad peers.** The first bad event of a page stops that feed for that peer:
  the good events before it are kept, the refusal is counted against the peer
  by reason, and every other feed and peer carries on. A peer that cannot be
  reached, or answers junk, backs off exponentially with jitter (the circuit
  is open until its next attempt; then it is tried again). Learned peers that
  stay dead are forgotten; the operator's are kept.
* **Forks.** Two validly signed events for one (feed, seq) are kept as a
  proof, the feed freezes before that seq, and the proof is served and pulled
  by peers so the whole network learns.
* **Pushing.** After every commit the node notifies its peers (debounced);
  a notify only makes the receiver pull from the sender sooner.
* **Finding peers.** The node announces its own URL to each peer it contacts
  first, and learns the peers of its peers (bounded, and never into private
  address ranges unless its own URL is in one; see ``addresses``).
* **Catching up.** A node that must catch up its own feed (after a restore)
  leaves that state after a round in which a peer answered and none was ahead
  of it on its own feed.

:meth:`Federation.run_once` is one round, for tests to step; ``start`` runs
rounds from a task and ``stop`` cancels and awaits it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import aiohttp

from node.federation.addresses import may_dial
from node.federation.push import Pusher
from node.federation.transport import PeerUnavailableError, Transport
from node.storage.federation import LEARNED, PeerState
from node.storage.feeds import SqliteFeedStore
from node.storage.writer import Writer
from protocol import (
    Event,
    FeedId,
    ForkError,
    ForkProof,
    MalformedError,
    ProtocolError,
    SeqGapError,
    TooLargeError,
    verify,
    verify_link,
)

__all__ = ["Federation", "SyncOptions"]


class _AlreadyHeld(Exception):
    """The event is already stored (from another peer): skip it."""


logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")
Offload = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class SyncOptions:
    """How the node syncs (from the settings)."""

    own_url: str
    interval: float = 5.0
    concurrency: int = 8
    page_limit: int = 1000
    max_feeds: int = 10_000
    max_feed_bytes: int = 256 * 1024 * 1024
    notify: bool = True
    notify_delay: float = 0.02
    exchange_every: int = 6
    max_learned_peers: int = 64
    forget_after: int = 20
    backoff_max: float = 300.0
    allow_private: bool = False
    timeout: float = 10.0
    feeds_at_once: int = 4


class _Room:
    """How many more feeds the node may start replicating in this round.

    Counted once per round, when the first new feed turns up, instead of
    reading every head per new feed; a slot is taken before the pull, so
    concurrent pulls cannot overshoot the limit.
    """

    def __init__(self, limit: int, held: Callable[[], Awaitable[int]]) -> None:
        self._limit = limit
        self._held = held
        self._left: int | None = None
        self._lock = asyncio.Lock()

    async def take(self) -> bool:
        async with self._lock:
            if self._left is None:
                self._left = self._limit - await self._held()
            if self._left <= 0:
                return False
            self._left -= 1
            return True


@dataclass(slots=True)
class PeerRound:
    """What one round with one peer did."""

    url: str
    is_ok: bool = False
    pulled: int = 0
    is_complete: bool = True
    is_ahead_on_own_feed: bool = False
    refusal: ProtocolError | None = None


class Federation:
    """The node's side of the network: one instance per running node."""

    def __init__(
        self,
        *,
        store: SqliteFeedStore,
        writer: Writer,
        own_feed: FeedId,
        options: SyncOptions,
        metrics: Any,
        clock: Callable[[], int],
        offload: Offload,
        on_caught_up: Callable[[], None],
        is_catching_up: Callable[[], bool],
    ) -> None:
        """Wire the loop to the node's store, writer and clock."""
        self.store = store
        self.state = store.federation
        self.writer = writer
        self.own_feed = own_feed
        self.options = options
        self.metrics = metrics
        self.clock = clock
        self.offload = offload
        self._on_caught_up = on_caught_up
        self._is_catching_up = is_catching_up
        self._session: aiohttp.ClientSession | None = None
        self.transport: Transport | None = None
        self._task: asyncio.Task[None] | None = None
        self._is_listening = False
        self._wake = asyncio.Event()
        self._urgent: set[str] = set()
        self.pusher = Pusher(
            store=store,
            own_feed=own_feed,
            own_url=options.own_url,
            delay=options.notify_delay,
            is_enabled=options.notify,
            transport=self._transport,
            offload=offload,
            clock=clock,
        )
        self._rounds = 0
        self._in_flight: set[str] = set()
        self._again: set[str] = set()
        self._round_tasks: set[asyncio.Task[PeerRound]] = set()
        self._gate = asyncio.Semaphore(options.concurrency)
        self._up: dict[str, bool] = {}
        #: The head of our own feed each peer last reported (for catching up).
        self._own_seq_seen: dict[str, int] = {}

    # --- lifecycle -------------------------------------------------------

    async def start(self) -> None:
        """Open the client session and start the loop."""
        self.pusher.start()
        self._session = aiohttp.ClientSession()
        self.transport = Transport(self._session, timeout=self.options.timeout)
        if not self._is_listening:  # started again after a stop: listen once
            self.writer.add_listener(self.pusher.stored)
            self._is_listening = True
        self._wake.set()  # the first round at once: announce ourselves, catch up
        self._task = asyncio.create_task(self._run(), name="sync")

    async def stop(self) -> None:
        """Cancel the loop and pending pushes, then close the session."""
        self.pusher.stop()
        for task in (self._task, self.pusher.task, *self._round_tasks):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._session is not None:
            await self._session.close()
        self._task = self._session = None

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.options.interval)
                urgent, self._urgent = self._urgent, set()
            except TimeoutError:
                urgent = set()
            self._wake.clear()
            try:
                # Peers are synced by tasks of their own: a slow peer holds up
                # only itself, and the next round starts on time for the rest.
                await self._launch(only=urgent or None)
            except Exception:
                logger.exception("a sync round failed")

    # --- hints -----------------------------------------------------------

    async def hint(self, url: str) -> None:
        """A peer at ``url`` says it has new events: pull from it soon."""
        known = await self.offload(self.state.peer, url)
        if known is None and not await self.learn(url):
            return
        self._urgent.add(url)
        self._wake.set()

    async def learn(self, url: str) -> bool:
        """Remember a peer learned from the network, if the rules allow it."""
        if url == self.options.own_url:
            return False
        if url in await self.offload(self.state.blocked):
            return False
        if (
            await self.offload(self.state.count_learned)
            >= self.options.max_learned_peers
        ):
            return False
        if not await may_dial(
            url, own_url=self.options.own_url, allow_private=self.options.allow_private
        ):
            logger.info("not dialling learned peer %s: private address", url)
            return False
        return bool(
            await self.offload(
                self.state.add_peer, url, origin=LEARNED, now=self.clock()
            )
        )

    def wake(self) -> None:
        """Run a round now (e.g. after ``peers add``)."""
        self._wake.set()

    # --- rounds ----------------------------------------------------------

    async def run_once(self, only: set[str] | None = None) -> list[PeerRound]:
        """One round with every due peer (or only the given ones), awaited."""
        tasks = await self._launch(only)
        return list(await asyncio.gather(*tasks))

    async def _launch(self, only: set[str] | None) -> list[asyncio.Task[PeerRound]]:
        """Start a round with every due peer that has none in flight."""
        now = self.clock()
        blocked = await self.offload(self.state.blocked)
        peers: list[PeerState] = await self.offload(self.state.peers)
        # A notify for a peer whose round is under way is kept for after it.
        self._again.update((only or set()) & self._in_flight)
        due = [
            p
            for p in peers
            if p.url not in blocked
            and p.url != self.options.own_url
            and p.url not in self._in_flight
            and (p.url in (only or ()) or (only is None and p.next_attempt <= now))
        ]
        self._rounds += 1
        tasks = []
        for peer in due:
            self._in_flight.add(peer.url)
            task = asyncio.create_task(self._guarded_round(peer, blocked))
            self._round_tasks.add(task)
            task.add_done_callback(self._round_tasks.discard)
            tasks.append(task)
        return tasks

    async def _guarded_round(
        self, peer: PeerState, blocked: frozenset[str]
    ) -> PeerRound:
        try:
            async with self._gate:
                result = await self._round_with(peer, blocked)
        finally:
            self._in_flight.discard(peer.url)
            if peer.url in self._again:
                self._again.discard(peer.url)
                self._urgent.add(peer.url)
                self._wake.set()
        self._up[peer.url] = result.is_ok
        self.metrics.peers_up.set(sum(self._up.values()))
        self.metrics.peers_down.set(len(self._up) - sum(self._up.values()))
        await self._check_caught_up(result)
        return result

    async def _check_caught_up(self, result: PeerRound) -> None:
        """Leave catching-up once a peer answered and no peer is ahead of us.

        Every peer's last word on the own feed counts, not only this round's,
        so an early answer from a peer that is behind cannot end it alone.
        """
        if not (self._is_catching_up() and result.is_ok and result.is_complete):
            return
        head = await self.offload(self.store.head, self.own_feed)
        ours = head.seq if head else 0
        if max(self._own_seq_seen.values(), default=0) <= ours:
            logger.info("own feed caught up from peers: publishing again")
            self._on_caught_up()

    async def _round_with(self, peer: PeerState, blocked: frozenset[str]) -> PeerRound:
        result = PeerRound(peer.url)
        transport = self._transport()
        try:
            await self.pusher.announce(peer.url)
            heads = await transport.heads(peer.url, peer.cursor)
            if self.own_feed in heads.heads:
                self._own_seq_seen[peer.url] = heads.heads[self.own_feed]
            wanted = [(f, s) for f, s in heads.heads.items() if f not in blocked]
            await self._pull_all(peer.url, wanted, result)
            identity = None
            if (
                self._rounds % self.options.exchange_every == 0
                or peer.last_seen is None
            ):
                identity = await self._exchange(peer, blocked)
            if result.refusal is not None:
                # It served something bad: back off, as from a dead peer.
                await self._failed(peer, result.refusal, is_counted=True)
                return result
            cursor = heads.cursor if result.is_complete else None
            await self.offload(
                self.state.peer_succeeded,
                peer.url,
                now=self.clock(),
                cursor=cursor,
                feed=identity,
            )
            result.is_ok = True
        except (PeerUnavailableError, ProtocolError) as error:
            await self._failed(peer, error)
        return result

    async def _pull_all(
        self, url: str, wanted: Sequence[tuple[FeedId, int]], result: PeerRound
    ) -> None:
        """Pull every feed the peer is ahead on, a few feeds at a time.

        Several feeds in flight keep the stages busy together: one feed's page
        is fetched while another's is verified on a pool thread (verification
        releases the GIL, so both cores verify) and a third's is stored. The
        first failure that ends the round (the peer is unavailable or broke
        the protocol) cancels the other pulls and is raised.
        """
        if not wanted:
            return

        async def held() -> int:
            return len(await self.offload(self.store.heads))

        room = _Room(self.options.max_feeds, held)
        queue = iter(wanted)

        async def worker() -> None:
            for feed, seq in queue:  # the workers share the queue
                await self._pull_if_behind(url, feed, seq, result, room)

        workers = [
            asyncio.create_task(worker())
            for _ in range(min(self.options.feeds_at_once, len(wanted)))
        ]
        try:
            await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for task in workers:
                task.cancel()
            outcomes = await asyncio.gather(*workers, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                raise outcome

    async def _pull_if_behind(
        self, url: str, feed: FeedId, their_seq: int, result: PeerRound, room: _Room
    ) -> None:
        head = await self.offload(self.store.head, feed)
        ours = head.seq if head else 0
        if their_seq <= ours:
            return
        if feed == self.own_feed:
            result.is_ahead_on_own_feed = True
        if head is None and not await room.take():
            return
        is_complete = await self._pull_feed(url, feed, their_seq, ours, result)
        result.is_complete = result.is_complete and is_complete
        now_held = await self.offload(self.store.head, feed)
        self.metrics.feed_lag.labels(feed).set(
            max(0, their_seq - (now_held.seq if now_held else 0))
        )
        if is_complete and feed == self.own_feed:
            result.is_ahead_on_own_feed = False

    async def _pull_feed(
        self, url: str, feed: FeedId, their_seq: int, after: int, result: PeerRound
    ) -> bool:
        transport = self._transport()
        held_bytes = await self.offload(self.store.feed_bytes, feed)
        while after < their_seq:
            if held_bytes > self.options.max_feed_bytes:
                logger.warning("feed %s is over the replication limit", feed)
                return False
            page = await transport.feed_page(url, feed, after, self.options.page_limit)
            held_bytes += sum(len(e.header_bytes) + e.body_size for e in page.events)
            good, error = await self.offload(self._check_page, feed, after, page.events)
            if error is None and page.error is not None:
                error = page.error  # a line that did not even decode
            if error is None and not page.events and page.is_cut:
                error = TooLargeError("a page over the size limit without one event")
            if good:
                try:
                    stored = await self.writer.append_verified(good)
                except ForkError:
                    error = await self._fork_at(good)
                    stored = []
                self.metrics.pulled.labels(url).inc(len(stored))
                after = good[-1].seq
            if error is not None:
                self._refused(url, error)
                is_fork = error.code == "fork" or (
                    error.code == "prev-mismatch"
                    and await self._prove_divergence(url, feed)
                )
                if not is_fork:
                    # A peer holding the other side of a fork may be honest (it
                    # relays what it was given first): count it, never back off.
                    result.refusal = error
                return False
            if not good:
                return False  # the peer claimed more than it served
        return True

    def _check_page(
        self, feed: FeedId, after: int, events: Sequence[Event]
    ) -> tuple[list[Event], ProtocolError | None]:
        """Verify a page asked for after ``after`` (on a pool thread).

        Returns the good events up to the first bad one, and its refusal.
        """
        head = self.store.head(feed)
        good: list[Event] = []
        for event in events:
            try:
                self._check_event(feed, after, head, event)
            except _AlreadyHeld:
                continue
            except ProtocolError as error:
                return good, error
            good.append(event)
            head = event
            after = event.seq
        return good, None

    def _check_event(
        self, feed: FeedId, after: int, head: Event | None, event: Event
    ) -> None:
        if event.feed != feed:
            raise MalformedError("a page holds an event of another feed")
        if event.seq <= after:
            raise SeqGapError(f"seq {event.seq} served after {after}: a replay")
        verify(event)
        if head is not None and event.seq <= head.seq:
            # Stored meanwhile from another peer: the same event, or a fork.
            held = self.store.event_at(feed, event.seq)
            if held is not None and held.id != event.id:
                self._keep_fork(held, event)
                raise ForkError(f"fork at seq {event.seq}", event_id=event.id)
            raise _AlreadyHeld
        verify_link(head, event)

    def _keep_fork(self, held: Event, received: Event) -> None:
        try:
            ForkProof.of(held, received)
        except ProtocolError:
            return
        if self.store.record_fork(held, received, now=self.clock()):
            logger.warning("fork: %s seq %d has two signed events", held.feed, held.seq)
            self.metrics.forks.inc()

    async def _prove_divergence(self, url: str, feed: FeedId) -> bool:
        """Fetch the peer's event at our head's seq, after a prev-mismatch.

        The peer's next event names another event at our head's seq; two
        validly signed events there are a fork proof.

        Returns:
            True when the peer holds the other side of a fork.
        """
        head = await self.offload(self.store.head, feed)
        if head is None:
            return False
        page = await self._transport().feed_page(url, feed, head.seq - 1, 1)
        theirs = [e for e in page.events if e.seq == head.seq and e.id != head.id]
        if not theirs:
            return False
        held = await self.offload(self.store.event_at, feed, head.seq)
        try:
            await self.offload(verify, theirs[0])
        except ProtocolError:
            return False
        await self.offload(self._keep_fork, held or head, theirs[0])
        return True

    async def _fork_at(self, events: list[Event]) -> ProtocolError:
        for event in events:
            held = await self.offload(self.store.event_at, event.feed, event.seq)
            if held is not None and held.id != event.id:
                await self.offload(self._keep_fork, held, event)
                break
        return ForkError("a second event for a seq already held")

    async def _exchange(
        self, peer: PeerState, blocked: frozenset[str]
    ) -> FeedId | None:
        transport, url = self._transport(), peer.url
        feed = None if peer.feed else await self._identify(url)
        peers = await transport.peers(url)
        for entry in peers.peers:
            if entry.url not in blocked and await self.learn(entry.url):
                logger.info("learned peer %s from %s", entry.url, url)
        forks = await transport.forks(url)
        for proof in forks.forks:
            await self.offload(self._keep_fork, proof.first, proof.second)
        return feed

    async def _identify(self, url: str) -> FeedId | None:
        # Which group a peer is, for the peers list (docs/protocol.md#info):
        # its info must sign our fresh challenge. A peer that cannot say is
        # still pulled from; it is asked again at the next exchange.
        try:
            info = await self._transport().info(url, secrets.token_urlsafe(24))
        except (PeerUnavailableError, ProtocolError) as error:
            logger.info("peer %s did not say who it is: %s", url, error)
            return None
        return info.feed

    async def _failed(
        self, peer: PeerState, error: Exception, *, is_counted: bool = False
    ) -> None:
        failures = peer.failures + 1
        delay = min(
            self.options.interval * 2 ** min(failures - 1, 16), self.options.backoff_max
        )
        delay *= 0.5 + random.random()  # noqa: S311 - jitter, not secrets
        message = getattr(error, "message", str(error))
        await self.offload(
            self.state.peer_failed,
            peer.url,
            error=message,
            next_attempt=self.clock() + int(delay * 1000),
        )
        if isinstance(error, ProtocolError) and not is_counted:
            self._refused(peer.url, error)
        if peer.origin == LEARNED and failures >= self.options.forget_after:
            logger.info("forgetting peer %s after %d failures", peer.url, failures)
            await self.offload(self.state.remove_peer, peer.url)

    def _refused(self, url: str, error: ProtocolError) -> None:
        logger.warning("refused from %s: %s: %s", url, error.code, error.message)
        self.metrics.refused.labels(url, error.code).inc()

    def _transport(self) -> Transport:
        if self.transport is None:
            raise PeerUnavailableError("federation is not started")
        return self.transport
