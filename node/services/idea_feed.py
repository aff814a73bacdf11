"""What the group's own feed last said about its ideas and proposals.

The ideas service compares the support of current members with the latest
``idea.support_counted`` the group published, to know whether to publish
again, and refuses to decide a proposal twice: a ``proposal.decided`` held in
the own feed for it means decided, whoever published it and whenever (so a
restart never decides again). Built by one scan of the own feed the first
time it is asked, then kept in step by the writer's listener.
"""

from __future__ import annotations

import threading

from node.storage.feeds import FeedStore, Logged
from protocol import Event, FeedId

__all__ = ["COUNTED", "DECIDED", "OwnFeedIdeas"]

COUNTED = "idea.support_counted"
DECIDED = "proposal.decided"


class OwnFeedIdeas:
    """The own feed's latest support counts and decided proposals.

    Thread-safe: the writer thread and the read pool both use it.
    """

    def __init__(self, store: FeedStore, feed: FeedId) -> None:
        self._store, self._feed = store, feed
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, int]] = {}
        self._decided: set[str] = set()
        self._scanned = False

    def stored(self, logged: list[Logged]) -> None:
        """Note newly stored events of the own feed (the writer's listener)."""
        with self._lock:
            for item in logged:
                self._note(item.event)

    def supporters(self, idea: str) -> int | None:
        """The latest published count of the idea, None when none (blocking)."""
        self._scan()
        with self._lock:
            found = self._counts.get(idea)
        return None if found is None else found[1]

    def is_decided(self, proposal: str) -> bool:
        """Whether the own feed holds a decision of the proposal (blocking)."""
        self._scan()
        with self._lock:
            return proposal in self._decided

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
        if event.feed != self._feed or event.body is None:
            return
        if event.type == COUNTED:
            idea, supporters = event.body.get("idea"), event.body.get("supporters")
            if not isinstance(idea, str) or type(supporters) is not int:
                return
            held = self._counts.get(idea)
            if held is None or held[0] < event.seq:
                self._counts[idea] = (event.seq, supporters)
        elif event.type == DECIDED:
            proposal = event.body.get("proposal")
            if isinstance(proposal, str):
                self._decided.add(proposal)
