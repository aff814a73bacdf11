"""What the group's own feed last published, per subject, for one event type.

Services that publish counts or results (RSVP counts, support counts, pledge
totals, decisions) compare the private state with what the group last said,
to publish only when it changed and never twice. :class:`LatestOwn` holds,
for one event type, the latest body per key (a meeting's occasion, an idea, a
target …): built by one scan of the own feed the first time it is asked, then
kept in step by the writer's listener, which also sees what an organiser
publishes by hand. Thread-safe: the writer thread and the read pool both use
it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from node.storage.feeds import FeedStore, Logged
from protocol import Event, FeedId, JsonObject

__all__ = ["LatestOwn"]

K = TypeVar("K", bound=Hashable)


class LatestOwn(Generic[K]):
    """The own feed's latest body of one event type, per key."""

    def __init__(
        self,
        store: FeedStore,
        feed: FeedId,
        event_type: str,
        key: Callable[[JsonObject], K | None],
    ) -> None:
        """Follow ``event_type`` in ``feed``, keyed by ``key(body)`` (None: skip)."""
        self._store, self._feed = store, feed
        self._type, self._key = event_type, key
        self._lock = threading.Lock()
        self._latest: dict[K, tuple[int, JsonObject]] = {}
        self._scanned = False

    def stored(self, logged: list[Logged]) -> None:
        """Note newly stored events of the own feed (the writer's listener)."""
        with self._lock:
            for item in logged:
                self._note(item.event)

    def get(self, key: K) -> JsonObject | None:
        """The latest published body for ``key``, None when none (blocking)."""
        self._scan()
        with self._lock:
            found = self._latest.get(key)
        return None if found is None else found[1]

    def _scan(self) -> None:
        if self._scanned:
            return
        after = 0
        while events := self._store.read(self._feed, after, 1000):
            with self._lock:
                for event in events:
                    self._note(event)
            after = events[-1].seq
        self._scanned = True

    def _note(self, event: Event) -> None:
        if event.feed != self._feed or event.type != self._type or event.body is None:
            return
        key = self._key(event.body)
        if key is None:
            return
        held = self._latest.get(key)
        if held is None or held[0] < event.seq:
            self._latest[key] = (event.seq, event.body)
