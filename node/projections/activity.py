"""The activity read model: the counts groups publish of their private work.

A ``group.activity_reported`` holds numbers only (1-to-1s held, cases opened,
closed and still open, members) for a period ``[starts_at, ends_at)``. Every
valid report is kept, keyed by its event id (:mod:`.activity_sql`); a query
answers the latest report of a feed for each period, so a later report for
the same period replaces an earlier one, and a redacted report (its row
deleted here) gives way to the one before it, if any.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from node.projections import activity_sql as sql
from node.projections.model import InvalidCursorError, Projected, clamp
from node.storage.feeds import redaction_target
from node.storage.sqldb import Cursor
from protocol import JsonObject

__all__ = [
    "COUNTS",
    "MAX_PAGE",
    "REPORTED",
    "ActivityPage",
    "apply",
    "create",
    "finish",
    "latest_reports",
    "reset",
]

REPORTED = "group.activity_reported"
#: The counts a report may carry, in the order answers show them.
COUNTS = ("one_to_ones_held", "cases_opened", "cases_closed", "cases_open", "members")
#: The largest page of a group's reports.
MAX_PAGE = 200
_PAST_ALL = 2**62
_CURSOR = re.compile(r"([0-9]{1,16})\.([0-9]{1,16})")


@dataclass(frozen=True, slots=True)
class ActivityPage:
    """A page of a group's reports, latest period first, and the next cursor."""

    reports: list[JsonObject]
    next: str | None


def create(cursor: Cursor) -> None:
    """Create the model's table."""
    for statement in sql.CREATE:
        cursor.execute(statement)


def apply(cursor: Cursor, item: Projected) -> None:
    """Keep a valid report; forget the one a redaction names."""
    event = item.event
    target = redaction_target(event)
    if target is not None:
        cursor.execute(sql.DELETE, (target, event.feed))
    if event.type != REPORTED or not item.is_valid or event.body is None:
        return
    body = event.body
    counts = {name: body.get(name) for name in COUNTS}
    cursor.execute(
        sql.INSERT,
        (
            event.id,
            item.position,
            event.feed,
            event.seq,
            event.ts,
            body["starts_at"],
            body["ends_at"],
            orjson.dumps(counts).decode(),
        ),
    )


def finish(cursor: Cursor, items: Sequence[Projected]) -> None:
    """Nothing to tidy per batch."""


def reset(cursor: Cursor) -> None:
    """Drop the model's table and create it empty."""
    for statement in sql.DROP:
        cursor.execute(statement)
    create(cursor)


def latest_reports(
    cursor: Cursor, feed: str, limit: int, after: str | None = None
) -> ActivityPage:
    """A feed's latest report per period, latest period first.

    Returns:
        Up to ``limit`` (1..200) reports ``{id, seq, ts, starts_at, ends_at,
        <counts>}`` (a count left out is None) after the cursor ``after``.

    Raises:
        InvalidCursorError: ``after`` is not a cursor this node handed out.
    """
    mark = (_PAST_ALL, _PAST_ALL)
    if after is not None:
        found = _CURSOR.fullmatch(after)
        if found is None:
            raise InvalidCursorError("not a cursor this node handed out")
        mark = (int(found[1]), int(found[2]))
    size = clamp(limit, MAX_PAGE)
    cursor.execute(
        sql.LATEST,
        {"feed": feed, "starts_at": mark[0], "ends_at": mark[1], "limit": size + 1},
    )
    rows = cursor.fetchall()
    reports: list[JsonObject] = [
        {
            "id": row["id"],
            "seq": row["seq"],
            "ts": row["ts"],
            "starts_at": row["starts_at"],
            "ends_at": row["ends_at"],
            **orjson.loads(row["counts"]),
        }
        for row in rows[:size]
    ]
    last = rows[size - 1] if len(rows) > size else None
    return ActivityPage(
        reports, f"{last['starts_at']}.{last['ends_at']}" if last else None
    )
