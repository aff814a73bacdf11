"""Counting pledges: which conditional pledges hold, the totals, the answers.

**Which pledges count** (``docs/api.md#pledges``). A pledge without a
condition always counts. A pledge with ``condition: {"others": n}`` counts
when at least ``n`` *other* pledgers count towards the same target, where
the others are

- the pledgers every other group last reported for the target (the
  ``pledgers`` of each other feed's latest ``pledge.totals_reported``, as this
  node holds them; blocked feeds left out), plus
- this node's other members whose pledges count.

Conditions on one node can lift one another ("4 hours if 10 others pledge
too", said by eleven members, counts all eleven), so the counted set is the
largest one in which every counted pledge's condition holds: start from every
pledge and drop, round by round, each whose condition fails with the others
still in, until none fails. The result does not depend on any order. Other
groups' conditional pledges are seen only once their group counts them, so
conditional pledges on two nodes that would hold only together stay off
until enough pledges count somewhere.

:class:`PublishedTotals` keeps the own feed's latest report per target, as
:class:`~node.services.rsvp_counts.PublishedCounts` does for RSVP counts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import cast

import orjson

from node.errors import ConflictError
from node.projections.pledges import TargetRecord
from node.services.own_feed import LatestOwn
from node.storage.feeds import FeedStore
from node.storage.private import HeldPledge, Pledge
from protocol import FeedId, JsonObject, JsonValue, SchemaViolationError

__all__ = [
    "REPORTED",
    "PledgeRequest",
    "PublishedTotals",
    "check_open",
    "checked_pledge",
    "counted",
    "external_pledgers",
    "pledge_view",
    "target_view",
    "totals_body",
]

REPORTED = "pledge.totals_reported"
#: What a member sends: ``pence``, ``hours`` or ``skills`` (the target's kind)
#: and ``others`` from ``condition``, each None when left out.
PledgeRequest = tuple[int | None, int | None, list[str] | None, int | None]
_MAX_OTHERS = 100_000_000
#: The schema's bounds of a report's totals (a sum is clamped to them).
MAX_PENCE, MAX_HOURS, MAX_PLEDGERS = 100_000_000_000, 10_000_000, 100_000_000


def counted(pledges: Sequence[HeldPledge], external: int) -> list[HeldPledge]:
    """The pledges that count, by the rule in this module's docstring.

    Args:
        pledges: This node's members' pledges to one target.
        external: The pledgers other groups last reported for it.

    Returns:
        The counted pledges, in the order given.
    """
    live = list(pledges)
    while True:
        others = external + len(live) - 1
        keep = [
            held
            for held in live
            if held.pledge.others is None or others >= held.pledge.others
        ]
        if len(keep) == len(live):
            return keep
        live = keep


def external_pledgers(record: TargetRecord, own: str) -> int:
    """The pledgers other groups last reported for a target."""
    return sum(r["pledgers"] for r in record.reports if r["feed"] != own)


def totals_body(record: TargetRecord, pledges: Sequence[HeldPledge]) -> JsonObject:
    """The ``pledge.totals_reported`` body for counted pledges.

    Args:
        record: The target.
        pledges: The pledges that count.

    Returns:
        ``{target, pledgers}`` with ``total_pence``, ``total_hours`` or
        ``skills`` (each of the target's skills with how many pledged it)
        by the target's kind.
    """
    row = record.target
    body: JsonObject = {
        "target": row["id"],
        "pledgers": min(len(pledges), MAX_PLEDGERS),
    }
    if row["kind"] == "money":
        total = sum(h.pledge.pence or 0 for h in pledges)
        body["total_pence"] = min(total, MAX_PENCE)
    elif row["kind"] == "time":
        body["total_hours"] = min(sum(h.pledge.hours or 0 for h in pledges), MAX_HOURS)
    else:
        body["skills"] = [
            {
                "skill": skill,
                "pledgers": sum(skill in h.pledge.skills for h in pledges),
            }
            for skill in orjson.loads(row["skills"])
        ]
    return body


def target_view(record: TargetRecord) -> JsonObject:
    """A target as the public answers show it.

    Returns:
        ``{id, feed, group, title, kind, text, subject, target_pence,
        target_hours, skills, closes_at, replaces, replaced_by, status,
        set_at, totals, progress}``: ``totals`` the latest report of each
        group ``[{group, pledgers, total_pence, total_hours, skills,
        reported_at}]``, ``progress`` their sum ``{pledgers, total_pence,
        total_hours, skills, permille}``.
    """
    row = record.target
    skills: list[str] = orjson.loads(row["skills"])
    totals: list[JsonValue] = [_report(report) for report in record.reports]
    subject: JsonValue = None
    if row["subject"] is not None:
        found = record.subject
        subject = {
            "id": row["subject"],
            "type": found["type"] if found else None,
            "feed": found["feed"] if found else None,
            "title": found["title"] if found else None,
        }
    return {
        "id": row["id"],
        "feed": row["feed"],
        "group": {"feed": row["feed"], "name": row["group_name"]},
        "title": row["title"],
        "kind": row["kind"],
        "text": row["text"],
        "subject": subject,
        "target_pence": row["target_pence"],
        "target_hours": row["target_hours"],
        "skills": cast(list[JsonValue], skills),
        "closes_at": row["closes_at"],
        "replaces": row["replaces"],
        "replaced_by": row["replaced_by"],
        "status": row["status"],
        "set_at": row["ts"],
        "totals": totals,
        "progress": _progress(row, skills, record.reports),
    }


def _report(report: sqlite3.Row) -> JsonObject:
    skills = report["skills"]
    return {
        "group": {"feed": report["feed"], "name": report["group_name"]},
        "pledgers": report["pledgers"],
        "total_pence": report["total_pence"],
        "total_hours": report["total_hours"],
        "skills": orjson.loads(skills) if skills else None,
        "reported_at": report["ts"],
    }


def _progress(
    row: sqlite3.Row, skills: list[str], reports: Sequence[sqlite3.Row]
) -> JsonObject:
    progress: JsonObject = {
        "pledgers": sum(r["pledgers"] for r in reports),
        "total_pence": None,
        "total_hours": None,
        "skills": None,
        "permille": 0,
    }
    kind = row["kind"]
    if kind in ("money", "time"):
        field = "total_pence" if kind == "money" else "total_hours"
        goal = row["target_pence" if kind == "money" else "target_hours"]
        total = sum(r[field] or 0 for r in reports)
        progress[field] = total
        progress["permille"] = total * 1000 // goal if goal else 0
        return progress
    by_skill = dict.fromkeys(skills, 0)
    for report in reports:
        for entry in orjson.loads(report["skills"] or "[]"):
            if entry.get("skill") in by_skill:
                by_skill[entry["skill"]] += entry.get("pledgers", 0)
    progress["skills"] = [{"skill": s, "pledgers": n} for s, n in by_skill.items()]
    met = sum(n > 0 for n in by_skill.values())
    progress["permille"] = met * 1000 // len(skills) if skills else 0
    return progress


def check_open(record: TargetRecord) -> None:
    """Refuse a change to a replaced or closed target.

    Raises:
        ConflictError: It is.
    """
    row = record.target
    if row["replaced_by"] is not None:
        raise ConflictError("the target was replaced: pledge to its replacement")
    if row["status"] == "closed":
        raise ConflictError("pledging to this target has closed")


def checked_pledge(record: TargetRecord, request: PledgeRequest) -> Pledge:
    """A member's request as a pledge to the target, checked against its kind.

    Raises:
        SchemaViolationError: No amount of the target's kind, another kind's,
            out of bounds, or skills the target does not ask for.
    """
    pence, hours, skills, others = request
    kind = record.target["kind"]
    given = {"money": pence, "time": hours, "skills": skills}
    for name, value in given.items():
        field = {"money": "pence", "time": "hours", "skills": "skills"}[name]
        if (value is None) == (name == kind):
            wanted = "needs" if name == kind else "takes no"
            raise SchemaViolationError(
                f"a pledge to a {kind} target {wanted} {field}", field_path=field
            )
    _bounded("pence", pence, MAX_PENCE)
    _bounded("hours", hours, MAX_HOURS)
    _bounded("condition.others", others, _MAX_OTHERS)
    if skills is not None:
        wanted_skills = set(_json_list(record.target["skills"]))
        if not skills or len(set(skills)) != len(skills):
            raise SchemaViolationError(
                "skills are one or more different skills", field_path="skills"
            )
        if not set(skills) <= wanted_skills:
            raise SchemaViolationError(
                "pledge only skills the target asks for", field_path="skills"
            )
    return Pledge(record.target["id"], pence, hours, tuple(skills or ()), others, 0)


def _bounded(name: str, value: int | None, maximum: int) -> None:
    if value is not None and not 1 <= value <= maximum:
        raise SchemaViolationError(f"{name} is from 1 to {maximum}", field_path=name)


def _json_list(text: str) -> list[str]:
    value = orjson.loads(text)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def pledge_view(held: HeldPledge, is_counted: bool) -> JsonObject:
    """A pledge as its member and the organisers see it."""
    pledge = held.pledge
    return {
        "pence": pledge.pence,
        "hours": pledge.hours,
        "skills": list(pledge.skills) if pledge.skills else None,
        "condition": None if pledge.others is None else {"others": pledge.others},
        "counted": is_counted,
        "at": pledge.at,
    }


class PublishedTotals(LatestOwn[str]):
    """The own feed's latest totals per target, as published."""

    def __init__(self, store: FeedStore, feed: FeedId) -> None:
        """Follow the reports of ``feed`` in ``store``."""
        super().__init__(store, feed, REPORTED, _target)


def _target(body: JsonObject) -> str | None:
    target = body.get("target")
    return target if isinstance(target, str) else None
