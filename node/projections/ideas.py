"""The ideas read model: ideas, support counts, proposals, decisions and tasks.

Every valid event of the decisions family is stored keyed by its own id and
indexed by the id it names (:mod:`.ideas_sql`), whatever order events arrive
in; who counts is decided when a query reads them
(:mod:`.idea_queries`):

- ``idea.support_counted`` counts only from the idea's own feed, the latest
  by ``seq`` (a redacted count falls back to the one before it).
- ``proposal.opened`` may name an idea of any feed; the idea is ``proposed``
  while a proposal names it and ``decided`` once one of those is decided.
- ``proposal.decided`` counts only from the proposal's feed, the first by
  ``seq``.
- ``task.completed`` counts only from the task's feed. A decision's tasks
  are those its own feed created naming it.
- A ``campaign.launched``, ``campaign.action_called`` or
  ``meeting.scheduled`` naming a decision (its ``decision``) from any feed
  is kept in ``decision_refs``: the campaigns and actions that followed it.

A redaction deletes the row its target made, in whichever table. Blocked
feeds are left out of every answer; the caller passes them in.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from node.projections import ideas_sql as sql
from node.projections.model import Projected
from node.storage.feeds import redaction_target
from node.storage.sqldb import Cursor
from protocol import Event, JsonObject

__all__ = ["DECISION_REF_TYPES", "apply", "create", "finish", "reset"]

#: Events of other families that may name the decision they follow from.
DECISION_REF_TYPES = (
    "campaign.launched",
    "campaign.action_called",
    "meeting.scheduled",
)


def create(cursor: Cursor) -> None:
    """Create the model's tables."""
    for statement in sql.CREATE:
        cursor.execute(statement)


def apply(cursor: Cursor, item: Projected) -> None:
    """Store a valid event of the family; forget what a redaction's target made."""
    event = item.event
    target = redaction_target(event)
    if target is not None:
        for statement in sql.DELETE_TARGET:
            cursor.execute(statement, (target, event.feed))
    if not item.is_valid or event.body is None:
        return
    writer = _WRITERS.get(event.type)
    if writer is not None:
        writer(cursor, item.position, event, event.body)
    elif event.type in DECISION_REF_TYPES and isinstance(
        decision := event.body.get("decision"), str
    ):
        cursor.execute(
            sql.INSERT_REF,
            (event.id, event.feed, event.ts, event.type, decision, _json(event.body)),
        )


def _idea(cursor: Cursor, position: int, event: Event, body: JsonObject) -> None:
    title, text = str(body["title"]), _text(body, "text")
    cursor.execute(
        sql.INSERT_IDEA,
        (
            event.id,
            position,
            event.feed,
            event.ts,
            title,
            text,
            _json(body.get("tags") or []),
            _text(body, "proposer_display_name"),
            f"{title}\n{text or ''}".casefold(),
        ),
    )


def _count(cursor: Cursor, position: int, event: Event, body: JsonObject) -> None:
    cursor.execute(
        sql.INSERT_COUNT,
        (event.id, event.feed, event.seq, body["idea"], body["supporters"]),
    )


def _proposal(cursor: Cursor, position: int, event: Event, body: JsonObject) -> None:
    cursor.execute(
        sql.INSERT_PROPOSAL,
        (
            event.id,
            position,
            event.feed,
            event.ts,
            body["title"],
            _text(body, "text"),
            body["kind"],
            _json(body["options"]),
            body["closes_at"],
            _text(body, "tz"),
            _text(body, "idea"),
        ),
    )


def _decision(cursor: Cursor, position: int, event: Event, body: JsonObject) -> None:
    cursor.execute(
        sql.INSERT_DECISION,
        (event.id, event.feed, event.seq, event.ts, body["proposal"], _json(body)),
    )


def _task(cursor: Cursor, position: int, event: Event, body: JsonObject) -> None:
    cursor.execute(
        sql.INSERT_TASK,
        (
            event.id,
            position,
            event.feed,
            event.ts,
            _text(body, "decision"),
            _json(body),
        ),
    )


def _done(cursor: Cursor, position: int, event: Event, body: JsonObject) -> None:
    cursor.execute(
        sql.INSERT_DONE,
        (event.id, event.feed, event.seq, event.ts, body["task"], _text(body, "note")),
    )


_WRITERS = {
    "idea.proposed": _idea,
    "idea.support_counted": _count,
    "proposal.opened": _proposal,
    "proposal.decided": _decision,
    "task.created": _task,
    "task.completed": _done,
}


def finish(cursor: Cursor, items: Sequence[Projected]) -> None:
    """Nothing to tidy per batch."""


def reset(cursor: Cursor) -> None:
    """Drop the model's tables and create them empty."""
    for statement in sql.DROP:
        cursor.execute(statement)
    create(cursor)


def _text(body: JsonObject, key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) else None


def _json(value: object) -> str:
    return orjson.dumps(value).decode()
