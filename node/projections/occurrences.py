"""A meeting's occurrences as members see them: recurrence plus exceptions.

:class:`Meeting` is a row of the ``meetings`` table (the latest version by
its own feed). :func:`occurrences_of` expands its recurrence in a window
(:mod:`.recurrence`) and applies its occurrence changes: a cancelled
occurrence is left out, a moved one is shown at its new time or place and
keeps its original start (``occurrence_starts_at``) as its key. Only the
meeting's own feed changes occurrences, the latest change of an occurrence
wins, and a change naming a start the recurrence never gives is ignored.
Attendance counts are added up here too (:func:`tally`).
"""

from __future__ import annotations

import heapq
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import cast

import orjson

from node.projections.recurrence import Recurrence, occurrences
from protocol import JsonObject, JsonValue

__all__ = [
    "MAX_LOOKBACK",
    "Change",
    "Meeting",
    "Occurrence",
    "latest_changes",
    "occurrences_of",
    "tally",
]

#: How far before a window an occurrence may start and still be listed.
MAX_LOOKBACK = 31 * 86_400_000
#: An occurrence's place in a listing: (starts_at, meeting id, original start).
Key = tuple[int, str, int]


@dataclass(frozen=True, slots=True)
class Meeting:
    """A meeting as it now is.

    Attributes:
        id: The meeting's id (its ``meeting.scheduled`` event id).
        feed: The hosting feed.
        seq: The seq of the version shown.
        ts: That version's ``ts``.
        created_ts: The scheduling event's ``ts``.
        revision: How many updates led to this version.
        body: The version's fields (those of ``meeting.scheduled``).
    """

    id: str
    feed: str
    seq: int
    ts: int
    created_ts: int
    revision: int
    body: JsonObject

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Meeting:
        """Read a ``meetings`` row."""
        return cls(
            id=row["id"],
            feed=row["feed"],
            seq=row["seq"],
            ts=row["ts"],
            created_ts=row["created_ts"],
            revision=row["revision"],
            body=orjson.loads(row["body"]),
        )

    @property
    def starts_at(self) -> int:
        """The first occurrence's start (UTC milliseconds)."""
        return _int(self.body.get("starts_at")) or 0

    @property
    def duration(self) -> int:
        """How long each occurrence lasts, in milliseconds."""
        return max((_int(self.body.get("ends_at")) or 0) - self.starts_at, 0)

    @property
    def tz(self) -> str:
        """The IANA time zone of its local times."""
        tz = self.body.get("tz")
        return tz if isinstance(tz, str) else "UTC"

    @property
    def rule(self) -> Recurrence | None:
        """Its recurrence, None for a single meeting."""
        return Recurrence.from_json(self.body.get("recurrence"))

    @property
    def place(self) -> JsonObject | None:
        """Where it is held, when it has a place."""
        place = self.body.get("place")
        return place if isinstance(place, dict) else None

    @property
    def cohosts(self) -> tuple[str, ...]:
        """The co-hosting feeds."""
        cohosts = self.body.get("cohosts")
        if not isinstance(cohosts, list):
            return ()
        return tuple(c for c in cohosts if isinstance(c, str))

    def text(self, key: str) -> str | None:
        """A text field of the meeting, None when absent."""
        value = self.body.get(key)
        return value if isinstance(value, str) else None

    def is_occurrence(self, start: int) -> bool:
        """Whether the recurrence gives an occurrence starting then."""
        found = occurrences(
            self.starts_at, self.tz, self.rule, after=start, before=start + 1
        )
        return next(found, None) == start


