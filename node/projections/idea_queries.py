"""Queries of the ideas read model, answered as the members' API shows them.

Each takes a read cursor first (run through ``ReadModels.query``) and the
feeds to leave out (``blocked``); the rules of who counts are in
:mod:`.ideas`. Listings go newest first by (``ts``, id) with an opaque cursor.
What a consent decision's ``result`` means is in :data:`OUTCOMES`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import orjson

from node.projections import ideas_sql as sql
from node.projections.fields import (
    decode_ts_cursor,
    encode_cursor,
)
from node.projections.model import clamp
from node.storage.sqldb import Cursor
from protocol import JsonObject, JsonValue

__all__ = [
    "IDEA_STATUSES",
    "MAX_PAGE",
    "PROPOSAL_STATUSES",
    "TASK_STATUSES",
    "DecisionChain",
    "Page",
    "due_proposals",
    "get_decision",
    "get_idea",
    "get_proposal",
    "list_ideas",
    "list_proposals",
    "list_tasks",
]

MAX_PAGE = 200
IDEA_STATUSES = ("open", "proposed", "decided")
PROPOSAL_STATUSES = ("open", "closed", "decided")
TASK_STATUSES = ("open", "done")
#: What a published result means, by the proposal's kind.
_CONSENT = {"yes": "agreed", "no": "not-agreed", "block": "blocked"}
_START_TS = 2**62
_MAX_WORDS = 8
A_MEMBER = "a member"


@dataclass(frozen=True, slots=True)
class Page:
    """A page of a listing: its items and the cursor of the next, or None."""

    items: list[JsonValue]
    next: str | None


@dataclass(frozen=True, slots=True)
class DecisionChain:
    """A decision with what it came from and what followed it.

    Attributes:
        decision: The decision as :func:`decision_view` shapes it.
        proposal: Its proposal, None while not held.
        idea: The proposal's idea, None when it names none or it is not held.
        tasks: Its group's tasks naming it, oldest first.
        refs: Campaigns launched, actions called and meetings scheduled naming
            it, oldest first: ``{id, feed, type, ts, body}``.
    """

    decision: JsonObject
    proposal: JsonObject | None
    idea: JsonObject | None
    tasks: list[JsonObject]
    refs: list[JsonObject]


def _blocked(blocked: Iterable[str]) -> str:
    return orjson.dumps(sorted(set(blocked))).decode()


def _listing(
    cursor: Cursor,
    statement: str,
    params: Mapping[str, object],
    after: str | None,
) -> list[sqlite3.Row]:
    after_ts, after_id = _decode_cursor(after) if after else (_START_TS, "")
    cursor.execute(statement, {**params, "after_ts": after_ts, "after_id": after_id})
    return list(cursor.fetchall())


def _page(rows: list[sqlite3.Row], items: list[JsonValue], size: int) -> Page:
    last = rows[-1] if len(rows) == size else None
    return Page(items, _encode_cursor(last["ts"], last["id"]) if last else None)


# -- ideas --------------------------------------------------------------------


def list_ideas(
    cursor: Cursor,
    *,
    feed: str | None = None,
    status: str | None = None,
    tag: str | None = None,
    q: str | None = None,
    blocked: Iterable[str] = (),
    limit: int = 50,
    after: str | None = None,
) -> Page:
    """Ideas, newest first, with their latest support count and proposals.

    Raises:
        InvalidCursorError: ``after`` is not a cursor this node handed out.
    """
    size = clamp(limit, MAX_PAGE)
    words = (q or "").casefold().split()[:_MAX_WORDS]
    params = {
        "blocked": _blocked(blocked),
        "feed": feed,
        "status": status,
        "tag": tag,
        "words": orjson.dumps(words).decode(),
        "limit": size,
    }
    rows = _listing(cursor, sql.LIST_IDEAS, params, after)
    skip = _blocked(blocked)
    items: list[JsonValue] = [_idea(cursor, row, skip) for row in rows]
    return _page(rows, items, size)


def get_idea(
    cursor: Cursor, idea_id: str, *, blocked: Iterable[str] = ()
) -> JsonObject | None:
    """One idea, or None when not held, redacted or of a blocked feed."""
    skip = _blocked(blocked)
    cursor.execute(sql.GET_IDEA, {"id": idea_id, "blocked": skip})
    row = cursor.fetchone()
    return None if row is None else _idea(cursor, row, skip)


def _idea(cursor: Cursor, row: sqlite3.Row, blocked: str) -> JsonObject:
    cursor.execute(sql.PROPOSALS_OF_IDEA, {"idea": row["id"], "blocked": blocked})
    proposals: list[JsonValue] = [
        {
            "id": p["id"],
            "feed": p["feed"],
            "title": p["title"],
            "decision": p["decision"],
        }
        for p in cursor.fetchall()
    ]
    return {
        "id": row["id"],
        "feed": row["feed"],
        "group": _group(cursor, row["feed"]),
        "title": row["title"],
        "text": row["text"],
        "tags": orjson.loads(row["tags"]),
        "proposer": row["proposer"] or A_MEMBER,
        "supporters": row["supporters"] or 0,
        "status": row["status"],
        "proposed_at": row["ts"],
        "proposals": proposals,
    }


# -- proposals and decisions --------------------------------------------------


def list_proposals(
    cursor: Cursor,
    *,
    now: int,
    feed: str | None = None,
    status: str | None = None,
    blocked: Iterable[str] = (),
    limit: int = 50,
    after: str | None = None,
) -> Page:
    """Proposals, newest first; ``status`` open, closed or decided at ``now``.

    Raises:
        InvalidCursorError: ``after`` is not a cursor this node handed out.
    """
    size = clamp(limit, MAX_PAGE)
    params = {
        "blocked": _blocked(blocked),
        "now": now,
        "feed": feed,
        "status": status,
        "limit": size,
    }
    rows = _listing(cursor, sql.LIST_PROPOSALS, params, after)
    items: list[JsonValue] = [_proposal(cursor, row) for row in rows]
    return _page(rows, items, size)


def get_proposal(
    cursor: Cursor, proposal_id: str, *, now: int, blocked: Iterable[str] = ()
) -> JsonObject | None:
    """One proposal with its decision once decided; None when not held."""
    params = {"id": proposal_id, "now": now, "blocked": _blocked(blocked)}
    cursor.execute(sql.GET_PROPOSAL, params)
    row = cursor.fetchone()
    return None if row is None else _proposal(cursor, row)


def _proposal(cursor: Cursor, row: sqlite3.Row) -> JsonObject:
    decision = None
    if row["decision"] is not None:
        cursor.execute(sql.GET_DECISION, {"id": row["decision"], "blocked": "[]"})
        found = cursor.fetchone()
        decision = None if found is None else decision_view(found, row["kind"])
    return {
        "id": row["id"],
        "feed": row["feed"],
        "group": _group(cursor, row["feed"]),
        "title": row["title"],
        "text": row["text"],
        "kind": row["kind"],
        "options": orjson.loads(row["options"]),
        "closes_at": row["closes_at"],
        "tz": row["tz"],
        "idea": row["idea"],
        "status": row["status"],
        "opened_at": row["ts"],
        "decision": decision,
    }


def decision_view(row: sqlite3.Row, kind: str | None) -> JsonObject:
    """A ``proposal.decided`` as answers show it.

    ``outcome`` reads the result: for consent ``agreed`` (yes), ``blocked``
    or ``not-agreed`` (no); for the other kinds ``chosen``; ``tie`` when no
    option won although members voted, ``no-votes`` when none did; None
    while the proposal's kind is not known (the proposal is not held).
    """
    body = orjson.loads(row["body"])
    result = body.get("result")
    voters = body.get("voters", 0)
    if result is None:
        outcome: str | None = "tie" if voters else "no-votes"
    elif kind == "consent":
        outcome = _CONSENT.get(result, "chosen")
    else:
        outcome = "chosen" if kind is not None else None
    return {
        "id": row["id"],
        "feed": row["feed"],
        "proposal": body["proposal"],
        "result": result,
        "outcome": outcome,
        "counts": body.get("counts", []),
        "voters": voters,
        "eligible": body.get("eligible"),
        "text": body.get("text"),
        "decided_at": row["ts"],
    }


def due_proposals(cursor: Cursor, feed: str, now: int, limit: int) -> list[str]:
    """A feed's proposals that closed by ``now`` with no decision held."""
    cursor.execute(sql.DUE_PROPOSALS, {"feed": feed, "now": now, "limit": limit})
    return [row["id"] for row in cursor.fetchall()]


