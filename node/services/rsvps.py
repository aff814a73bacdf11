"""What members do about meetings: RSVPs, agenda items, attendance.

Named RSVPs stay in private data (``node.storage.private.rsvps``); what the
group publishes is only its counts, ``meeting.attendance_counted`` from its
own feed, for one meeting (possibly another group's, held through sync) and
one occurrence of it (DESIGN §3). After every change the counts of current
members are compared with the group's latest published counts for that
occasion and published again when they differ, keeping the last ``attended``.

Changes to one meeting are serialised by an asyncio lock, so counts are
published in the order they were stored and the last one published equals
the stored state. An erasure changes counts too: the private store tells us
which occasions from the thread that erased, and they are counted again on
the event loop. If a publish fails (the node began catching up, say) the
occasion is kept as stale and counted again on the next change.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import weakref
from dataclasses import asdict
from typing import TYPE_CHECKING, TypeVar

from node.errors import (
    CatchingUpError,
    ConflictError,
    ForbiddenError,
    NodeError,
    NotFoundError,
)
from node.services.rsvp_counts import COUNTED, PublishedCounts
from node.storage.private import ANSWERS, NamedRsvp, Occasion, RsvpCounts, TokenGrant
from protocol import Event, JsonObject, JsonValue, SchemaViolationError

if TYPE_CHECKING:
    from node.services.runtime import NodeServices

__all__ = ["AGENDA_ADDED", "COUNTED", "Rsvps"]

logger = logging.getLogger(__name__)

AGENDA_ADDED = "meeting.agenda_item_added"
SCHEDULED = "meeting.scheduled"
_MEETING_ID = re.compile(r"sha256:[A-Za-z0-9_-]{43}")
_MAX_TIME = 2**53 - 1
_MAX_COUNT = 100_000_000
T = TypeVar("T")


class Rsvps:
    """RSVPs, agenda items and attendance of a running node's members."""

    def __init__(self, node: NodeServices) -> None:
        """Serve from the node's stores (see :class:`NodeServices`)."""
        self.node = node
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._published = PublishedCounts(node.store, node.key.feed)
        node.writer.add_listener(self._published.stored)
        node.private.rsvps.add_erasure_listener(self._erased)
        self._stale: set[Occasion] = set()
        self._stale_lock = threading.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # opened off the loop: learnt on the first call
            self._loop = None

    async def rsvp(
        self,
        grant: TokenGrant,
        meeting_id: str,
        answer: str,
        occurrence_starts_at: int | None,
    ) -> JsonObject:
        """Answer yes, maybe or no to a meeting held here (or one occurrence).

        Args:
            grant: The member answering.
            meeting_id: The id of the ``meeting.scheduled`` event.
            answer: "yes", "maybe" or "no".
            occurrence_starts_at: An occurrence's original start (ms), or None.

        Returns:
            ``{meeting, occurrence_starts_at, answer, counts: {yes, maybe, no}}``.

        Raises:
            SchemaViolationError: A bad answer or occurrence.
            NotFoundError: No such meeting is held (or it was redacted).
            ConflictError: The meeting, or that occurrence, is cancelled.
            CatchingUpError: The node cannot publish yet; nothing is stored.
        """
        await self.begin()
        if answer not in ANSWERS:
            raise SchemaViolationError(
                "answer is yes, maybe or no", field_path="answer"
            )
        occasion = (meeting_id, _occurrence(occurrence_starts_at))
        await self._held(meeting_id)
        await self._check_open(meeting_id, occurrence_starts_at)
        self._check_publishing()
        async with self._lock(meeting_id):
            await self.node.read(
                self.node.private.rsvps.answer,
                grant.account_id,
                occasion,
                answer,
                now=self.node.clock(),
            )
            counts = await self._settle(grant, occasion)
        return {
            "meeting": meeting_id,
            "occurrence_starts_at": occurrence_starts_at,
            "answer": answer,
            "counts": asdict(counts),
        }

    async def withdraw(
        self, grant: TokenGrant, meeting_id: str, occurrence: int | None
    ) -> None:
        """Withdraw the caller's answer (none held is no error).

        Counts are published again only while the meeting is held.

        Raises:
            NotFoundError: Not a meeting id.
            SchemaViolationError: A negative occurrence.
            CatchingUpError: The node cannot publish yet; nothing is changed.
        """
        await self.begin()
        occasion = (_meeting_id(meeting_id), _occurrence(occurrence))
        self._check_publishing()
        async with self._lock(meeting_id):
            changed = await self.node.read(
                self.node.private.rsvps.answer,
                grant.account_id,
                occasion,
                None,
                now=self.node.clock(),
            )
            if changed and await self._is_held(meeting_id):
                await self._settle(grant, occasion)

    async def mine(
        self, grant: TokenGrant, meeting_id: str, *, after: int = 0, limit: int = 100
    ) -> JsonObject:
        """The caller's own answers to a meeting, in order of occurrence.

        Returns:
            ``{rsvps: [{occurrence_starts_at, answer}], next}``; ``next`` is
            the ``after`` of the next page, or None.

        Raises:
            NotFoundError: Not a meeting id.
        """
        await self.begin()
        held = await self.node.read(
            self.node.private.rsvps.of, grant.account_id, _meeting_id(meeting_id)
        )
        page, cursor = _page(held, after, limit)
        rsvps: list[JsonValue] = [
            {"occurrence_starts_at": r.occurrence_starts_at, "answer": r.answer}
            for r in page
        ]
        return {"rsvps": rsvps, "next": cursor}

    async def names(
        self, grant: TokenGrant, meeting_id: str, *, after: int = 0, limit: int = 100
    ) -> JsonObject:
        """Who of this node's members answered what (organisers only).

        Names never leave the node except to its organisers.

        Returns:
            ``{rsvps: [{name, answer, occurrence_starts_at}], counts:
            [{occurrence_starts_at, yes, maybe, no}], next}``: a page of
            names, and the counts of every occurrence.

        Raises:
            ForbiddenError: Not an organiser.
            NotFoundError: Not a meeting id.
        """
        _organiser(grant)
        await self.begin()
        named: list[NamedRsvp] = await self.node.read(
            self.node.private.rsvps.named, _meeting_id(meeting_id)
        )
        page, cursor = _page(named, after, limit)
        return {
            "rsvps": [
                {
                    "name": r.display_name,
                    "answer": r.answer,
                    "occurrence_starts_at": r.occurrence_starts_at,
                }
                for r in page
            ],
            "counts": _tallies(named),
            "next": cursor,
        }

    async def record_attendance(
        self,
        grant: TokenGrant,
        meeting_id: str,
        occurrence: int | None,
        attended: int,
    ) -> Event:
        """Publish the counts with how many members came (organisers only).

        Raises:
            ForbiddenError: Not an organiser.
            SchemaViolationError: A bad ``attended`` or occurrence.
            NotFoundError: No such meeting is held.
            CatchingUpError: The node cannot publish yet.
        """
        await self.begin()
        _organiser(grant)
        if not 0 <= attended <= _MAX_COUNT:
            raise SchemaViolationError(
                f"attended is from 0 to {_MAX_COUNT}", field_path="attended"
            )
        occasion = (meeting_id, _occurrence(occurrence))
        await self._held(meeting_id)
        self._check_publishing()
        async with self._lock(meeting_id):
            counts = await self.node.read(self.node.private.rsvps.counts, occasion)
            body = _counted(occasion, counts)
            body["attended"] = attended
            return await self.node.publish_on_behalf(grant, COUNTED, body)

    async def add_agenda_item(
        self,
        grant: TokenGrant,
        meeting_id: str,
        title: str,
        text: str | None,
        duration_minutes: int | None,
        occurrence: int | None,
    ) -> Event:
        """Publish an agenda item for a meeting held here (any member).

        The audit log records which account asked; the item names no one.

        Raises:
            SchemaViolationError: The item fails its schema.
            NotFoundError: No such meeting is held.
            CatchingUpError: The node cannot publish yet.
        """
        body: JsonObject = {"meeting": meeting_id, "title": title}
        optional: dict[str, JsonValue] = {
            "text": text,
            "duration_minutes": duration_minutes,
            "occurrence_starts_at": occurrence,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        await self._held(meeting_id)
        self.node.validator.validate(AGENDA_ADDED, body)
        return await self.node.publish_on_behalf(grant, AGENDA_ADDED, body)

    # --- counting and publishing ------------------------------------------

    async def _settle(self, grant: TokenGrant | None, occasion: Occasion) -> RsvpCounts:
        """Publish the occasion's counts if they differ from the last published.

        Call with the meeting's lock held.
        """
        counts: RsvpCounts = await self.node.read(
            self.node.private.rsvps.counts, occasion
        )
        last = await self.node.read(self._published.get, occasion)
        body = _counted(occasion, counts)
        if last is not None and "attended" in last:
            body["attended"] = last["attended"]
        if body == (last or _counted(occasion, RsvpCounts())):
            return counts
        try:
            await self.node.publish_on_behalf(grant, COUNTED, body)
        except NodeError:
            with self._stale_lock:
                self._stale.add(occasion)
            raise
        return counts

    async def _recount(self, occasions: list[Occasion]) -> None:
        for occasion in occasions:
            async with self._lock(occasion[0]):
                try:
                    if await self._is_held(occasion[0]):
                        await self._settle(None, occasion)
                except NodeError as e:
                    logger.warning("could not publish RSVP counts again: %s", e)

    def _erased(self, occasions: list[Occasion]) -> None:
        # On the thread that erased: hand the work to the event loop.
        with self._stale_lock:
            self._stale.update(occasions)
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._start_recount)

    def _start_recount(self) -> None:
        with self._stale_lock:
            occasions, self._stale = sorted(self._stale, key=_sort_key), set()
        if occasions:
            task = asyncio.create_task(self._recount(occasions))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def begin(self) -> None:
        """Learn the event loop (for erasures on other threads); recount stale."""
        self._loop = asyncio.get_running_loop()
        if self._stale and not self.node.catching_up:
            self._start_recount()

    def _lock(self, meeting_id: str) -> asyncio.Lock:
        lock = self._locks.get(meeting_id)
        if lock is None:
            lock = self._locks[meeting_id] = asyncio.Lock()
        return lock

    def _check_publishing(self) -> None:
        if self.node.catching_up:
            raise CatchingUpError(
                "this node must sync its own feed from a peer before it can "
                "publish RSVP counts: try again soon"
            )

    async def _check_open(self, meeting_id: str, occurrence: int | None) -> None:
        # A member may still withdraw from a cancelled meeting, not answer it.
        try:
            meeting = await self.node.meetings.get_meeting(meeting_id)
        except NotFoundError:  # held, not yet projected: nothing says cancelled
            return
        if meeting.get("status") == "cancelled":
            raise ConflictError("the meeting is cancelled")
        exceptions = meeting.get("exceptions")
        for change in exceptions if isinstance(exceptions, list) else []:
            if (
                isinstance(change, dict)
                and change.get("occurrence_starts_at") == occurrence
                and change.get("change") == "cancelled"
            ):
                raise ConflictError("that occurrence of the meeting is cancelled")

    async def _is_held(self, meeting_id: str) -> bool:
        try:
            await self._held(meeting_id)
        except NotFoundError:
            return False
        return True

    async def _held(self, meeting_id: str) -> Event:
        """The meeting's event: held, schema-valid, not redacted or blocked."""
        event = await self.node.read(self.node.store.get, _meeting_id(meeting_id))
        if event is None or event.type != SCHEDULED or event.body is None:
            raise NotFoundError(f"no meeting {meeting_id} is held here")
        if event.feed in await self.node.read(self.node.store.federation.blocked):
            raise NotFoundError(f"no meeting {meeting_id} is held here")
        try:
            self.node.validator.validate(SCHEDULED, event.body)
        except SchemaViolationError:
            raise NotFoundError(f"no meeting {meeting_id} is held here") from None
        return event


