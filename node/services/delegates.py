"""Network decisions taken by delegates: reading them, voting, deciding.

Queries run against the delegates read model (:mod:`node.projections.delegates`,
whose docstring holds the counting rules), with blocked feeds left out.
Membership is the networks read model's: a group counts while it is a member
of the network when the tally is read, or when the convenor decides.

Commands publish from this node's own feed, for its organisers: a vote
(``network.delegate_vote_cast``) while the decision is open and this group a
member; the result (``network.decision_made``) once it has closed, only on
the convenor's node, listing the votes it counted. The convenor's node also
decides by itself: a background task looks every :attr:`Delegates.interval`
seconds for decisions it convenes that have closed and are not decided.
Deciding is serialised by one lock and first waits until the read models
hold everything stored, so a decision is published once, whether by hand,
by the task, or after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from typing import TYPE_CHECKING

import orjson

from node.errors import ConflictError, ForbiddenError, NodeError, NotFoundError
from node.projections import delegates
from node.projections.delegates import DecisionRecord, Tally, count, counted_votes
from node.storage.private import TokenGrant
from protocol import Event, JsonObject, JsonValue, SchemaViolationError

if TYPE_CHECKING:
    from node.services.runtime import NodeServices

__all__ = ["Delegates", "decision_json"]

logger = logging.getLogger(__name__)

#: The most votes a ``network.decision_made`` lists (its schema's bound).
MAX_LISTED = 1000
#: How long deciding waits for the read models to hold everything stored.
CATCH_UP_SECONDS = 10.0


class Delegates:
    """Network decisions of a running node: queries, votes and results."""

    #: Seconds between looks for closed decisions to decide.
    interval: float = 30.0

    def __init__(self, node: NodeServices) -> None:
        """Serve from the node's stores (see :class:`NodeServices`)."""
        self.node = node
        self._lock = asyncio.Lock()
        self._decided: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    async def list_decisions(
        self, network_id: str, *, limit: int = 50, after: str | None = None
    ) -> JsonObject:
        """A network's decisions, newest opened first.

        Args:
            network_id: The event id of its ``network.formed``.
            limit: The page size, brought into 1..100.
            after: The ``next`` of the previous page, or None to start.

        Returns:
            ``{"decisions": [...], "next": cursor or None}``, each decision as
            :func:`decision_json` shapes it.

        Raises:
            NotFoundError: The network is not held, or its convenor blocked.
            InvalidCursorError: ``after`` is not a cursor this node handed out.
        """
        node = self.node
        blocked = await node.read(node.store.federation.blocked)
        page = await node.read(
            lambda: node.readmodels.query(
                delegates.list_decisions,
                network_id,
                blocked=blocked,
                limit=limit,
                after=after,
            )
        )
        if page is None:
            raise NotFoundError(f"no network {network_id} is held here")
        now = node.clock()
        items: list[JsonValue] = [decision_json(r, now) for r in page.items]
        return {"decisions": items, "next": page.next}

    async def get_decision(self, decision_id: str) -> JsonObject:
        """One decision with its votes, tally and result.

        Args:
            decision_id: The event id of its ``network.decision_opened``.

        Returns:
            The decision as :func:`decision_json` shapes it.

        Raises:
            NotFoundError: Not held, redacted, not opened by its network's
                convenor, or that network is not held or blocked.
        """
        return decision_json(await self._record(decision_id), self.node.clock())

    async def vote(
        self, grant: TokenGrant, decision_id: str, vote: JsonObject
    ) -> Event:
        """Cast this group's vote: ``{choice | ranking, reason?}``.

        A later vote replaces the group's earlier one until the close.

        Args:
            grant: The organiser voting for the group.
            decision_id: The event id of the ``network.decision_opened``.
            vote: ``choice`` (an option id) or, for kind rank, ``ranking``
                (option ids, most preferred first), and ``reason``.

        Returns:
            The published ``network.delegate_vote_cast``.

        Raises:
            ForbiddenError: Not an organiser.
            NotFoundError: No such decision is held.
            ConflictError: Voting has closed, or this group is not a member
                of the network.
            SchemaViolationError: The vote does not fit the decision.
            CatchingUpError: The node cannot publish yet.
        """
        _organiser(grant)
        record = await self._record(decision_id)
        closes_at = record.decision["closes_at"]
        if record.made is not None or self.node.clock() >= closes_at:
            raise ConflictError(f"voting on {decision_id} has closed")
        if self.node.key.feed not in record.members:
            raise ConflictError("this group is not a member of the decision's network")
        body: JsonObject = {"decision": decision_id, **vote}
        if not delegates.fits(record.body, body):
            field = "ranking" if record.body.get("kind") == "rank" else "choice"
            raise SchemaViolationError(
                f"give {field} of the decision's option ids", field_path=field
            )
        return await self.node.publish_on_behalf(grant, delegates.CAST, body)

    async def decide(
        self, grant: TokenGrant, decision_id: str, text: str | None = None
    ) -> Event:
        """Publish the result of a closed decision this group convenes.

        Args:
            grant: The organiser deciding.
            decision_id: The event id of the ``network.decision_opened``.
            text: A statement on the decision, when given.

        Returns:
            The published ``network.decision_made``: the result, the counts,
            and the latest vote cast before the close of each group that is
            a member now.

        Raises:
            ForbiddenError: Not an organiser, or not of the convening group.
            NotFoundError: No such decision is held.
            ConflictError: Still open, or already decided.
            SchemaViolationError: A bad ``text``.
            CatchingUpError: The node cannot publish yet.
        """
        _organiser(grant)
        return await self._decide(grant, decision_id, text)

    async def decide_due(self) -> list[Event]:
        """Decide every closed decision this group convenes and has not decided.

        Returns:
            The results published.
        """
        node = self.node
        if node.catching_up:
            return []
        blocked = await node.read(node.store.federation.blocked)
        due = await node.read(
            lambda: node.readmodels.query(
                delegates.due_decisions, node.key.feed, node.clock(), blocked=blocked
            )
        )
        made = []
        for decision_id in due:
            if decision_id in self._decided:
                continue
            try:
                made.append(await self._decide(None, decision_id, None))
            except NodeError as error:
                logger.warning("could not decide %s: %s", decision_id, error.message)
        return made

    def start(self) -> None:
        """Start deciding closed decisions in the background (once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="network-decisions")

    async def stop(self) -> None:
        """Stop the background task."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                await self.decide_due()
            except Exception:  # the loop must outlive any one failure
                logger.exception("could not decide closed network decisions")
            await asyncio.sleep(self.interval)

    async def _decide(
        self, grant: TokenGrant | None, decision_id: str, text: str | None
    ) -> Event:
        node = self.node
        async with self._lock:
            position = await node.read(node.store.max_position)
            if not await node.projector.caught_up(position, CATCH_UP_SECONDS):
                raise ConflictError("the node is still reading its log: try again")
            record = await self._record(decision_id)
            if record.decision["feed"] != node.key.feed:
                raise ForbiddenError("only the network's convening group decides")
            if record.made is not None or decision_id in self._decided:
                raise ConflictError(f"{decision_id} is already decided")
            if node.clock() < record.decision["closes_at"]:
                raise ConflictError(f"voting on {decision_id} is still open")
            counted = counted_votes(record)[:MAX_LISTED]
            tally = count(record.body, [_body(vote) for vote in counted])
            body: JsonObject = {
                "decision": decision_id,
                "counts": tally.counts,
                "votes": [vote["id"] for vote in counted],
            }
            if tally.result is not None:
                body["result"] = tally.result
            if text is not None:
                body["text"] = text
            event = await node.publish_on_behalf(grant, delegates.MADE, body)
            self._decided.add(decision_id)
            return event

    async def _record(self, decision_id: str) -> DecisionRecord:
        node = self.node
        for attempt in range(2):
            blocked = await node.read(node.store.federation.blocked)
            found = await node.read(
                node.readmodels.query,
                delegates.get_decision,
                decision_id,
                blocked=blocked,
            )
            if found is not None:
                return found
            if attempt == 0 and not await node.settled():
                break
        raise NotFoundError(f"no network decision {decision_id} is held here")


