"""The pledges read model: pledge targets and the totals groups report.

A ``pledge.target_set`` is a target; its event id is the target's id and its
feed the group that set it. It may name a subject (a campaign, meeting or
tour, possibly another group's) and may replace an earlier target of the
same feed: a replaced target is closed and names its replacement (a
``replaces`` from another feed is ignored). A ``pledge.totals_reported`` is
one group's counted totals towards a target, possibly another group's; each
feed's latest report (by ``seq``) replaces its earlier ones, and the
target's progress is the sum over feeds. Reports are stored keyed by their
own id whether or not the target is held, so arrival order never matters
(:mod:`.pledges_sql`).

A redaction deletes the row its target made: a redacted target is gone (its
reports stay stored, unseen); a redacted report lets the feed's previous one
count again. Blocked feeds are passed in by the caller and left out of every
answer: their targets and their reports.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import orjson

from node.projections import pledges_sql as sql
from node.projections.fields import (
    decode_ts_cursor,
    encode_cursor,
)
from node.projections.fields import (
    integer as _integer,
)
from node.projections.fields import (
    text as _text,
)
from node.projections.model import Projected, clamp
from node.storage.feeds import redaction_target
from node.storage.sqldb import Cursor
from protocol import JsonObject

__all__ = [
    "KINDS",
    "MAX_PAGE",
    "STATUSES",
    "TargetFilters",
    "TargetRecord",
    "TargetsPage",
    "apply",
    "create",
    "finish",
    "get_target",
    "list_targets",
    "reset",
]

MAX_PAGE = 200
KINDS = ("money", "time", "skills")
STATUSES = ("open", "closed")
TARGET_TYPE = "pledge.target_set"
REPORT_TYPE = "pledge.totals_reported"
_START_TS = 2**62
_MAX_WORDS = 8


@dataclass(frozen=True, slots=True)
class TargetFilters:
    """What a listing of targets is narrowed by; None leaves a filter out.

    Attributes:
        feed: The group that set it.
        subject: The event id of its subject.
        kind: ``money``, ``time`` or ``skills``.
        status: ``open`` or ``closed`` (replaced, or ``closes_at`` come).
        q: Words that must all appear in the title or text.
    """

    feed: str | None = None
    subject: str | None = None
    kind: str | None = None
    status: str | None = None
    q: str | None = None


@dataclass(frozen=True, slots=True)
class TargetRecord:
    """A held target with the latest report of each feed towards it.

    Attributes:
        target: Its row, with ``status``, ``replaced_by`` and ``group_name``.
        reports: The latest report of each feed not blocked, with
            ``group_name``, by feed.
        subject: The subject's ``type``, ``feed`` and ``title`` when held,
            valid and not blocked; None otherwise.
    """

    target: sqlite3.Row
    reports: tuple[sqlite3.Row, ...]
    subject: sqlite3.Row | None


@dataclass(frozen=True, slots=True)
class TargetsPage:
    """A page of targets, newest first; ``next`` None on the last."""

    items: list[TargetRecord]
    next: str | None


def create(cursor: Cursor) -> None:
    """Create the pledges tables."""
    for statement in sql.CREATE:
        cursor.execute(statement)


def apply(cursor: Cursor, item: Projected) -> None:
    """Store a valid target or report; forget what a redaction's target made."""
    event = item.event
    target = redaction_target(event)
    if target is not None:
        cursor.execute(sql.DELETE_TARGET, (target, event.feed))
        cursor.execute(sql.DELETE_REPORT, (target, event.feed))
    if not item.is_valid or event.body is None:
        return
    body = event.body
    if event.type == TARGET_TYPE:
        cursor.execute(sql.INSERT_TARGET, _target_row(item, body))
    elif event.type == REPORT_TYPE:
        skills = body.get("skills")
        cursor.execute(
            sql.INSERT_REPORT,
            (
                event.id,
                item.position,
                event.feed,
                event.seq,
                body["target"],
                event.ts,
                _integer(body, "pledgers") or 0,
                _integer(body, "total_pence"),
                _integer(body, "total_hours"),
                orjson.dumps(skills).decode() if isinstance(skills, list) else None,
            ),
        )


