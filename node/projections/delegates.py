"""The delegates read model: network decisions taken by member groups' votes.

A ``network.decision_opened`` is a decision (its event id is the decision's
id); it counts only when its network is held and was formed by the same feed,
the network's convenor. Member groups vote from their own feeds
(``network.delegate_vote_cast``) and the convenor publishes the result
(``network.decision_made``), listing the vote events it counted. Every event
is stored keyed by its own id and indexed by the decision it names, whether
or not that decision is held yet (:mod:`.delegates_sql`), so who counts is
decided when a query reads them and arrival order never matters:

- Before a result is held, the provisional tally counts, for each group that
  is a member of the network now (as the networks read model gives it), its
  latest vote (by its own feed's ``seq``) whose ``ts`` is before
  ``closes_at`` and that fits the decision (a known option; a ranking for
  kind ``rank``, a choice otherwise). A later vote replaces an earlier one;
  a vote after the close or from a group that is not a member is ignored.
- Once the convenor's ``network.decision_made`` is held (its latest by seq),
  the result is exactly the one it lists: counted from the listed vote
  events when every one of them is held, fits and is not of a blocked feed,
  else the counts and result it published. Never a local recount of other
  votes, so every node shows the same result.

Counting (:func:`count`, the same rules as a group's proposals): ``consent``
is blocked by any ``block``, else agreed (``yes``) when more groups said yes
than no, not agreed (``no``) otherwise; ``choose_one`` and ``pick_time`` go
to the most votes; ``rank`` scores Borda points (of n options the first
preference scores n-1, the next n-2 …, unranked 0) and ``votes`` counts
first preferences. A tie for the top, or no votes, leaves the result out.

A redaction deletes the row its target made (a redacted result leaves the
decision provisional again). Blocked feeds are passed in by the caller.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import orjson

from node.projections import delegates_sql as sql
from node.projections import networks
from node.projections.fields import (
    decode_ts_cursor,
    encode_cursor,
)
from node.projections.model import Projected, clamp
from node.storage.feeds import redaction_target
from node.storage.sqldb import Cursor
from protocol import JsonObject, JsonValue

__all__ = [
    "MAX_PAGE",
    "DecisionRecord",
    "DecisionsPage",
    "Tally",
    "apply",
    "count",
    "counted_votes",
    "create",
    "due_decisions",
    "finish",
    "fits",
    "get_decision",
    "list_decisions",
    "reset",
]

#: The largest page of a network's decisions.
MAX_PAGE = 100
OPENED, CAST, MADE = (
    "network.decision_opened",
    "network.delegate_vote_cast",
    "network.decision_made",
)
_START_TS = 2**62


def create(cursor: Cursor) -> None:
    """Create the delegates tables."""
    for statement in sql.CREATE:
        cursor.execute(statement)


def apply(cursor: Cursor, item: Projected) -> None:
    """Store a valid decision event; forget what a redaction's target made."""
    event = item.event
    target = redaction_target(event)
    if target is not None:
        for statement in sql.DELETE:
            cursor.execute(statement, (target, event.feed))
    if not item.is_valid or event.body is None:
        return
    body = event.body
    text = orjson.dumps(body).decode()
    if event.type == OPENED:
        cursor.execute(
            sql.INSERT_DECISION,
            (
                event.id,
                item.position,
                event.feed,
                event.ts,
                body["network"],
                body["closes_at"],
                text,
            ),
        )
    elif event.type in (CAST, MADE):
        statement = sql.INSERT_VOTE if event.type == CAST else sql.INSERT_RESULT
        row = (event.id, item.position, body["decision"], event.feed, event.seq)
        cursor.execute(statement, (*row, event.ts, text))


def finish(cursor: Cursor, items: Sequence[Projected]) -> None:
    """Nothing to tidy per batch."""


def reset(cursor: Cursor) -> None:
    """Drop the delegates tables and create them empty."""
    for statement in sql.DROP:
        cursor.execute(statement)
    create(cursor)


# -- counting -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tally:
    """Votes counted for a decision.

    Attributes:
        result: The winning option's id; None for a tie or no votes.
        counts: ``{option, votes}`` per option in order (``score`` for rank).
    """

    result: str | None
    counts: list[JsonValue]


