"""What the group's own feed last said about its ideas and proposals.

The ideas service compares the support of current members with the latest
``idea.support_counted`` the group published, to know whether to publish
again, and refuses to decide a proposal twice: a ``proposal.decided`` held in
the own feed for it means decided, whoever published it and whenever (so a
restart never decides again). Built by one scan of the own feed the first
time it is asked, then kept in step by the writer's listener.
"""

from __future__ import annotations

from node.services.own_feed import LatestOwn
from node.storage.feeds import FeedStore, Logged
from protocol import FeedId, JsonObject

__all__ = ["COUNTED", "DECIDED", "OwnFeedIdeas"]

COUNTED = "idea.support_counted"
DECIDED = "proposal.decided"


class OwnFeedIdeas:
    """The own feed's latest support counts and decided proposals.

    Thread-safe: the writer thread and the read pool both use it.
    """

    def __init__(self, store: FeedStore, feed: FeedId) -> None:
        """Follow ``feed`` in ``store``."""
        self._counts = LatestOwn(store, feed, COUNTED, _idea)
        self._decided = LatestOwn(store, feed, DECIDED, _proposal)

    def stored(self, logged: list[Logged]) -> None:
        """Note newly stored events of the own feed (the writer's listener)."""
        self._counts.stored(logged)
        self._decided.stored(logged)

    def supporters(self, idea: str) -> int | None:
        """The latest published count of the idea, None when none (blocking)."""
        body = self._counts.get(idea)
        supporters = None if body is None else body.get("supporters")
        return supporters if type(supporters) is int else None

    def is_decided(self, proposal: str) -> bool:
        """Whether the own feed holds a decision of the proposal (blocking)."""
        return self._decided.get(proposal) is not None


def _idea(body: JsonObject) -> str | None:
    idea = body.get("idea")
    return (
        idea if isinstance(idea, str) and type(body.get("supporters")) is int else None
    )


def _proposal(body: JsonObject) -> str | None:
    proposal = body.get("proposal")
    return proposal if isinstance(proposal, str) else None
