"""The operator's view of the network: peers, blocks, forks and sync lag.

The same storage calls as ``tredegar peers add|list|block|unblock``
(:mod:`node.cli.peers`), for the organisers' peers page, with the running
node around them: adding a peer wakes the sync loop, so the node contacts it
(and announces itself) at once. Peers and blocks are operational state, not
private data; the sync loop reads them every round, so a change takes effect
within one (``docs/protocol.md#pulling``).

Sync lag has two parts. The projector's lag is the log position minus the
position the read models reached. A peer's lag is what its heads say against
ours, known only once asked: :meth:`Peering.sync_lag` asks every peer that is
not blocked for its heads at once, each within a deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from node.errors import ConflictError, ForbiddenError, NodeError, NotFoundError
from node.federation.transport import PeerUnavailableError
from node.storage.federation import OPERATOR
from node.storage.private import TokenGrant
from protocol import (
    JsonObject,
    JsonValue,
    MalformedError,
    ProtocolError,
    parse_feed_id,
    parse_url,
)

if TYPE_CHECKING:
    from node.services.runtime import NodeServices

__all__ = ["PeerLag", "Peering", "block_target"]

#: How long a peer has to answer for its heads, in seconds.
LAG_TIMEOUT = 5.0
#: At most this many peers are asked at once for their heads.
LAG_PEERS = 50


@dataclass(frozen=True, slots=True)
class PeerLag:
    """How a peer's heads compare with ours.

    Attributes:
        url: The peer.
        they_have: Events the peer holds that this node does not (all feeds
            not blocked).
        we_have: Events this node holds that the peer does not.
        feeds_behind: Feeds where the peer is ahead of this node.
        error: Why the peer could not say, or None.
    """

    url: str
    they_have: int = 0
    we_have: int = 0
    feeds_behind: int = 0
    error: str | None = None


def block_target(text: str) -> tuple[str, str]:
    """A block's value and kind: a feed id (``ed25519:…``) or a peer URL.

    Raises:
        MalformedError: Neither.
    """
    if text.startswith("ed25519:"):
        return parse_feed_id(text, field="target"), "feed"
    try:
        return parse_url(text), "peer"
    except MalformedError:
        raise MalformedError(
            "give a feed id (ed25519:…) or a peer's URL (https://…)",
            field_path="target",
        ) from None


def _organiser(grant: TokenGrant) -> None:
    if grant.role != "organiser":
        raise ForbiddenError("only organisers manage the node's peers")


class Peering:
    """The peers, blocks and forks of a running node, for its organisers."""

    def __init__(self, node: NodeServices) -> None:
        """Serve from the node's stores (see :class:`NodeServices`)."""
        self.node = node

    async def overview(self, grant: TokenGrant) -> JsonObject:
        """Every peer's state, the blocks, the forks held and the projector's lag.

        Returns:
            ``{"peers": [{url, feed, origin, state, last_seen, failures,
            last_error, next_attempt}], "blocks": [{value, kind, at}],
            "forks": [{feed, seq, events: [first id, second id]}],
            "projector": {log_position, projected_position, lag}}``.

        Raises:
            ForbiddenError: Not an organiser.
        """
        _organiser(grant)
        node, state = self.node, self.node.store.federation
        peers = await node.read(state.peers)
        blocks = await node.read(state.blocks)
        forks = await node.read(state.forks)
        now = node.clock()
        peer_rows: list[JsonValue] = [
            {
                "url": p.url,
                "feed": p.feed,
                "origin": p.origin,
                "state": _state(p.next_attempt, p.last_seen, now),
                "last_seen": p.last_seen,
                "failures": p.failures,
                "last_error": p.last_error,
                "next_attempt": p.next_attempt or None,
            }
            for p in peers
        ]
        return {
            "peers": peer_rows,
            "blocks": [{"value": b.value, "kind": b.kind, "at": b.at} for b in blocks],
            "forks": [
                {"feed": f.feed, "seq": f.seq, "events": [f.first.id, f.second.id]}
                for f in forks
            ],
            "projector": await self.projector_lag(),
        }

    async def projector_lag(self) -> JsonObject:
        """``{log_position, projected_position, lag}`` of the read models."""
        node = self.node
        log_position = await node.read(node.store.max_position)
        projected = node.projector.position
        return {
            "log_position": log_position,
            "projected_position": projected,
            "lag": max(log_position - projected, 0),
        }

    async def add_peer(self, grant: TokenGrant, url: str) -> bool:
        """Sync with a peer the operator trusts to dial, starting now.

        Returns:
            True when the peer is new.

        Raises:
            ForbiddenError: Not an organiser.
            MalformedError: Not an http(s) URL.
            ConflictError: The node's own URL.
        """
        _organiser(grant)
        peer = parse_url(url, field="url")
        node = self.node
        if peer == node.settings.url.rstrip("/"):
            raise ConflictError("that is this node's own address")
        is_new = await node.read(
            node.store.federation.add_peer, peer, origin=OPERATOR, now=node.clock()
        )
        node.federation.wake()
        return bool(is_new)

    async def block(self, grant: TokenGrant, target: str) -> tuple[str, str]:
        """Block a feed or a peer (kept across restarts).

        Returns:
            The value blocked and its kind (``feed`` or ``peer``).

        Raises:
            ForbiddenError: Not an organiser.
            MalformedError: Neither a feed id nor a URL.
            ConflictError: The group's own feed.
        """
        _organiser(grant)
        value, kind = block_target(target)
        node = self.node
        if value == node.key.feed:
            raise ConflictError("a group cannot block its own feed")
        await node.read(node.store.federation.block, value, kind, now=node.clock())
        return value, kind

    async def unblock(self, grant: TokenGrant, target: str) -> str:
        """Undo a block; every peer is asked for all its heads again.

        Raises:
            ForbiddenError: Not an organiser.
            MalformedError: Neither a feed id nor a URL.
            NotFoundError: It is not blocked.
        """
        _organiser(grant)
        value, _ = block_target(target)
        node = self.node
        if not await node.read(node.store.federation.unblock, value):
            raise NotFoundError(f"{value} is not blocked")
        node.federation.wake()
        return value

    async def sync_lag(self, grant: TokenGrant) -> list[PeerLag]:
        """Ask every peer not blocked for its heads, and compare them with ours.

        Raises:
            ForbiddenError: Not an organiser.
        """
        _organiser(grant)
        node, state = self.node, self.node.store.federation
        blocked = await node.read(state.blocked)
        held = await node.read(node.store.heads)
        ours: dict[str, int] = {str(feed): seq for feed, seq in held.items()}
        peers = [p for p in await node.read(state.peers) if p.url not in blocked]
        asked = [self._lag(p.url, ours, blocked) for p in peers[:LAG_PEERS]]
        return list(await asyncio.gather(*asked))

    async def _lag(
        self, url: str, ours: Mapping[str, int], blocked: frozenset[str]
    ) -> PeerLag:
        transport = self.node.federation.transport
        if transport is None:
            return PeerLag(url, error="the node is not syncing")
        try:
            async with asyncio.timeout(LAG_TIMEOUT):
                heads = await transport.heads(url, None)
        except TimeoutError:
            return PeerLag(url, error="no answer in time")
        except (PeerUnavailableError, ProtocolError, NodeError) as error:
            return PeerLag(url, error=error.message[:300])
        theirs: dict[str, int] = {
            f: s for f, s in heads.heads.items() if f not in blocked
        }
        mine: dict[str, int] = {f: s for f, s in ours.items() if f not in blocked}
        ahead = [
            theirs[f] - mine.get(f, 0) for f in theirs if theirs[f] > mine.get(f, 0)
        ]
        behind = sum(max(s - theirs.get(f, 0), 0) for f, s in mine.items())
        return PeerLag(url, sum(ahead), behind, len(ahead))


def _state(next_attempt: int, last_seen: int | None, now: int) -> str:
    if next_attempt > now:
        return "backing off"
    return "up" if last_seen else "new"
