"""A page of a meetings listing: occurrences merged in start order, lazily.

A listing's occurrences come from many meetings, each a lazy stream in key
order (:func:`~.occurrences.occurrences_of`). The streams are merged through
one heap, and a meeting joins the heap only when it could hold the next
occurrence: every occurrence of a meeting starts at or after the meeting's
own start, unless a change moves it, and the meetings with such changes
(:meth:`~.meeting_queries.CandidateScan.shifted`) join first. The others are
read by (start, id), so a meeting is admitted once its (start, id) comes
before the key at the top of the heap. A page of the first twenty
occurrences thus reads and expands a few dozen meetings, not every meeting
in the window.

No listing pulls more than :data:`~.meeting_queries.MAX_EXPANDED`
occurrences from the streams; one that would ends with the page found so far.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from node.projections.meeting_queries import (
    MAX_EXPANDED,
    MAX_PAGE,
    CandidateScan,
    distance_from,
)
from node.projections.meetings import MeetingFilters
from node.projections.model import clamp
from node.projections.occurrences import (
    Change,
    Key,
    Meeting,
    Occurrence,
    occurrences_of,
)
from node.storage.sqldb import Cursor

__all__ = ["list_occurrences"]

_Entry = tuple[Key, int, Occurrence, Iterator[Occurrence]]


class _Merge:
    """The heap of the streams admitted so far, keyed by their next occurrence."""

    def __init__(self, filters: MeetingFilters, since: int) -> None:
        self.filters = filters
        self.since = since
        self.heap: list[_Entry] = []
        self.budget = MAX_EXPANDED
        self.is_exhausted = False
        self._count = 0

    def add(self, meeting: Meeting, changes: dict[int, Change]) -> None:
        """Admit a meeting's occurrences in the window."""
        f = self.filters
        self._push(occurrences_of(meeting, changes, f.start, f.end, self.since))

    def top(self) -> Key | None:
        """The key of the next occurrence, None when no stream is left."""
        return self.heap[0][0] if self.heap else None

    def pop(self) -> Occurrence:
        """Take the next occurrence (the heap must not be empty)."""
        _, _, occurrence, stream = heapq.heappop(self.heap)
        self._push(stream)
        return occurrence

    def _push(self, stream: Iterator[Occurrence]) -> None:
        occurrence = next(stream, None)
        if occurrence is None:
            return
        self.budget -= 1
        if self.budget < 0:
            self.is_exhausted = True
            return
        self._count += 1  # ties never compare occurrences or streams
        heapq.heappush(self.heap, (occurrence.key, self._count, occurrence, stream))


class _Pending:
    """The meetings not yet admitted, by (start, id), with one looked ahead."""

    def __init__(self, meetings: Iterator[tuple[Meeting, dict[int, Change]]]) -> None:
        self.meetings = meetings
        self.next = next(meetings, None)

    def take_before(self, key: Key | None) -> tuple[Meeting, dict[int, Change]] | None:
        """The next meeting and its changes, if it may hold an occurrence
        before ``key`` (None: the heap is empty)."""
        if self.next is None:
            return None
        meeting = self.next[0]
        if key is not None and (meeting.starts_at, meeting.id) >= (key[0], key[1]):
            return None
        taken, self.next = self.next, next(self.meetings, None)
        return taken


def list_occurrences(
    cursor: Cursor,
    filters: MeetingFilters,
    blocked: frozenset[str],
    limit: int,
    after: Key | None,
) -> tuple[list[Occurrence], bool]:
    """The first occurrences after a key, in start order.

    Args:
        cursor: A read cursor.
        filters: What is asked for.
        blocked: Feeds left out.
        limit: The page size, brought into 1..:data:`MAX_PAGE`.
        after: The last key of the previous page, or None to start.

    Returns:
        The occurrences, and whether more follow.
    """
    size = clamp(limit, MAX_PAGE)
    scan = CandidateScan(cursor, filters, blocked)
    merge = _Merge(filters, after[0] if after else 0)
    shifted = scan.shifted()
    for meeting in shifted.meetings:
        merge.add(meeting, shifted.changes[meeting.id])
    pending = _Pending(scan.by_start({m.id for m in shifted.meetings}))
    page: list[Occurrence] = []
    while not merge.is_exhausted:
        taken = pending.take_before(merge.top())
        if taken is not None:
            merge.add(*taken)
            continue
        if merge.top() is None:
            return page, False
        occurrence = merge.pop()
        if after is not None and occurrence.key <= after:
            continue
        if filters.near and distance_from(occurrence.place, filters) is None:
            continue
        page.append(occurrence)
        if len(page) > size:
            return page[:size], True
    return page[:size], len(page) > 0