def _option_ids(decision: JsonObject) -> list[str]:
    options = decision.get("options")
    if not isinstance(options, list):
        return []
    return [str(o["id"]) for o in options if isinstance(o, dict) and "id" in o]


def fits(decision: JsonObject, vote: JsonObject) -> bool:
    """Whether a vote's body answers the decision's kind with its options."""
    ids = set(_option_ids(decision))
    if decision.get("kind") == "rank":
        ranking = vote.get("ranking")
        return (
            "choice" not in vote
            and isinstance(ranking, list)
            and bool(ranking)
            and all(isinstance(o, str) and o in ids for o in ranking)
        )
    return "ranking" not in vote and vote.get("choice") in ids


def count(decision: JsonObject, votes: Iterable[JsonObject]) -> Tally:
    """Count fitting votes by the rules of this module's docstring."""
    ids = _option_ids(decision)
    firsts, scores = dict.fromkeys(ids, 0), dict.fromkeys(ids, 0)
    is_rank = decision.get("kind") == "rank"
    for vote in votes:
        if not fits(decision, vote):
            continue
        ranking = _strings(vote["ranking"]) if is_rank else [str(vote["choice"])]
        firsts[ranking[0]] += 1
        for place, option in enumerate(ranking):
            scores[option] += len(ids) - 1 - place
    counts: list[JsonValue] = [
        {"option": o, "votes": firsts[o], **({"score": scores[o]} if is_rank else {})}
        for o in ids
    ]
    if decision.get("kind") == "consent":
        yes, no = firsts.get("yes", 0), firsts.get("no", 0)
        if not any(firsts.values()):
            return Tally(None, counts)
        if firsts.get("block", 0):
            return Tally("block", counts)
        return Tally("yes" if yes > no else "no", counts)
    return Tally(_top(scores if is_rank else firsts), counts)


def _strings(value: JsonValue) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _top(points: dict[str, int]) -> str | None:
    best = max(points.values(), default=0)
    leaders = [option for option, value in points.items() if value == best]
    return leaders[0] if best > 0 and len(leaders) == 1 else None