def get_decision(
    cursor: Cursor, decision_id: str, *, now: int, blocked: Iterable[str] = ()
) -> DecisionChain | None:
    """A decision and its chain; None when not held, redacted or blocked."""
    skip = _blocked(blocked)
    cursor.execute(sql.GET_DECISION, {"id": decision_id, "blocked": skip})
    row = cursor.fetchone()
    if row is None:
        return None
    body = orjson.loads(row["body"])
    proposal = get_proposal(cursor, body["proposal"], now=now, blocked=blocked)
    if proposal is not None and proposal["feed"] != row["feed"]:
        proposal = None  # only the proposing group decides its proposal
    kind = str(proposal["kind"]) if proposal else None
    idea_id = proposal.get("idea") if proposal else None
    idea = (
        get_idea(cursor, idea_id, blocked=blocked) if isinstance(idea_id, str) else None
    )
    cursor.execute(
        sql.TASKS_OF_DECISION, {"decision": decision_id, "feed": row["feed"]}
    )
    tasks = [task_view(cursor, task) for task in cursor.fetchall()]
    cursor.execute(sql.REFS_OF_DECISION, {"decision": decision_id, "blocked": skip})
    refs: list[JsonObject] = [
        {
            "id": ref["id"],
            "feed": ref["feed"],
            "type": ref["type"],
            "ts": ref["ts"],
            "body": orjson.loads(ref["body"]),
        }
        for ref in cursor.fetchall()
    ]
    return DecisionChain(decision_view(row, kind), proposal, idea, tasks, refs)