@dataclass(frozen=True, slots=True)
class Change:
    """The latest change of one occurrence.

    Attributes:
        occurrence: The occurrence's original start.
        change: ``moved`` or ``cancelled``.
        body: The ``meeting.occurrence_changed`` body.
    """

    occurrence: int
    change: str
    body: JsonObject

    def field(self, key: str) -> JsonValue:
        """A field of the change, None when absent."""
        return self.body.get(key)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence, as it will happen.

    Attributes:
        meeting: Its meeting.
        original: The start the recurrence gives it (its key).
        starts_at: When it starts, after any move.
        ends_at: When it ends, after any move.
        change: The move applied to it, if any.
    """

    meeting: Meeting
    original: int
    starts_at: int
    ends_at: int
    change: Change | None

    @property
    def key(self) -> Key:
        """Its place in a listing."""
        return (self.starts_at, self.meeting.id, self.original)

    @property
    def place(self) -> JsonObject | None:
        """Where it is held: the move's place, else the meeting's."""
        moved = self.change.field("place") if self.change else None
        return moved if isinstance(moved, dict) else self.meeting.place

    @property
    def online_url(self) -> str | None:
        """Its link: the move's link, else the meeting's."""
        moved = self.change.field("online_url") if self.change else None
        return moved if isinstance(moved, str) else self.meeting.text("online_url")


def latest_changes(meeting: Meeting, rows: Iterable[sqlite3.Row]) -> dict[int, Change]:
    """The latest change of each real occurrence, by the meeting's own feed.

    Args:
        meeting: The meeting.
        rows: Its ``meeting_changes`` rows, in seq order.

    Returns:
        The changes by original start.
    """
    latest: dict[int, sqlite3.Row] = {}
    for row in rows:
        if row["feed"] == meeting.feed:
            latest[row["occurrence"]] = row
    return {
        start: Change(start, row["change"], orjson.loads(row["body"]))
        for start, row in sorted(latest.items())
        if meeting.is_occurrence(start)
    }


def occurrences_of(
    meeting: Meeting, changes: dict[int, Change], start: int, end: int, since: int = 0
) -> Iterator[Occurrence]:
    """The occurrences overlapping ``[start, end)``, in listing order.

    Args:
        meeting: The meeting.
        changes: Its changes (:func:`latest_changes`).
        start: Only occurrences ending after this.
        end: Only occurrences starting before this.
        since: Only occurrences starting at or after this, when later.

    Returns:
        A lazy iterator; callers take what they need.
    """
    moved: list[Occurrence] = []
    for change in changes.values():
        if change.change != "moved":
            continue
        new_start = _int(change.field("starts_at"))
        new_end = _int(change.field("ends_at"))
        if new_start is None or new_end is None:
            continue
        if (
            new_start < end
            and max(new_end, new_start + 1) > start
            and new_start >= since
        ):
            moved.append(
                Occurrence(meeting, change.occurrence, new_start, new_end, change)
            )
    moved.sort(key=lambda o: o.key)
    # An occurrence begun before the window still shows while it lasts, but
    # only a month back: a meeting claiming to last for years must not make
    # every listing walk its whole history.
    lookback = min(meeting.duration, MAX_LOOKBACK)
    kept = _kept(meeting, changes, max(start - lookback, since), end, start)
    return heapq.merge(kept, moved, key=lambda o: o.key)


def _kept(
    meeting: Meeting, changes: dict[int, Change], after: int, end: int, start: int
) -> Iterator[Occurrence]:
    """Occurrences at their original times (moved in place only, or unchanged)."""
    duration = meeting.duration
    for original in occurrences(
        meeting.starts_at, meeting.tz, meeting.rule, after=after, before=end
    ):
        change = changes.get(original)
        if change is not None and (
            change.change == "cancelled" or _int(change.field("starts_at")) is not None
        ):
            continue
        if max(original + duration, original + 1) > start:
            yield Occurrence(meeting, original, original, original + duration, change)


def tally(
    meeting: Meeting, rows: Iterable[sqlite3.Row], blocked: frozenset[str]
) -> dict[int, JsonObject]:
    """Add up attendance counts by occurrence: the latest of each feed counts.

    A count without ``occurrence_starts_at`` is for the meeting's first
    occurrence (or the only one).

    Args:
        meeting: The meeting.
        rows: Its ``meeting_counts`` rows, in seq order.
        blocked: Feeds whose counts are left out.

    Returns:
        By original start: ``{yes, maybe, no, attended, by_group}``.
    """
    latest: dict[tuple[int, str], sqlite3.Row] = {}
    for row in rows:
        if row["feed"] not in blocked:
            occurrence = row["occurrence"]
            key = meeting.starts_at if occurrence is None else occurrence
            latest[(key, row["feed"])] = row
    totals: dict[int, JsonObject] = {}
    for (occurrence, feed), row in sorted(latest.items()):
        total = totals.setdefault(
            occurrence, {"yes": 0, "maybe": 0, "no": 0, "attended": 0, "by_group": []}
        )
        group: JsonObject = {"feed": feed}
        for field in ("yes", "maybe", "no", "attended"):
            group[field] = row[field]
            total[field] = cast(int, total[field]) + (row[field] or 0)
        cast(list[JsonValue], total["by_group"]).append(group)
    return totals


def _int(value: JsonValue) -> int | None:
    return value if type(value) is int else None
