"""Pledges: targets and progress (public), members' pledges (private).

Targets and every group's reported totals come from the pledges read model
(:mod:`node.projections.pledges`). Members' pledges stay in private data
(:mod:`node.storage.private.pledges`); what the group publishes is only its
counted totals, ``pledge.totals_reported`` from its own feed, for one target
(possibly another group's). Which conditional pledges count is the rule of
:mod:`.pledge_totals`.

After every change the node counts again and publishes when its counted
totals differ from its latest published report. Changes to one target are
serialised by an asyncio lock, so reports are published in the order the
pledges were stored and the last one published equals the stored state.

Counting again without a member's change, bounded to the targets this
node's members pledged to: when another group's report (or a redaction by
another group) is stored, through sync or otherwise, the writer's listener
marks the target stale and a task on the event loop waits for the read
models to hold it and counts again; an erasure marks its member's targets
stale the same way. Each target is counted at most once per wake-up, and a
report is published only when the totals changed, so two groups' nodes
answering each other's reports settle once neither total moves. If a publish
fails (the node began catching up, say) the target stays stale and is
counted again on the next change.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from typing import TYPE_CHECKING

from node.errors import (
    CatchingUpError,
    ForbiddenError,
    NodeError,
    NotFoundError,
)
from node.projections import pledges
from node.projections.pledges import TargetFilters, TargetRecord
from node.services.pledge_totals import (
    REPORTED,
    PledgeRequest,
    PublishedTotals,
    check_open,
    checked_pledge,
    counted,
    external_pledgers,
    pledge_view,
    target_view,
    totals_body,
)
from node.storage.feeds import Logged
from node.storage.private import HeldPledge, TokenGrant
from protocol import JsonObject, JsonValue

if TYPE_CHECKING:
    from node.services.runtime import NodeServices

__all__ = ["PledgeRequest", "Pledges", "TargetFilters"]

logger = logging.getLogger(__name__)

_PROJECTION_WAIT = 10.0


class Pledges:
    """Pledge targets, members' pledges and the totals a running node publishes."""

    def __init__(self, node: NodeServices) -> None:
        """Serve from the node's stores (see :class:`NodeServices`)."""
        self.node = node
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._published = PublishedTotals(node.store, node.key.feed)
        node.writer.add_listener(self._published.stored)
        node.writer.add_listener(self._stored)
        node.private.pledges.add_erasure_listener(self._erased)
        self._stale: dict[str, int] = {}  # target → log position to wait for
        self._stale_lock = threading.Lock()
        # Targets pledged to here, replaced whole (never changed in place) as
        # the writer thread reads it.
        self._pledged: frozenset[str] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # opened off the loop: learnt on the first call
            self._loop = None

    # --- public --------------------------------------------------------------

    async def list_targets(
        self, filters: TargetFilters, *, limit: int = 50, after: str | None = None
    ) -> JsonObject:
        """List pledge targets, newest first (``GET /api/v1/pledge-targets``).

        Args:
            filters: What to narrow the listing by.
            limit: The page size, brought into 1..200.
            after: The ``next`` of the previous page, or None to start.

        Returns:
            ``{"targets": [...], "next"}``, each as
            :func:`~.pledge_totals.target_view` shapes it.

        Raises:
            InvalidCursorError: ``after`` is not a cursor this node handed out.
        """
        node = self.node
        blocked = await node.read(node.store.federation.blocked)
        page = await node.read(
            node.readmodels.query,
            pledges.list_targets,
            filters,
            now=node.clock(),
            blocked=blocked,
            limit=limit,
            after=after,
        )
        items: list[JsonValue] = [target_view(record) for record in page.items]
        return {"targets": items, "next": page.next}

    async def get_target(self, target_id: str) -> JsonObject:
        """One target with every group's totals and the progress.

        Raises:
            NotFoundError: Not held, redacted, or set by a blocked feed.
        """
        return target_view(await self._target(target_id))

    # --- members -------------------------------------------------------------

    async def pledge(
        self, grant: TokenGrant, target_id: str, request: PledgeRequest
    ) -> JsonObject:
        """Make or change the caller's pledge to a target held here.

        Args:
            grant: The member pledging.
            target_id: The id of the ``pledge.target_set`` (any group's).
            request: The amount of the target's kind and the condition.

        Returns:
            ``{target, pledge, totals}``, as :meth:`mine`.

        Raises:
            SchemaViolationError: No amount of the target's kind, another
                kind's, out of bounds, or a skill the target does not ask for.
            NotFoundError: No such target is held (or it was redacted).
            ConflictError: The target is closed (``closes_at`` came, or
                it was replaced).
            CatchingUpError: The node cannot publish yet; nothing is stored.
        """
        await self.begin()
        record = await self._target(target_id)
        pledge = checked_pledge(record, request)
        check_open(record)
        self._check_publishing()
        async with self._lock(target_id):
            await self.node.read(
                self.node.private.pledges.pledge,
                grant.account_id,
                target_id,
                pledge,
                now=self.node.clock(),
            )
            self._note_pledged(target_id)
            await self._settle(grant, target_id)
        return await self.mine(grant, target_id)

    async def withdraw(self, grant: TokenGrant, target_id: str) -> None:
        """Withdraw the caller's pledge (none held is no error).

        Raises:
            NotFoundError: No such target is held.
            ConflictError: The target is closed.
            CatchingUpError: The node cannot publish yet; nothing is changed.
        """
        await self.begin()
        check_open(await self._target(target_id))
        self._check_publishing()
        async with self._lock(target_id):
            changed = await self.node.read(
                self.node.private.pledges.pledge,
                grant.account_id,
                target_id,
                None,
                now=self.node.clock(),
            )
            if changed:
                await self._settle(grant, target_id)

    async def mine(self, grant: TokenGrant, target_id: str) -> JsonObject:
        """The caller's own pledge to a target, and this node's counted totals.

        Returns:
            ``{target, pledge: {pence, hours, skills, condition, counted, at}
            or None, totals}``; ``totals`` is the report this node publishes.

        Raises:
            NotFoundError: No such target is held.
        """
        await self.begin()
        record = await self._target(target_id)
        held, counts = await self._count(record)
        body = totals_body(record, counts)
        body.pop("target")
        counted_ids = {h.account_id for h in counts}
        for mine in held:
            if mine.account_id == grant.account_id:
                return {
                    "target": target_id,
                    "pledge": pledge_view(mine, mine.account_id in counted_ids),
                    "totals": body,
                }
        return {"target": target_id, "pledge": None, "totals": body}

    async def pledgers(
        self, grant: TokenGrant, target_id: str, *, after: int = 0, limit: int = 100
    ) -> JsonObject:
        """This node's members' pledges with their names (organisers only).

        Names never leave the node except to its organisers.

        Returns:
            ``{pledges: [{name, pence, hours, skills, condition, counted,
            at}], totals, next}``, oldest pledge first; ``next`` is the
            ``after`` of the next page, or None.

        Raises:
            ForbiddenError: Not an organiser.
            NotFoundError: No such target is held.
        """
        if grant.role != "organiser":
            raise ForbiddenError("only the group's organisers may do this")
        await self.begin()
        record = await self._target(target_id)
        named = await self.node.read(self.node.private.pledges.named, target_id)
        external = external_pledgers(record, self.node.key.feed)
        counts = counted(named, external)
        counted_ids = {h.account_id for h in counts}
        body = totals_body(record, counts)
        body.pop("target")
        page = named[after : after + limit]
        return {
            "pledges": [
                {"name": h.display_name, **pledge_view(h, h.account_id in counted_ids)}
                for h in page
            ],
            "totals": body,
            "next": after + limit if after + limit < len(named) else None,
        }

    # --- counting and publishing -------------------------------------------

    async def _count(
        self, record: TargetRecord
    ) -> tuple[list[HeldPledge], list[HeldPledge]]:
        held = await self.node.read(self.node.private.pledges.held, record.target["id"])
        return held, counted(held, external_pledgers(record, self.node.key.feed))

    async def _settle(self, grant: TokenGrant | None, target_id: str) -> None:
        """Publish the target's totals if they differ from the last published.

        Call with the target's lock held.
        """
        try:
            record = await self._target(target_id)
        except NotFoundError:
            return  # redacted or blocked since: nothing to report towards
        _, counts = await self._count(record)
        body = totals_body(record, counts)
        last = await self.node.read(self._published.get, target_id)
        if body == (last or totals_body(record, [])):
            return
        try:
            await self.node.publish_on_behalf(grant, REPORTED, body)
        except NodeError:
            with self._stale_lock:
                self._stale[target_id] = 0
            raise

    def _stored(self, logged: list[Logged]) -> None:
        # On the writer thread: other groups' reports change who counts here.
        own = self.node.key.feed
        found: dict[str, int] = {}
        for item in logged:
            event = item.event
            if event.feed == own or event.body is None:
                continue
            if event.type == REPORTED and isinstance(event.body.get("target"), str):
                found[str(event.body["target"])] = item.position
            elif event.type == "event.redacted":  # maybe a report: recount all
                found.update(dict.fromkeys(self._pledged or (), item.position))
        pledged = self._pledged
        wanted = {t: p for t, p in found.items() if pledged is None or t in pledged}
        if wanted:
            self._mark_stale(wanted)

    def _erased(self, targets: list[str]) -> None:
        # On the thread that erased.
        self._mark_stale(dict.fromkeys(targets, 0))

    def _mark_stale(self, targets: dict[str, int]) -> None:
        with self._stale_lock:
            for target, position in targets.items():
                self._stale[target] = max(position, self._stale.get(target, 0))
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._start_recount)

    def _start_recount(self) -> None:
        if self.node.catching_up:
            return
        with self._stale_lock:
            stale, self._stale = self._stale, {}
        if stale:
            task = asyncio.create_task(self._recount(stale))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _recount(self, stale: dict[str, int]) -> None:
        await self.node.projector.caught_up(max(stale.values()), _PROJECTION_WAIT)
        if self._pledged is None:
            held = await self.node.read(self.node.private.pledges.targets)
            self._pledged = frozenset(held) | (self._pledged or frozenset())
        pledged = self._pledged
        for target in sorted(stale):
            if target not in pledged:
                continue
            async with self._lock(target):
                try:
                    await self._settle(None, target)
                except NodeError as e:
                    logger.warning("could not publish pledge totals again: %s", e)

    async def recount(self) -> None:
        """Count every stale target again now (and wait for it)."""
        self._start_recount()
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def begin(self) -> None:
        """Learn the event loop (for listeners on other threads); recount stale."""
        self._loop = asyncio.get_running_loop()
        if self._stale:
            self._start_recount()

    def _note_pledged(self, target_id: str) -> None:
        if self._pledged is not None:
            self._pledged = self._pledged | {target_id}

    def _lock(self, target_id: str) -> asyncio.Lock:
        lock = self._locks.get(target_id)
        if lock is None:
            lock = self._locks[target_id] = asyncio.Lock()
        return lock

    def _check_publishing(self) -> None:
        if self.node.catching_up:
            raise CatchingUpError(
                "this node must sync its own feed from a peer before it can "
                "publish pledge totals: try again soon"
            )

    async def _target(self, target_id: str) -> TargetRecord:
        node = self.node
        for attempt in range(2):
            blocked = await node.read(node.store.federation.blocked)
            found = await node.read(
                node.readmodels.query,
                pledges.get_target,
                target_id,
                now=node.clock(),
                blocked=blocked,
            )
            if found is not None:
                return found
            if attempt == 0 and not await node.settled():
                break
        raise NotFoundError(f"no pledge target {target_id} is held here")
