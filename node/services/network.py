"""The federation routes' service: what this node tells its peers.

Everything served here is public: signed events of the feeds held (redacted
ones without their body), heads, known peers and fork proofs. Blocked feeds
and peers are neither served nor listed. Private data has no path here.
"""

from __future__ import annotations

import re

from node.errors import NotFoundError
from node.storage.feeds import SqliteFeedStore
from protocol import (
    FeedId,
    Forks,
    Heads,
    MalformedError,
    PeerEntry,
    Peers,
)

__all__ = ["NetworkQueries", "make_cursor", "parse_cursor"]

_CURSOR = re.compile(r"([0-9a-f]{12})\.([0-9]{1,18})")


def make_cursor(epoch: str, position: int) -> str:
    """An opaque heads cursor: this database's epoch and a log position."""
    return f"{epoch}.{position}"


def parse_cursor(text: str, epoch: str, max_position: int) -> int:
    """The position a cursor names, or 0 when it is from another database.

    Raises:
        MalformedError: Not a cursor at all.
    """
    match = _CURSOR.fullmatch(text)
    if match is None:
        raise MalformedError(
            "since is not a cursor this node gave out", field_path="since"
        )
    position = int(match.group(2))
    if match.group(1) != epoch or position > max_position:
        return 0  # foreign or from the future (a restore): start again
    return position


class NetworkQueries:
    """Blocking queries behind ``/fed/v1`` (run them in the read pool)."""

    def __init__(self, store: SqliteFeedStore) -> None:
        """Answer from ``store``."""
        self.store = store
        self.epoch = store.federation.epoch()

    def heads(self, since: str | None) -> Heads:
        """Every head, or the heads changed since a cursor."""
        blocked = self.store.federation.blocked()
        latest = self.store.max_position()
        after = parse_cursor(since, self.epoch, latest) if since else 0
        if after == 0:
            heads = self.store.heads()
        else:
            heads, latest = self.store.heads_since(after)
        shown = {feed: seq for feed, seq in heads.items() if feed not in blocked}
        return Heads(shown, make_cursor(self.epoch, max(latest, after)))

    def feed_lines(self, feed: FeedId, after: int, limit: int) -> list[bytes]:
        """A page of a feed's canonical wire lines.

        Raises:
            NotFoundError: The feed is not held, or is blocked.
        """
        if feed in self.store.federation.blocked() or self.store.head(feed) is None:
            raise NotFoundError(f"no feed {feed} is held here")
        return self.store.read_lines(feed, after, limit)

    def peers(self) -> Peers:
        """Peers that answered at least once, for peer exchange."""
        blocked = self.store.federation.blocked()
        entries = tuple(
            PeerEntry(p.url, FeedId(p.feed) if p.feed else None, p.last_seen)
            for p in self.store.federation.peers()
            if p.last_seen is not None and p.url not in blocked
        )
        return Peers(entries[:1000])

    def forks(self) -> Forks:
        """Every fork proof held."""
        return Forks(tuple(self.store.federation.forks()[:1000]))