# -- queries ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """A held decision and everything stored that names it.

    Attributes:
        decision: Its row; ``body`` is the opening event's body (JSON text).
        body: That body, decoded.
        network_name: The network's name.
        members: The network's member feeds now, blocked ones left out.
        votes: Every vote naming it, by feed and seq (blocked ones too: the
            caller decides, see :func:`counted_votes`).
        made: The convenor's latest ``network.decision_made`` for it.
        names: The group name of every feed involved (None without profile).
        blocked: The feeds left out.
    """

    decision: sqlite3.Row
    body: JsonObject
    network_name: str
    members: tuple[str, ...]
    votes: tuple[sqlite3.Row, ...]
    made: sqlite3.Row | None
    names: dict[str, str | None]
    blocked: frozenset[str]


@dataclass(frozen=True, slots=True)
class DecisionsPage:
    """A page of a network's decisions, newest opened first.

    Attributes:
        items: The decisions.
        next: An opaque cursor for the next page; None when this is the last.
    """

    items: list[DecisionRecord]
    next: str | None


def counted_votes(record: DecisionRecord) -> list[sqlite3.Row]:
    """Of each member group, its latest fitting vote cast before the close."""
    closes_at = record.decision["closes_at"]
    latest: dict[str, sqlite3.Row] = {}
    for vote in record.votes:  # by feed, then seq: a later one replaces
        is_member = vote["feed"] in record.members
        if is_member and vote["ts"] < closes_at and fits(record.body, _body(vote)):
            latest[vote["feed"]] = vote
    return [latest[feed] for feed in record.members if feed in latest]


def get_decision(
    cursor: Cursor, decision_id: str, *, blocked: Iterable[str] = ()
) -> DecisionRecord | None:
    """One decision with its votes and result.

    Args:
        cursor: A read cursor.
        decision_id: The event id of its ``network.decision_opened``.
        blocked: Feeds to leave out.

    Returns:
        The decision, or None when it is not held, redacted, not opened by
        its network's convenor, or that network is not held or blocked.
    """
    skip = frozenset(blocked)
    cursor.execute(sql.GET_DECISION, {"id": decision_id, "blocked": _json(skip)})
    row = cursor.fetchone()
    if row is None:
        return None
    cursor.execute(sql.NETWORK, {"id": row["network"], "blocked": _json(skip)})
    network = cursor.fetchone()
    members = networks.member_feeds(cursor, row["network"], blocked=skip)
    return _record(cursor, row, network["name"], members, skip)


def list_decisions(
    cursor: Cursor,
    network_id: str,
    *,
    blocked: Iterable[str] = (),
    limit: int = 50,
    after: str | None = None,
) -> DecisionsPage | None:
    """A network's decisions, newest opened first (``ts``, then id).

    Args:
        cursor: A read cursor.
        network_id: The event id of its ``network.formed``.
        blocked: Feeds to leave out.
        limit: The page size, brought into 1..100.
        after: The ``next`` of the previous page, or None to start.

    Returns:
        The page; None when the network is not held or its convenor blocked.

    Raises:
        InvalidCursorError: ``after`` is not a cursor this node handed out.
    """
    skip = frozenset(blocked)
    size = clamp(limit, MAX_PAGE)
    after_ts, after_id = _decode_cursor(after) if after else (_START_TS, "")
    cursor.execute(sql.NETWORK, {"id": network_id, "blocked": _json(skip)})
    network = cursor.fetchone()
    if network is None:
        return None
    members = networks.member_feeds(cursor, network_id, blocked=skip)
    cursor.execute(
        sql.LIST_DECISIONS,
        {
            "network": network_id,
            "blocked": _json(skip),
            "after_ts": after_ts,
            "after_id": after_id,
            "limit": size,
        },
    )
    rows = cursor.fetchall()
    items = [_record(cursor, row, network["name"], members, skip) for row in rows]
    last = rows[-1] if len(rows) == size else None
    return DecisionsPage(items, _encode_cursor(last) if last is not None else None)


def due_decisions(
    cursor: Cursor,
    feed: str,
    now: int,
    *,
    blocked: Iterable[str] = (),
    limit: int = 100,
) -> list[str]:
    """Decisions a feed convenes that have closed and it has not decided.

    Args:
        cursor: A read cursor.
        feed: The convenor's feed (this node's own).
        now: The time, in milliseconds.
        blocked: Feeds to leave out.
        limit: The most ids to answer.

    Returns:
        Their ids, the earliest closed first.
    """
    cursor.execute(
        sql.DUE_DECISIONS,
        {"feed": feed, "now": now, "blocked": _json(blocked), "limit": limit},
    )
    return [row["id"] for row in cursor.fetchall()]


def _record(
    cursor: Cursor,
    row: sqlite3.Row,
    network_name: str,
    members: tuple[str, ...],
    blocked: frozenset[str],
) -> DecisionRecord:
    cursor.execute(sql.SELECT_VOTES, (row["id"],))
    votes = tuple(cursor.fetchall())
    cursor.execute(sql.SELECT_RESULT, (row["id"], row["feed"]))
    made = cursor.fetchone()
    names: dict[str, str | None] = {}
    for feed in (row["feed"], *members, *(vote["feed"] for vote in votes)):
        if feed not in names:
            cursor.execute(sql.GROUP_NAME, (feed,))
            group = cursor.fetchone()
            names[feed] = None if group is None else group["name"]
    return DecisionRecord(
        row, _body(row), network_name, members, votes, made, names, blocked
    )


def _body(row: sqlite3.Row) -> JsonObject:
    body: JsonObject = orjson.loads(row["body"])
    return body


def _json(feeds: Iterable[str]) -> str:
    return orjson.dumps(sorted(feeds)).decode()


def _encode_cursor(row: sqlite3.Row) -> str:
    return encode_cursor(row["ts"], row["id"])


def _decode_cursor(text: str) -> tuple[int, str]:
    return decode_ts_cursor(text, "a decisions cursor")