def _target_row(item: Projected, body: JsonObject) -> dict[str, object]:
    event = item.event
    skills = body.get("skills")
    title, text = _text(body, "title") or "", _text(body, "text")
    return {
        "id": event.id,
        "position": item.position,
        "feed": event.feed,
        "ts": event.ts,
        "title": title,
        "kind": _text(body, "kind") or "money",
        "subject": _text(body, "subject"),
        "text": text,
        "target_pence": _integer(body, "target_pence"),
        "target_hours": _integer(body, "target_hours"),
        "skills": orjson.dumps(skills if isinstance(skills, list) else []).decode(),
        "closes_at": _integer(body, "closes_at"),
        "replaces": _text(body, "replaces"),
        "match_text": f"{title}\n{text or ''}".casefold(),
    }


def finish(cursor: Cursor, items: Sequence[Projected]) -> None:
    """Nothing to tidy per batch."""


def reset(cursor: Cursor) -> None:
    """Drop the pledges tables and create them empty."""
    for statement in sql.DROP:
        cursor.execute(statement)
    create(cursor)


# -- queries ------------------------------------------------------------------


def list_targets(
    cursor: Cursor,
    filters: TargetFilters,
    *,
    now: int,
    blocked: Iterable[str] = (),
    limit: int = 50,
    after: str | None = None,
) -> TargetsPage:
    """List pledge targets, newest first (``ts``, then id).

    Args:
        cursor: A read cursor.
        filters: What to narrow the listing by.
        now: The node's clock (ms), for closed targets.
        blocked: Feeds to leave out.
        limit: The page size, brought into 1..200.
        after: The ``next`` of the previous page, or None to start.

    Returns:
        The page.

    Raises:
        InvalidCursorError: ``after`` is not a cursor this node handed out.
    """
    size = clamp(limit, MAX_PAGE)
    after_ts, after_id = _decode_cursor(after) if after else (_START_TS, "")
    skip = _blocked(blocked)
    words = (filters.q or "").casefold().split()[:_MAX_WORDS]
    cursor.execute(
        sql.LIST_TARGETS,
        {
            "now": now,
            "blocked": skip,
            "after_ts": after_ts,
            "after_id": after_id,
            "feed": filters.feed,
            "subject": filters.subject,
            "kind": filters.kind,
            "status": filters.status,
            "words": orjson.dumps(words).decode(),
            "limit": size,
        },
    )
    rows = cursor.fetchall()
    items = [_record(cursor, row, skip) for row in rows]
    last = rows[-1] if len(rows) == size else None
    return TargetsPage(items, _encode_cursor(last) if last else None)


def get_target(
    cursor: Cursor, target_id: str, *, now: int, blocked: Iterable[str] = ()
) -> TargetRecord | None:
    """One target and the latest report of each feed towards it.

    Returns:
        The target, or None when it is not held, redacted or its group is
        blocked.
    """
    skip = _blocked(blocked)
    cursor.execute(sql.GET_TARGET, {"id": target_id, "now": now, "blocked": skip})
    row = cursor.fetchone()
    return None if row is None else _record(cursor, row, skip)


def _record(cursor: Cursor, row: sqlite3.Row, blocked: str) -> TargetRecord:
    cursor.execute(sql.LATEST_REPORTS, {"target": row["id"], "blocked": blocked})
    reports = tuple(cursor.fetchall())
    subject = None
    if row["subject"] is not None:
        cursor.execute(sql.SUBJECT, {"id": row["subject"], "blocked": blocked})
        subject = cursor.fetchone()
    return TargetRecord(row, reports, subject)


def _blocked(blocked: Iterable[str]) -> str:
    return orjson.dumps(sorted(set(blocked))).decode()


def _encode_cursor(row: sqlite3.Row) -> str:
    return encode_cursor(row["ts"], row["id"])


def _decode_cursor(text: str) -> tuple[int, str]:
    return decode_ts_cursor(text, "a cursor of pledge targets")
