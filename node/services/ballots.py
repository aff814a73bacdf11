"""Votes on the group's proposals, and publishing their decisions.

Votes stay in private data (``node.storage.private.ideas``), one per member
per proposal, changeable or withdrawn until the proposal closes: at its
``closes_at`` by the node's clock, or earlier when an organiser decides it.
Only the members of the proposing group vote, so only proposals of the own
feed take votes. The decision (:mod:`.tally` has the counting rules) is
published as ``proposal.decided`` with counts, never who voted how.

Decisions are published at most once per proposal: the own feed is checked
for a ``proposal.decided`` naming it (:class:`~.idea_feed.OwnFeedIdeas`)
under a per-proposal lock that votes take too, so no vote slips in after
the count. A background task decides every own proposal whose closing time
has passed; because the check reads the feed, a restart never decides twice.
(A decision that is redacted no longer names its proposal, so the task
would decide again: redact the proposal too to drop a decision for good.)
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import TYPE_CHECKING, Any

from node.errors import CatchingUpError, ConflictError, ForbiddenError, NodeError
from node.projections import idea_queries
from node.services.idea_feed import DECIDED, OwnFeedIdeas
from node.services.tally import check_vote, count_votes
from node.storage.private import TokenGrant, Vote
from protocol import Event, JsonObject

if TYPE_CHECKING:
    from node.services.runtime import NodeServices

__all__ = ["OPENED", "Ballots"]

logger = logging.getLogger(__name__)

OPENED = "proposal.opened"
#: Seconds between the background task's looks for closed proposals.
DECIDE_EVERY = 30.0
_DUE_BATCH = 50


class Ballots:
    """Voting on a running node's proposals, and deciding them."""

    def __init__(self, node: NodeServices, own: OwnFeedIdeas) -> None:
        """Serve from the node's stores; ``own`` follows the own feed."""
        self.node = node
        self._own = own
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._task: asyncio.Task[None] | None = None

    async def vote(
        self, grant: TokenGrant, proposal_id: str, vote: dict[str, Any]
    ) -> JsonObject:
        """Cast or change the caller's vote on an open proposal of the group.

        Args:
            grant: The member voting.
            proposal_id: The id of the ``proposal.opened``.
            vote: ``{choice?, ranking?, reason?}`` with JSON types checked.

        Returns:
            ``{proposal, vote: {choice, ranking, reason, at}}``.

        Raises:
            NotFoundError: No such proposal in the group's own feed.
            ConflictError: Voting has closed, or the proposal is decided.
            SchemaViolationError: A choice or ranking the proposal does not take.
        """
        body = await self._opened(proposal_id)
        check_vote(str(body["kind"]), _option_ids(body), vote)
        async with self._lock(proposal_id):
            await self._check_open(proposal_id, body)
            await self.node.read(
                self.node.private.ideas.vote,
                grant.account_id,
                proposal_id,
                {k: v for k, v in vote.items() if v is not None},
                now=self.node.clock(),
            )
        return await self.mine(grant, proposal_id)

    async def mine(self, grant: TokenGrant, proposal_id: str) -> JsonObject:
        """The caller's own vote: ``{proposal, vote}``, ``vote`` None when none.

        Raises:
            NotFoundError: No such proposal in the group's own feed.
        """
        await self._opened(proposal_id)
        held: list[Vote] = await self.node.read(
            self.node.private.ideas.votes_of, grant.account_id, proposal_id
        )
        vote = held[0] if held else None
        return {
            "proposal": proposal_id,
            "vote": None
            if vote is None
            else {
                "choice": vote.choice,
                "ranking": list(vote.ranking) if vote.ranking else None,
                "reason": vote.reason,
                "at": vote.at,
            },
        }

    async def withdraw(self, grant: TokenGrant, proposal_id: str) -> None:
        """Withdraw the caller's vote while voting is open (none is no error).

        Raises:
            NotFoundError: No such proposal in the group's own feed.
            ConflictError: Voting has closed, or the proposal is decided.
        """
        body = await self._opened(proposal_id)
        async with self._lock(proposal_id):
            await self._check_open(proposal_id, body)
            await self.node.read(
                self.node.private.ideas.vote,
                grant.account_id,
                proposal_id,
                None,
                now=self.node.clock(),
            )

    async def counts(self, grant: TokenGrant, proposal_id: str) -> JsonObject:
        """The counts so far (organisers): never who voted how.

        Returns:
            ``{proposal, counts, voters, eligible, result}`` (``result`` None
            when no option leads alone).

        Raises:
            ForbiddenError: Not an organiser.
            NotFoundError: No such proposal in the group's own feed.
        """
        _organiser(grant)
        body = await self._opened(proposal_id)
        tally = await self._tally(proposal_id, body)
        return {"proposal": proposal_id, "result": tally.pop("result", None), **tally}

    async def decide(
        self, grant: TokenGrant, proposal_id: str, text: str | None = None
    ) -> Event:
        """Close a proposal now and publish its decision (organisers).

        Raises:
            ForbiddenError: Not an organiser.
            NotFoundError: No such proposal in the group's own feed.
            ConflictError: It is decided already.
            SchemaViolationError: ``text`` fails the decision's schema.
            CatchingUpError: The node cannot publish yet.
        """
        _organiser(grant)
        body = await self._opened(proposal_id)
        async with self._lock(proposal_id):
            if await self.node.read(self._own.is_decided, proposal_id):
                raise ConflictError("the proposal is decided already")
            return await self._publish(grant, proposal_id, body, text)

    async def decide_due(self) -> list[Event]:
        """Decide every own proposal whose closing time has passed, once.

        Returns:
            The decisions published.
        """
        node = self.node
        if node.catching_up:
            return []
        due = await node.read(
            node.readmodels.query,
            idea_queries.due_proposals,
            node.key.feed,
            node.clock(),
            _DUE_BATCH,
        )
        published = []
        for proposal_id in due:
            try:
                body = await self._opened(proposal_id)
                async with self._lock(proposal_id):
                    if not await node.read(self._own.is_decided, proposal_id):
                        published.append(
                            await self._publish(None, proposal_id, body, None)
                        )
            except NodeError as e:
                logger.warning("could not decide proposal %s: %s", proposal_id, e)
        return published

    def begin(self) -> None:
        """Start the background task that decides closed proposals."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop the background task."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self.decide_due()
            except Exception:  # keep deciding later: log once, here
                logger.exception("deciding closed proposals failed")
            await asyncio.sleep(DECIDE_EVERY)

    async def _publish(
        self,
        grant: TokenGrant | None,
        proposal_id: str,
        body: JsonObject,
        text: str | None,
    ) -> Event:
        decided: JsonObject = {
            "proposal": proposal_id,
            **await self._tally(proposal_id, body),
        }
        if text is not None:
            decided["text"] = text
        return await self.node.publish_on_behalf(grant, DECIDED, decided)

    async def _tally(self, proposal_id: str, body: JsonObject) -> JsonObject:
        ideas = self.node.private.ideas
        votes = await self.node.read(ideas.votes, proposal_id)
        tally = count_votes(str(body["kind"]), _option_ids(body), votes)
        voters = tally["voters"]
        eligible: int = await self.node.read(ideas.eligible)
        tally["eligible"] = max(eligible, voters if isinstance(voters, int) else 0)
        return tally

    async def _opened(self, proposal_id: str) -> JsonObject:
        event = await self.node.ideas.own_event(proposal_id, OPENED)
        return event.body or {}  # own_event answers only events with a body

    async def _check_open(self, proposal_id: str, body: JsonObject) -> None:
        closes_at = body["closes_at"]
        if isinstance(closes_at, int) and self.node.clock() >= closes_at:
            raise ConflictError("voting on this proposal has closed")
        if await self.node.read(self._own.is_decided, proposal_id):
            raise ConflictError("the proposal is decided")
        if self.node.catching_up:
            raise CatchingUpError("this node must sync its own feed first")

    def _lock(self, proposal_id: str) -> asyncio.Lock:
        lock = self._locks.get(proposal_id)
        if lock is None:
            lock = self._locks[proposal_id] = asyncio.Lock()
        return lock


def _option_ids(body: JsonObject) -> list[str]:
    options = body.get("options")
    return [
        str(option["id"])
        for option in (options if isinstance(options, list) else [])
        if isinstance(option, dict)
    ]


def _organiser(grant: TokenGrant) -> None:
    if grant.role != "organiser":
        raise ForbiddenError("only the group's organisers may do this")
