"""The pledges pages: pledge targets, their progress and members' pledges.

``/pledges`` lists the targets of every group held; ``/pledges/{id}`` shows
one: what is pledged (money, hours or skills), the target, each group's
published totals, a progress bar with its words, and when pledging closes.
Members of this node pledge with a form (an amount in pounds, which is kept
in pence, hours, or the skills the target asks for; optionally "only if N
others pledge"), see their own pledge and change or withdraw it. Who
pledged stays on this node; the pages show totals only.
:func:`subject_targets` gives a campaign's (or meeting's) page its targets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from node.errors import NotFoundError
from node.projections.pledges import KINDS, STATUSES
from node.services.pledges import PledgeRequest, TargetFilters
from node.services.runtime import NodeServices
from node.web import forms
from node.web.keys import SERVICES
from node.web.pages.changes import on_field, settled
from node.web.render import page, secure
from node.web.session import member_posting, redirect, viewer
from protocol import MalformedError, parse_event_id

__all__ = ["routes", "shown_target", "subject_targets"]

routes = web.RouteTableDef()

#: How many targets a page of the list shows.
PAGE_SIZE = 30
_POUNDS = re.compile(
    r"£?\s*([0-9]{1,9}|[0-9]{1,3}(?:,[0-9]{3}){1,2})(?:\.([0-9]{1,2}))?"
)
_MAX_HOURS, _MAX_OTHERS = 10_000_000, 100_000_000


def money(pence: object) -> str:
    """Pence as pounds: "£1,250.50", or "£12" for whole pounds."""
    if not isinstance(pence, int):
        return "£0"
    pounds, rest = divmod(pence, 100)
    return f"£{pounds:,}" + (f".{rest:02d}" if rest else "")


def _amount(kind: str, pence: object, hours: object, skills: Any) -> str:
    if kind == "money":
        return money(pence)
    if kind == "time":
        return f"{hours or 0} hour{'' if hours == 1 else 's'}"
    wanted = [s for s in skills or () if isinstance(s, dict) and s.get("pledgers")]
    return ", ".join(f"{s['skill']} ({s['pledgers']})" for s in wanted) or "none yet"


def shown_target(target: Any) -> dict[str, Any]:
    """A target with its progress in words, for the pages.

    Returns:
        The target's fields plus ``shown``: ``{pledged, goal, percent, value,
        groups: [{group, pledgers, amount}]}``; ``value`` is the permille
        capped at 1000 for a ``<progress max="1000">``.
    """
    kind, progress = target["kind"], target["progress"]
    if kind == "money":
        pledged, goal = money(progress["total_pence"]), money(target["target_pence"])
    elif kind == "time":
        pledged = str(progress["total_hours"] or 0)
        goal = _amount(kind, None, target["target_hours"], None)
    else:
        met = sum(1 for s in progress["skills"] or () if s["pledgers"])
        pledged, goal = (
            f"{met} skill{'' if met == 1 else 's'}",
            str(len(target["skills"])),
        )
    groups = [
        {
            "group": report["group"],
            "pledgers": report["pledgers"],
            "amount": _amount(
                kind, report["total_pence"], report["total_hours"], report["skills"]
            ),
        }
        for report in target["totals"]
    ]
    permille = int(progress["permille"])
    return {
        **target,
        "shown": {
            "pledged": pledged,
            "goal": goal,
            "percent": permille // 10,
            "value": max(0, min(permille, 1000)),
            "groups": groups,
        },
    }


async def subject_targets(node: NodeServices, subject_id: str) -> list[dict[str, Any]]:
    """The pledge targets held for a campaign, meeting or tour, with progress."""
    found: Any = await node.pledges.list_targets(
        TargetFilters(subject=subject_id), limit=20
    )
    return [shown_target(target) for target in found["targets"]]


# --- the list -----------------------------------------------------------------


@dataclass(slots=True)
class Listing:
    """What ``/pledges`` shows: targets, or what to change."""

    targets: list[Any] = field(default_factory=list)
    next: str | None = None
    problem: forms.Problem | None = None


async def _listing(request: web.Request) -> Listing:
    node, query = request.app[SERVICES], request.query
    filters = TargetFilters(
        kind=forms.choice(query, "kind", KINDS),
        status=forms.choice(query, "status", STATUSES),
        q=forms.text(query, "q", max_length=200),
    )
    found: Any = await node.pledges.list_targets(
        filters, limit=PAGE_SIZE, after=forms.text(query, "after", max_length=300)
    )
    return Listing([shown_target(t) for t in found["targets"]], found["next"])


@routes.get("/pledges")
async def pledges_page(request: web.Request) -> web.Response:
    """Pledge targets across the network, newest first."""
    found = await forms.attempt(lambda: _listing(request))
    listing = Listing(problem=found) if isinstance(found, forms.Problem) else found
    return await page(
        request,
        "pledges.html",
        status=listing.problem.status if listing.problem else 200,
        listing=listing,
        query=request.query,
        kinds=KINDS,
        statuses=STATUSES,
        nav="ideas",
    )


# --- one target ---------------------------------------------------------------


def _target_id(request: web.Request) -> str:
    return parse_event_id(request.match_info["id"], field="id")


def _pledged(kind: str, pledge: Any) -> str:
    """A member's own pledge in words: "£12.50", "4 hours", "driving"."""
    if pledge is None:
        return ""
    if kind == "skills":
        return ", ".join(pledge["skills"] or ())
    return _amount(kind, pledge["pence"], pledge["hours"], None)