def _organiser(grant: TokenGrant) -> None:
    if grant.role != "organiser":
        raise ForbiddenError("only organisers act for the group in its networks")


def decision_json(record: DecisionRecord, now: int) -> JsonObject:
    """A decision as the API shows it.

    Args:
        record: The decision and what names it.
        now: The time, for ``status``.

    Returns:
        ``{id, network: {id, name}, convenor: {feed, name}, title, text,
        kind, options, closes_at, tz, opened_at, status, votes, tally,
        result}``: ``status`` is ``open``, ``closed`` or ``decided``;
        ``votes`` the groups' votes that count (``{id, feed, name, choice,
        ranking, reason, cast_at}``); ``tally`` the provisional count
        (``{provisional: true, result, counts, groups}``) until a result is
        held, then None; ``result`` None until then, else ``{id,
        decided_at, result, counts, groups, votes, counted_from, text}``.
    """
    row, body, made = record.decision, record.body, record.made
    status = "decided" if made else "closed" if now >= row["closes_at"] else "open"
    answer: JsonObject = {
        "id": row["id"],
        "network": {"id": row["network"], "name": record.network_name},
        "convenor": _group(record, row["feed"]),
        "title": body.get("title"),
        "text": body.get("text"),
        "kind": body.get("kind"),
        "options": [_option(o) for o in _list(body.get("options"))],
        "closes_at": row["closes_at"],
        "tz": body.get("tz"),
        "opened_at": row["ts"],
        "status": status,
        "tally": None,
        "result": None,
    }
    if made is None:
        counted = counted_votes(record)
        tally = count(body, [_body(vote) for vote in counted])
        answer["tally"] = {"provisional": True, **_counts(tally, len(counted))}
    else:
        counted = _listed(record, made)
        answer["result"] = _result(record, made, counted)
    answer["votes"] = [_vote(record, vote) for vote in counted]
    return answer


