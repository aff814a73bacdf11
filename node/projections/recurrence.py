"""Expanding a meeting's recurrence into the start times of its occurrences.

A recurrence (``meeting.scheduled`` → ``recurrence``) is an iCalendar RRULE
evaluated in the meeting's IANA time zone: occurrences are generated as local
wall-clock times with :mod:`dateutil.rrule` and :mod:`zoneinfo`, so a weekly
meeting at 19:00 stays at 19:00 across the clock changes, and only then turned
into UTC milliseconds. As in RFC 5545 §3.3.10, ``starts_at`` (DTSTART) is
always the first occurrence and counts towards ``count``.

Expansion is lazy and windowed: a caller asks for the occurrences starting in
``[after, before)`` and takes what it needs. A rule without ``count`` is not
walked from its first start: the start is moved forward by whole periods to
just before the window, so a weekly meeting begun years ago costs no more than
one begun last week. Nothing here does I/O or reads the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import islice
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule
from dateutil.relativedelta import relativedelta

from protocol import JsonValue

__all__ = [
    "MAX_TIME",
    "Recurrence",
    "last_start",
    "occurrences",
    "to_datetime",
    "zone",
]

#: The latest instant handled as a date (1 January 9999, UTC): beyond it a
#: meeting is listed at its own start only and never expanded.
MAX_TIME = 253_370_764_800_000
#: How many occurrences :func:`last_start` walks before calling a rule endless.
_LAST_START_WALK = 5000
_FREQUENCIES = {"daily": rrule.DAILY, "weekly": rrule.WEEKLY, "monthly": rrule.MONTHLY}
_WEEKDAYS = {
    "MO": rrule.MO,
    "TU": rrule.TU,
    "WE": rrule.WE,
    "TH": rrule.TH,
    "FR": rrule.FR,
    "SA": rrule.SA,
    "SU": rrule.SU,
}


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A meeting's recurrence rule, as its schema gives it.

    Attributes:
        freq: ``daily``, ``weekly`` or ``monthly``.
        interval: Every how many days, weeks or months.
        count: How many occurrences in all, the first included.
        until: No occurrence starts after this (UTC milliseconds).
        by_day: Weekdays, e.g. ``("TU",)``, ``("1TU",)``, ``("-1FR",)``.
    """

    freq: str
    interval: int = 1
    count: int | None = None
    until: int | None = None
    by_day: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, value: JsonValue) -> Recurrence | None:
        """Read a schema-valid ``recurrence`` object; None when there is none."""
        if not isinstance(value, dict) or value.get("freq") not in _FREQUENCIES:
            return None
        interval, count, until = (
            value.get("interval"),
            value.get("count"),
            value.get("until"),
        )
        by_day = value.get("by_day")
        return cls(
            freq=str(value["freq"]),
            interval=interval if type(interval) is int and interval > 0 else 1,
            count=count if type(count) is int and count > 0 else None,
            until=until if type(until) is int else None,
            by_day=tuple(d for d in by_day if isinstance(d, str))
            if isinstance(by_day, list)
            else (),
        )

    def weekdays(self) -> list[rrule.weekday]:
        """The ``by_day`` entries as dateutil weekdays (``1TU`` → ``TU(+1)``)."""
        days = []
        for text in self.by_day:
            day = _WEEKDAYS.get(text[-2:])
            if day is None:
                continue
            nth = text[:-2]
            days.append(day(int(nth)) if nth else day)
        return days


def zone(name: str) -> tzinfo:
    """The IANA zone of that name; UTC when this node does not know it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return UTC


def to_datetime(ms: int, tz: tzinfo) -> datetime:
    """UTC milliseconds as an aware datetime in ``tz``."""
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(tz)


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def occurrences(
    starts_at: int, tz: str, rule: Recurrence | None, *, after: int, before: int
) -> Iterator[int]:
    """The original starts of a meeting's occurrences in a window, in order.

    Args:
        starts_at: The first occurrence's start (UTC milliseconds).
        tz: The meeting's IANA time zone.
        rule: Its recurrence, or None for a single meeting.
        after: Only starts at or after this (UTC milliseconds).
        before: Only starts before this.

    Yields:
        Start times in UTC milliseconds.
    """
    if starts_at >= before:
        return
    if after <= starts_at:
        yield starts_at
    if rule is None or starts_at >= MAX_TIME:
        return
    try:
        for moment in _later(starts_at, zone(tz), rule, after):
            ms = _ms(moment)
            if ms >= before:
                return
            if ms >= after and ms != starts_at:
                yield ms
    except (OverflowError, ValueError):  # past the years datetime can hold
        return


def _later(
    starts_at: int, tz: tzinfo, rule: Recurrence, after: int
) -> Iterator[datetime]:
    """Occurrences after the first, as aware local datetimes, in order."""
    first = to_datetime(starts_at, tz)
    until = None
    if rule.until is not None:
        until = to_datetime(min(rule.until, MAX_TIME), tz)
        if until < first:
            return iter(())
    if rule.count is not None:
        # Bounded by count (at most 1,000): walk from the first start.
        walk = _rule(rule, first, first, until)
        return islice((m for m in walk if m != first), rule.count - 1)
    if after <= starts_at:
        return iter(_rule(rule, first, first, until))
    return iter(_rule(rule, _shifted(first, rule, after), first, until))


def _rule(
    rule: Recurrence, start: datetime, first: datetime, until: datetime | None
) -> rrule.rrule:
    weekdays = rule.weekdays()
    by_month_day = None
    if rule.freq == "weekly" and not weekdays:
        weekdays = [rrule.weekday(first.weekday())]
    if rule.freq == "monthly" and not weekdays:
        by_month_day = first.day
    return rrule.rrule(
        _FREQUENCIES[rule.freq],  # type: ignore[arg-type]
        dtstart=start,
        interval=rule.interval,
        until=until,
        byweekday=weekdays or None,
        bymonthday=by_month_day,
        byhour=first.hour,
        byminute=first.minute,
        bysecond=first.second,
    )


def _shifted(first: datetime, rule: Recurrence, after: int) -> datetime:
    """A start whole periods after ``first`` and at least a period before ``after``.

    Moving the start by whole periods (in local wall-clock time) keeps the
    rule's phase, so the rule gives the same occurrences from there on.
    """
    target = to_datetime(after, first.tzinfo or UTC).replace(tzinfo=None)
    local = first.replace(tzinfo=None)
    if rule.freq == "monthly":
        months = (target.year - local.year) * 12 + target.month - local.month
        periods = max(months // rule.interval - 1, 0)
        moved = local.replace(day=1) + relativedelta(months=periods * rule.interval)
        return moved.replace(tzinfo=first.tzinfo) if periods else first
    step = timedelta(days=rule.interval * (7 if rule.freq == "weekly" else 1))
    periods = max((target - local) // step - 1, 0)
    return (local + step * periods).replace(tzinfo=first.tzinfo)


def last_start(starts_at: int, tz: str, rule: Recurrence | None) -> int | None:
    """The start of a meeting's last occurrence; None when it has no end.

    A rule with ``until`` that would take more than a few thousand steps to
    walk is treated as endless: the answer only narrows a search.
    """
    if rule is None or starts_at >= MAX_TIME:
        return starts_at
    if rule.count is None and rule.until is None:
        return None
    last = starts_at
    walk = occurrences(starts_at, tz, rule, after=starts_at, before=MAX_TIME)
    for count, start in enumerate(walk):
        if count > _LAST_START_WALK:
            return None
        last = start
    return last
