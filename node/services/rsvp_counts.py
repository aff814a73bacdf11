"""The group's latest published RSVP counts, per meeting and occurrence.

The RSVP service compares the counts of current members with what the group
last published (``meeting.attendance_counted`` in its own feed) to know
whether to publish again, and keeps the last ``attended``.
"""

from __future__ import annotations

import threading

from node.storage.feeds import FeedStore, Logged
from node.storage.private import Occasion
from protocol import Event, FeedId, JsonObject

__all__ = ["COUNTED", "PublishedCounts"]

COUNTED = "meeting.attendance_counted"


class PublishedCounts:
    """The own feed's latest counts per occasion, as published.

    Built by one scan of the own feed the first time it is asked, then kept
    in step by the writer's listener (which also sees counts an organiser
    publishes by hand). Thread-safe: the writer thread and the read pool
    both use it.
    """

    def __init__(self, store: FeedStore, feed: FeedId) -> None:
        self._store, self._feed = store, feed
        self._lock = threading.Lock()
        self._latest: dict[Occasion, tuple[int, JsonObject]] = {}
        self._scanned = False

    def stored(self, logged: list[Logged]) -> None:
        """Note newly stored counts of the own feed (the writer's listener)."""
        with self._lock:
            for item in logged:
                self._note(item.event)

    def get(self, occasion: Occasion) -> JsonObject | None:
        """The latest published body for the occasion (blocking)."""
        if not self._scanned:
            after = 0
            while events := self._store.read(self._feed, after, 1000):
                with self._lock:
                    for event in events:
                        self._note(event)
                after = events[-1].seq
            self._scanned = True
        with self._lock:
            found = self._latest.get(occasion)
        return None if found is None else found[1]

    def _note(self, event: Event) -> None:
        if event.feed != self._feed or event.type != COUNTED or event.body is None:
            return
        meeting, occurrence = (
            event.body.get("meeting"),
            event.body.get("occurrence_starts_at"),
        )
        if not isinstance(meeting, str) or not isinstance(occurrence, int | None):
            return
        occasion = (meeting, occurrence)
        held = self._latest.get(occasion)
        if held is None or held[0] < event.seq:
            self._latest[occasion] = (event.seq, event.body)
