"""Recurrence expansion: local time kept across clock changes, RRULE parts."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from node.projections.recurrence import (
    MAX_TIME,
    Recurrence,
    last_start,
    occurrences,
)

LONDON = ZoneInfo("Europe/London")
FAR = MAX_TIME


def ms(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    tz: ZoneInfo = LONDON,
) -> int:
    moment = datetime(year, month, day, hour, minute, tzinfo=tz)
    return int(moment.timestamp() * 1000)


def local(values: list[int]) -> list[str]:
    return [
        datetime.fromtimestamp(v / 1000, LONDON).strftime("%a %d %b %Y %H:%M %Z")
        for v in values
    ]


def expand(
    start: int, rule: Recurrence | None, after: int = 0, before: int = FAR
) -> list[int]:
    return list(occurrences(start, "Europe/London", rule, after=after, before=before))


def test_weekly_keeps_local_time_across_the_march_change() -> None:
    got = expand(ms(2026, 3, 17, 19), Recurrence("weekly", count=3))
    assert local(got) == [
        "Tue 17 Mar 2026 19:00 GMT",
        "Tue 24 Mar 2026 19:00 GMT",
        "Tue 31 Mar 2026 19:00 BST",
    ]
    # The clock change moves the UTC time by an hour, not the local time.
    assert got[2] - got[1] == 7 * 86_400_000 - 3_600_000


def test_weekly_keeps_local_time_across_the_october_change() -> None:
    rule = Recurrence("weekly", by_day=("TU",))
    got = expand(ms(2026, 10, 13, 19), rule, before=ms(2026, 11, 1))
    assert local(got) == [
        "Tue 13 Oct 2026 19:00 BST",
        "Tue 20 Oct 2026 19:00 BST",
        "Tue 27 Oct 2026 19:00 GMT",
    ]
    assert got[2] - got[1] == 7 * 86_400_000 + 3_600_000


def test_an_old_endless_rule_is_expanded_only_in_the_window() -> None:
    rule = Recurrence("weekly", interval=2, by_day=("TH",))
    start = ms(2001, 1, 4, 18, 30)
    got = expand(start, rule, after=ms(2026, 10, 1), before=ms(2026, 11, 13))
    assert local(got) == [
        "Thu 08 Oct 2026 18:30 BST",
        "Thu 22 Oct 2026 18:30 BST",
        "Thu 05 Nov 2026 18:30 GMT",
    ]
    # The same as walking the rule from its first start.
    walked = [v for v in expand(start, rule, before=ms(2026, 11, 13)) if v >= got[0]]
    assert walked == got


def test_count_includes_the_first_start() -> None:
    got = expand(ms(2026, 1, 5, 10), Recurrence("daily", interval=3, count=4))
    assert local(got) == [
        "Mon 05 Jan 2026 10:00 GMT",
        "Thu 08 Jan 2026 10:00 GMT",
        "Sun 11 Jan 2026 10:00 GMT",
        "Wed 14 Jan 2026 10:00 GMT",
    ]


def test_until_is_the_last_possible_start() -> None:
    rule = Recurrence("weekly", until=ms(2026, 2, 2, 19))
    got = expand(ms(2026, 1, 5, 19), rule)
    assert local(got)[-1] == "Mon 02 Feb 2026 19:00 GMT"
    assert len(got) == 5
    assert last_start(ms(2026, 1, 5, 19), "Europe/London", rule) == got[-1]
    assert last_start(ms(2026, 1, 5, 19), "Europe/London", None) == ms(2026, 1, 5, 19)
    endless = Recurrence("weekly")
    assert last_start(ms(2026, 1, 5, 19), "Europe/London", endless) is None


def test_monthly_first_tuesday_and_last_friday() -> None:
    first_tuesday = Recurrence("monthly", by_day=("1TU",), count=4)
    got = expand(ms(2026, 1, 6, 19), first_tuesday)
    assert local(got) == [
        "Tue 06 Jan 2026 19:00 GMT",
        "Tue 03 Feb 2026 19:00 GMT",
        "Tue 03 Mar 2026 19:00 GMT",
        "Tue 07 Apr 2026 19:00 BST",
    ]
    last_friday = Recurrence("monthly", by_day=("-1FR",))
    got = expand(ms(2026, 1, 30, 18), last_friday, before=ms(2026, 5, 1))
    assert local(got) == [
        "Fri 30 Jan 2026 18:00 GMT",
        "Fri 27 Feb 2026 18:00 GMT",
        "Fri 27 Mar 2026 18:00 GMT",
        "Fri 24 Apr 2026 18:00 BST",
    ]


def test_monthly_on_a_day_skips_months_without_it() -> None:
    rule = Recurrence("monthly")
    got = expand(ms(2010, 1, 31, 19), rule, after=ms(2026, 1, 1), before=ms(2026, 6, 1))
    assert local(got) == [
        "Sat 31 Jan 2026 19:00 GMT",
        "Tue 31 Mar 2026 19:00 BST",
        "Sun 31 May 2026 19:00 BST",
    ]


def test_weekly_on_several_days_and_the_window_bounds() -> None:
    rule = Recurrence("weekly", by_day=("MO", "TH"))
    start = ms(2026, 1, 5, 9)
    got = expand(start, rule, after=ms(2026, 1, 8, 9), before=ms(2026, 1, 15, 9))
    assert local(got) == ["Thu 08 Jan 2026 09:00 GMT", "Mon 12 Jan 2026 09:00 GMT"]
    assert expand(start, None) == [start]
    assert expand(start, None, after=start + 1) == []
    assert expand(start, rule, before=start) == []


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "Etc/Nowhere", "A"])
def test_an_unknown_zone_is_taken_as_utc(tz: str) -> None:
    start = ms(2026, 3, 24, 19, tz=ZoneInfo("UTC"))
    got = list(
        occurrences(start, tz, Recurrence("weekly", count=2), after=0, before=FAR)
    )
    assert got == [start, start + 7 * 86_400_000]


def test_times_past_the_calendar_are_never_expanded() -> None:
    huge = 2**53 - 1
    assert list(occurrences(huge, "Europe/London", Recurrence("daily"), after=0,
                            before=2**53)) == [huge]  # fmt: skip
    near_end = MAX_TIME + 86_400_000 * 300
    daily = Recurrence("daily")
    got = list(occurrences(near_end, "UTC", daily, after=0, before=2**53))
    assert got == [near_end]
    last_year = list(occurrences(MAX_TIME - 1000, "UTC", daily, after=0, before=2**53))
    assert 300 < len(last_year) < 400


def test_from_json_reads_the_schema_shape() -> None:
    rule = Recurrence.from_json(
        {"freq": "monthly", "interval": 2, "by_day": ["1TU", "-1FR"], "count": 6}
    )
    assert rule == Recurrence("monthly", 2, 6, None, ("1TU", "-1FR"))
    assert Recurrence.from_json(None) is None
    assert Recurrence.from_json({"freq": "yearly"}) is None
    assert Recurrence.from_json({"freq": "daily"}) == Recurrence("daily")