def _counted(occasion: Occasion, counts: RsvpCounts) -> JsonObject:
    body: JsonObject = {"meeting": occasion[0]}
    if occasion[1] is not None:
        body["occurrence_starts_at"] = occasion[1]
    body.update({"yes": counts.yes, "maybe": counts.maybe, "no": counts.no})
    return body


def _tallies(named: list[NamedRsvp]) -> list[JsonValue]:
    counts: dict[int | None, dict[str, int]] = {}
    for rsvp in named:
        tally = counts.setdefault(rsvp.occurrence_starts_at, dict.fromkeys(ANSWERS, 0))
        tally[rsvp.answer] += 1
    return [
        {"occurrence_starts_at": occurrence, **tally}
        for occurrence, tally in counts.items()
    ]


def _meeting_id(text: str) -> str:
    if not _MEETING_ID.fullmatch(text):
        raise NotFoundError(f"no meeting {text[:60]!r}")
    return text


def _occurrence(value: int | None) -> int | None:
    if value is not None and not 0 <= value <= _MAX_TIME:
        raise SchemaViolationError(
            "occurrence_starts_at is ms since the epoch, at least 0",
            field_path="occurrence_starts_at",
        )
    return value


def _page(items: list[T], after: int, limit: int) -> tuple[list[T], int | None]:
    page = items[after : after + limit]
    return page, after + limit if after + limit < len(items) else None


def _organiser(grant: TokenGrant) -> None:
    if grant.role != "organiser":
        raise ForbiddenError("only the group's organisers may do this")


def _sort_key(occasion: Occasion) -> tuple[str, bool, int]:
    return occasion[0], occasion[1] is not None, occasion[1] or 0
