"""Ideas, their support, proposals, decisions and tasks of a running node.

Commands: a member proposes an idea (published as ``idea.proposed`` by the
node for them, naming them only when they ask, by their display name) and
supports ideas of the group's own feed; who supports stays private and the
group publishes ``idea.support_counted`` whenever the count of current
members changes (serialised per idea, as RSVP counts are; an erasure counts
again). Organisers create tasks, naming an owner only with the owner's
consent (``named``, which the organiser confirms; otherwise "a member").
Votes and decisions are in :mod:`.ballots`.

Queries read the ideas read model (:mod:`node.projections.idea_queries`)
with blocked feeds left out; a decision's page adds the outcome of the
campaigns launched from it (:mod:`.campaigns`).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from node.errors import CatchingUpError, ForbiddenError, NodeError, NotFoundError
from node.projections import idea_queries
from node.services.ballots import Ballots
from node.services.idea_feed import COUNTED, OwnFeedIdeas
from node.storage.private import TokenGrant
from protocol import Event, JsonObject, JsonValue, SchemaViolationError

if TYPE_CHECKING:
    from node.services.runtime import NodeServices

__all__ = ["Ideas"]

logger = logging.getLogger(__name__)

PROPOSED = "idea.proposed"
TASK_CREATED = "task.created"
_TASK_KEYS = ("title", "text", "due_at", "decision", "campaign", "meeting")


class Ideas:
    """The ideas commands and queries of a running node."""

    def __init__(self, node: NodeServices) -> None:
        """Serve from the node's stores (see :class:`NodeServices`)."""
        self.node = node
        self._own = OwnFeedIdeas(node.store, node.key.feed)
        node.writer.add_listener(self._own.stored)
        #: Votes and decisions.
        self.ballots = Ballots(node, self._own)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        node.private.ideas.add_erasure_listener(self._erased)

    # --- commands -----------------------------------------------------------

    async def propose(
        self,
        grant: TokenGrant,
        title: str,
        text: str | None = None,
        tags: Sequence[str] | None = None,
        *,
        named: bool = False,
    ) -> Event:
        """Publish a member's idea, naming them only when ``named``.

        Args:
            grant: The member proposing (the audit log records who).
            title: The idea in a few words.
            text: The idea in full.
            tags: Topic tags.
            named: Publish the member's display name as the proposer.

        Returns:
            The published ``idea.proposed``.

        Raises:
            SchemaViolationError: The idea fails its schema.
            CatchingUpError: The node cannot publish yet.
        """
        self.begin()
        body: JsonObject = {"title": title}
        if text is not None:
            body["text"] = text
        if tags is not None:
            body["tags"] = list(tags)
        if named:
            member = await self.node.read(
                self.node.private.members.info, grant.account_id
            )
            if member is not None and member.display_name:
                body["proposer_display_name"] = member.display_name[:100]
        return await self.node.publish_on_behalf(grant, PROPOSED, body)

    async def support(
        self, grant: TokenGrant, idea_id: str, supported: bool = True
    ) -> JsonObject:
        """Support an idea of the group (or withdraw the support).

        Returns:
            ``{idea, supporters, supported}``: the count of current members.

        Raises:
            NotFoundError: No such idea in the group's own feed.
            CatchingUpError: The node cannot publish yet; nothing is changed.
        """
        self.begin()
        await self.own_event(idea_id, PROPOSED)
        if self.node.catching_up:
            raise CatchingUpError(
                "this node must sync its own feed from a peer before it can "
                "publish support counts: try again soon"
            )
        async with self._lock(idea_id):
            await self.node.read(
                self.node.private.ideas.support,
                grant.account_id,
                idea_id,
                supported,
                now=self.node.clock(),
            )
            count = await self._settle(grant, idea_id)
        return {"idea": idea_id, "supporters": count, "supported": supported}

    async def create_task(self, grant: TokenGrant, given: dict[str, Any]) -> Event:
        """Publish a task (organisers).

        Args:
            grant: The organiser.
            given: ``{title, text?, due_at?, decision?, campaign?, meeting?,
                owner_account?, named?}``. The owner is named (their display
                name) only with ``owner_account`` and ``named`` true, by
                which the organiser confirms the owner agreed.

        Returns:
            The published ``task.created``.

        Raises:
            ForbiddenError: Not an organiser.
            NotFoundError: ``owner_account`` is not a member here.
            SchemaViolationError: The task fails its schema, or ``named``
                without an owner.
        """
        if grant.role != "organiser":
            raise ForbiddenError("only the group's organisers create tasks")
        body: JsonObject = {k: given[k] for k in _TASK_KEYS if k in given}
        owner, named = given.get("owner_account"), given.get("named", False)
        if named and owner is None:
            raise SchemaViolationError("named needs owner_account", field_path="named")
        if owner is not None:
            name = await self._member_name(owner)
            if named and name:
                body["owner_display_name"] = name[:100]
        return await self.node.publish_on_behalf(grant, TASK_CREATED, body)

    async def own_event(self, event_id: str, event_type: str) -> Event:
        """An event of the group's own feed of a type, valid and not redacted.

        Raises:
            NotFoundError: None such is held.
        """
        node = self.node
        event = await node.read(node.store.get, event_id)
        if (
            event is None
            or event.feed != node.key.feed
            or event.type != event_type
            or event.body is None
        ):
            raise NotFoundError(f"the group holds no {event_type} {event_id[:60]}")
        try:
            node.validator.validate(event_type, event.body)
        except SchemaViolationError:
            raise NotFoundError(f"the group holds no valid {event_type}") from None
        return event

    # --- queries ------------------------------------------------------------

    async def list_ideas(
        self, *, limit: int, after: str | None, **filters: Any
    ) -> JsonObject:
        """Ideas of every feed held (``GET /api/v1/ideas``), newest first.

        Args:
            limit: The page size, brought into 1..200.
            after: The ``next`` of the previous page, or None.
            **filters: ``feed``, ``status`` (open, proposed, decided), ``tag``
                and ``q``, each None to leave it out.

        Returns:
            ``{ideas, next}``.

        Raises:
            InvalidCursorError: A cursor this node did not hand out.
        """
        page = await self._query(
            idea_queries.list_ideas, limit=limit, after=after, **filters
        )
        return {"ideas": page.items, "next": page.next}

    async def get_idea(self, idea_id: str) -> JsonObject:
        """One idea. Raises NotFoundError when not held or blocked."""
        return _found(await self._query(idea_queries.get_idea, idea_id), idea_id)

    async def list_proposals(
        self, *, limit: int, after: str | None, **filters: Any
    ) -> JsonObject:
        """Proposals (``feed``, ``status`` open, closed, decided), newest first.

        Returns:
            ``{proposals, next}``.

        Raises:
            InvalidCursorError: A cursor this node did not hand out.
        """
        page = await self._query(
            idea_queries.list_proposals,
            now=self.node.clock(),
            limit=limit,
            after=after,
            **filters,
        )
        return {"proposals": page.items, "next": page.next}

    async def get_proposal(self, proposal_id: str) -> JsonObject:
        """One proposal with its decision. Raises NotFoundError when not held."""
        found = await self._query(
            idea_queries.get_proposal, proposal_id, now=self.node.clock()
        )
        return _found(found, proposal_id)

    async def list_tasks(
        self, *, limit: int, after: str | None, **filters: Any
    ) -> JsonObject:
        """Tasks (``feed``, ``decision``, ``status`` open or done), newest first.

        Returns:
            ``{tasks, next}``.

        Raises:
            InvalidCursorError: A cursor this node did not hand out.
        """
        page = await self._query(
            idea_queries.list_tasks, limit=limit, after=after, **filters
        )
        return {"tasks": page.items, "next": page.next}

    async def get_decision(self, decision_id: str) -> JsonObject:
        """A decision with its chain: idea → proposal → decision → what followed.

        Returns:
            ``{decision, proposal, idea, tasks, actions, campaigns, progress:
            {tasks_total, tasks_done, actions, outcome}}``; ``outcome`` is
            that of the first campaign launched from it to have one, or None.

        Raises:
            NotFoundError: Not held, redacted or of a blocked feed.
        """
        chain = await self._query(
            idea_queries.get_decision, decision_id, now=self.node.clock()
        )
        if chain is None:
            raise NotFoundError(f"no decision {decision_id} is held here")
        actions: list[JsonValue] = [
            _action(r) for r in chain.refs if r["type"] != LAUNCHED
        ]
        campaigns = [
            await self._campaign(r) for r in chain.refs if r["type"] == LAUNCHED
        ]
        shown = [c for c in campaigns if c is not None]
        outcomes = [c["outcome"] for c in shown if c["outcome"] is not None]
        tasks: list[JsonValue] = list(chain.tasks)
        return {
            "decision": chain.decision,
            "proposal": chain.proposal,
            "idea": chain.idea,
            "tasks": tasks,
            "actions": actions,
            "campaigns": list(shown),
            "progress": {
                "tasks_total": len(chain.tasks),
                "tasks_done": sum(t["status"] == "done" for t in chain.tasks),
                "actions": len(actions),
                "outcome": outcomes[0] if outcomes else None,
            },
        }

    # --- support counts -----------------------------------------------------

    async def _settle(self, grant: TokenGrant | None, idea_id: str) -> int:
        """Publish the idea's count if it differs from the last published.

        Call with the idea's lock held.
        """
        count: int = await self.node.read(self.node.private.ideas.supporters, idea_id)
        last = await self.node.read(self._own.supporters, idea_id)
        if count != (last or 0):
            body: JsonObject = {"idea": idea_id, "supporters": count}
            await self.node.publish_on_behalf(grant, COUNTED, body)
        return count

    def _erased(self, ideas: list[str]) -> None:
        # On the thread that erased: count again on the event loop.
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._start_recount, ideas)

    def _start_recount(self, ideas: list[str]) -> None:
        task = asyncio.create_task(self._recount(ideas))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _recount(self, ideas: list[str]) -> None:
        for idea_id in ideas:
            async with self._lock(idea_id):
                try:
                    await self.own_event(idea_id, PROPOSED)
                    await self._settle(None, idea_id)
                except NodeError as e:
                    logger.warning("could not publish support counts again: %s", e)

    def begin(self) -> None:
        """Learn the event loop (``ballots`` decides only in the leading worker)."""
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        """Stop the background work."""
        await self.ballots.stop()

    def _lock(self, idea_id: str) -> asyncio.Lock:
        lock = self._locks.get(idea_id)
        if lock is None:
            lock = self._locks[idea_id] = asyncio.Lock()
        return lock

    # --- helpers ------------------------------------------------------------

    async def _query(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        node = self.node
        blocked = await node.read(node.store.federation.blocked)
        return await node.read(
            lambda: node.readmodels.query(fn, *args, blocked=blocked, **kwargs)
        )

    async def _member_name(self, owner: str) -> str | None:
        try:
            account = UUID(owner)
        except ValueError:
            raise NotFoundError("owner_account is not a member here") from None
        member = await self.node.read(self.node.private.members.info, account)
        if member is None:
            raise NotFoundError("owner_account is not a member here")
        return member.display_name

    async def _campaign(self, ref: JsonObject) -> JsonObject | None:
        try:
            campaign = await self.node.campaigns.get_campaign(str(ref["id"]))
        except NotFoundError:
            return None
        return {
            "id": campaign["id"],
            "feed": campaign["feed"],
            "title": campaign["title"],
            "status": campaign["status"],
            "outcome": campaign["status"] if campaign["status"] != "live" else None,
        }


LAUNCHED = "campaign.launched"


def _action(ref: JsonObject) -> JsonObject:
    body = ref["body"] if isinstance(ref["body"], dict) else {}
    return {
        "id": ref["id"],
        "feed": ref["feed"],
        "type": ref["type"],
        "title": body.get("title"),
        "starts_at": body.get("starts_at"),
        "campaign": body.get("campaign"),
        "ts": ref["ts"],
    }


def _found(value: JsonObject | None, item_id: str) -> JsonObject:
    if value is None:
        raise NotFoundError(f"nothing with id {item_id[:60]} is held here")
    return value