def _listed(record: DecisionRecord, made: sqlite3.Row) -> list[sqlite3.Row]:
    """The listed votes held, fitting and not of a blocked feed."""
    by_id = {vote["id"]: vote for vote in record.votes}
    held = [by_id.get(str(vote_id)) for vote_id in _list(_body(made).get("votes"))]
    return [
        vote
        for vote in held
        if vote is not None
        and vote["feed"] not in record.blocked
        and delegates.fits(record.body, _body(vote))
    ]


def _result(
    record: DecisionRecord, made: sqlite3.Row, counted: list[sqlite3.Row]
) -> JsonObject:
    published = _body(made)
    listed = _list(published.get("votes"))
    if len(counted) == len(listed):
        tally = count(record.body, [_body(vote) for vote in counted])
        source = "votes"
    else:
        result = published.get("result")
        tally = Tally(
            result if isinstance(result, str) else None, _list(published.get("counts"))
        )
        source = "published"
    return {
        "id": made["id"],
        "decided_at": made["ts"],
        **_counts(tally, len(listed)),
        "votes": listed,
        "counted_from": source,
        "text": published.get("text"),
    }


def _counts(tally: Tally, groups: int) -> JsonObject:
    return {"result": tally.result, "counts": tally.counts, "groups": groups}


def _vote(record: DecisionRecord, vote: sqlite3.Row) -> JsonObject:
    body = _body(vote)
    return {
        "id": vote["id"],
        **_group(record, vote["feed"]),
        "choice": body.get("choice"),
        "ranking": body.get("ranking"),
        "reason": body.get("reason"),
        "cast_at": vote["ts"],
    }


def _option(option: JsonValue) -> JsonObject:
    value = option if isinstance(option, dict) else {}
    keys = ("id", "label", "starts_at", "ends_at")
    return {key: value.get(key) for key in keys}


def _group(record: DecisionRecord, feed: str) -> JsonObject:
    return {"feed": feed, "name": record.names.get(feed)}


def _list(value: JsonValue) -> list[JsonValue]:
    return value if isinstance(value, list) else []


def _body(row: sqlite3.Row) -> JsonObject:
    body: JsonObject = orjson.loads(row["body"])
    return body