def _prefill(pledge: Any, skills: list[str]) -> dict[str, str]:
    """The pledge form's values from the member's current pledge."""
    if pledge is None:
        return {}
    shown: dict[str, str] = {}
    if pledge["pence"] is not None:
        shown["pounds"] = money(pledge["pence"]).removeprefix("£").replace(",", "")
    if pledge["hours"] is not None:
        shown["hours"] = str(pledge["hours"])
    for index, skill in enumerate(skills):
        if skill in (pledge["skills"] or ()):
            shown[f"skill-{index}"] = "yes"
    if pledge["condition"] is not None:
        shown["others"] = str(pledge["condition"]["others"])
    return shown


async def _target_page(
    request: web.Request,
    *,
    problem: forms.Problem | None = None,
    typed: dict[str, str] | None = None,
) -> web.Response:
    node = request.app[SERVICES]
    target_id = _target_id(request)
    target = shown_target(await node.pledges.get_target(target_id))
    seen = await viewer(request)
    mine: Any = None
    if seen.grant is not None:
        mine = await node.pledges.mine(seen.grant, target_id)
    pledge = mine["pledge"] if mine else None
    return await page(
        request,
        "pledge_target.html",
        status=problem.status if problem else 200,
        target=target,
        mine=pledge,
        mine_amount=_pledged(target["kind"], pledge),
        typed=typed if typed is not None else _prefill(pledge, target["skills"]),
        problem=problem,
        nav="ideas",
    )


@routes.get("/pledges/{id}")
async def target_page(request: web.Request) -> web.Response:
    """One target: totals by group, progress, closing time, the pledge form."""
    return await _target_page(request)


def pounds(values: dict[str, str], name: str) -> int | None:
    """An amount in pounds ("12", "12.50", "£1,200") as pence; None when empty.

    Raises:
        MalformedError: Not an amount of pounds and pence.
    """
    value = forms.text(values, name, max_length=20)
    if value is None:
        return None
    found = _POUNDS.fullmatch(value)
    if found is None:
        raise MalformedError(
            f"{name} must be an amount like 12 or 12.50", field_path=name
        )
    whole, part = found.group(1).replace(",", ""), found.group(2) or "0"
    return int(whole) * 100 + int(part.ljust(2, "0"))


def _request(fields: dict[str, str], target: Any) -> PledgeRequest:
    """The pledge the form gives, of the target's kind."""
    kind, skills = target["kind"], list(target["skills"])
    others = forms.integer(fields, "others", minimum=1, maximum=_MAX_OTHERS)
    if kind == "money":
        pence = pounds(fields, "pounds")
        if not pence:
            raise MalformedError("say how much you pledge", field_path="pounds")
        return pence, None, None, others
    if kind == "time":
        hours = forms.integer(fields, "hours", minimum=1, maximum=_MAX_HOURS)
        if hours is None:
            raise MalformedError("say how many hours you pledge", field_path="hours")
        return None, hours, None, others
    chosen = [s for i, s in enumerate(skills) if fields.get(f"skill-{i}") == "yes"]
    if not chosen:
        raise MalformedError("tick at least one skill", field_path="skills")
    return None, None, chosen, others


async def _pledge(request: web.Request, fields: dict[str, str]) -> web.Response:
    node, target_id = request.app[SERVICES], _target_id(request)
    grant = await member_posting(request, fields.get("csrf"))
    target: Any = await node.pledges.get_target(target_id)
    await node.pledges.pledge(grant, target_id, _request(fields, target))
    await settled(node)
    return redirect(request, f"/pledges/{target_id}", flash="pledge-saved")


async def _refused(
    request: web.Request, problem: forms.Problem, fields: dict[str, str]
) -> web.Response:
    if problem.code == "not-found":
        raise NotFoundError(problem.message)
    typed = {k: v for k, v in fields.items() if k != "csrf"}
    shown = on_field(problem, {"pence": "pounds", "condition": "others"})
    return await _target_page(request, problem=shown, typed=typed)


@routes.post("/pledges/{id}/pledge")
async def make_pledge(request: web.Request) -> web.Response:
    """Make or change the member's pledge (form ``csrf``, amount, ``others``)."""
    _target_id(request)
    fields = await forms.posted(request)
    done = await forms.attempt(lambda: _pledge(request, fields))
    if isinstance(done, forms.Problem):
        return await _refused(request, done, fields)
    return secure(done)


async def _withdraw(request: web.Request, fields: dict[str, str]) -> web.Response:
    node, target_id = request.app[SERVICES], _target_id(request)
    grant = await member_posting(request, fields.get("csrf"))
    await node.pledges.withdraw(grant, target_id)
    await settled(node)
    return redirect(request, f"/pledges/{target_id}", flash="pledge-withdrawn")


@routes.post("/pledges/{id}/withdraw")
async def withdraw_pledge(request: web.Request) -> web.Response:
    """Withdraw the member's pledge (form ``csrf``)."""
    _target_id(request)
    fields = await forms.posted(request)
    done = await forms.attempt(lambda: _withdraw(request, fields))
    if isinstance(done, forms.Problem):
        return await _refused(request, done, fields)
    return secure(done)