# -- tasks --------------------------------------------------------------------


def list_tasks(
    cursor: Cursor,
    *,
    feed: str | None = None,
    decision: str | None = None,
    status: str | None = None,
    blocked: Iterable[str] = (),
    limit: int = 50,
    after: str | None = None,
) -> Page:
    """Tasks, newest first; ``status`` open or done.

    Raises:
        InvalidCursorError: ``after`` is not a cursor this node handed out.
    """
    size = clamp(limit, MAX_PAGE)
    params = {
        "blocked": _blocked(blocked),
        "feed": feed,
        "decision": decision,
        "status": status,
        "limit": size,
    }
    rows = _listing(cursor, sql.LIST_TASKS, params, after)
    items: list[JsonValue] = [task_view(cursor, row) for row in rows]
    return _page(rows, items, size)


def task_view(cursor: Cursor, row: sqlite3.Row) -> JsonObject:
    """A task as answers show it: its owner only by an agreed display name."""
    body = orjson.loads(row["body"])
    done = row["done_at"] is not None
    return {
        "id": row["id"],
        "feed": row["feed"],
        "group": _group(cursor, row["feed"]),
        "title": body["title"],
        "text": body.get("text"),
        "due_at": body.get("due_at"),
        "owner": body.get("owner_display_name") or A_MEMBER,
        "decision": body.get("decision"),
        "campaign": body.get("campaign"),
        "meeting": body.get("meeting"),
        "status": "done" if done else "open",
        "created_at": row["ts"],
        "completed": {"at": row["done_at"], "note": row["done_note"]} if done else None,
    }


def _group(cursor: Cursor, feed: str) -> JsonObject:
    cursor.execute(sql.GROUP_NAME, (feed,))
    found = cursor.fetchone()
    return {"feed": feed, "name": None if found is None else found["name"]}


def _encode_cursor(ts: int, item_id: str) -> str:
    return encode_cursor(ts, item_id)


def _decode_cursor(text: str) -> tuple[int, str]:
    return decode_ts_cursor(text, "a cursor of this listing")
