"""The activity report page: the counts of a period, and publishing them.

``/organise/activity?from=&to=`` shows the counts of the organisers' private
work in a period (dates, both days included; by default the last 30 days) as
exactly the body ``group.activity_reported`` would carry, numbers only, and
a form that publishes it. The form carries the numbers shown; if they changed
before it arrived (a case closed meanwhile), nothing is published and the new
numbers are shown to confirm again (``conflict``), so what is published is
always what the organiser saw. The group's published reports are listed too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from node.errors import ConflictError
from node.projections.activity import REPORTED
from node.storage.private import TokenGrant
from node.web import forms
from node.web.keys import SERVICES
from node.web.pages.organise import (
    done,
    done_message,
    posting_organiser,
    viewing_organiser,
)
from node.web.render import page
from protocol import MalformedError

__all__ = ["routes"]

routes = web.RouteTableDef()

DAY_MS = 86_400_000
DEFAULT_DAYS, MAX_DAYS = 30, 3_660
#: The body's fields, in the order they are shown.
COUNTS = ("one_to_ones_held", "cases_opened", "cases_closed", "cases_open", "members")
TIME_LIMIT = 253_370_764_800_000


async def _period(request: web.Request) -> tuple[int, int]:
    query = request.query
    today = request.app[SERVICES].clock() // DAY_MS * DAY_MS
    last = forms.day_start(query, "to")
    ends_at = (today if last is None else last) + DAY_MS
    first = forms.day_start(query, "from")
    starts_at = ends_at - DEFAULT_DAYS * DAY_MS if first is None else first
    if starts_at >= ends_at:
        raise MalformedError(
            "the first day must not be after the last", field_path="from"
        )
    if ends_at - starts_at > MAX_DAYS * DAY_MS:
        raise MalformedError(f"choose at most {MAX_DAYS} days", field_path="from")
    return max(starts_at, 0), ends_at


async def _report_page(
    request: web.Request,
    grant: TokenGrant,
    counts: Any,
    *,
    status: int = 200,
    problem: forms.Problem | None = None,
) -> web.Response:
    node = request.app[SERVICES]
    reports: Any = await node.casework.reports.group_activity(node.key.feed, limit=12)
    return await page(
        request,
        "organise_activity.html",
        status=status,
        counts=counts,
        names=COUNTS,
        reports=reports["reports"],
        query=request.query,
        problem=problem,
        done=done_message(request),
        nav="organise",
        tool="activity",
    )


async def _counts(request: web.Request, grant: TokenGrant) -> Any:
    starts_at, ends_at = await _period(request)
    reports = request.app[SERVICES].casework.reports
    return await reports.activity(grant, starts_at, ends_at)


@routes.get("/organise/activity")
async def activity_page(request: web.Request) -> web.Response:
    """The counts of a period, exactly as they would be published."""
    grant = await viewing_organiser(request)
    counts = await forms.attempt(lambda: _counts(request, grant))
    if isinstance(counts, forms.Problem):
        return await _report_page(
            request, grant, None, status=counts.status, problem=counts
        )
    return await _report_page(request, grant, counts)


def _number(fields: Mapping[str, str], name: str) -> int:
    number = forms.integer(fields, name, minimum=0, maximum=TIME_LIMIT)
    if number is None:
        raise MalformedError(
            f"{name} is missing: show the counts again", field_path=name
        )
    return number


async def _publish(
    request: web.Request, grant: TokenGrant, fields: Mapping[str, str]
) -> tuple[Any, str | None]:
    """The fresh counts, and the published event's id when they were unchanged."""
    starts_at, ends_at = _number(fields, "starts_at"), _number(fields, "ends_at")
    node = request.app[SERVICES]
    fresh: Any = await node.casework.reports.activity(grant, starts_at, ends_at)
    shown = {name: _number(fields, name) for name in COUNTS}
    if any(fresh[name] != shown[name] for name in COUNTS):
        return fresh, None
    event = await node.publish(grant, {"type": REPORTED, "body": fresh})
    return fresh, event.id


@routes.post("/organise/activity")
async def publish_activity(request: web.Request) -> web.Response:
    """Publish the counts shown, if they are still the counts of the period."""
    fields = await forms.posted(request)
    grant = await posting_organiser(request, fields)
    result = await forms.attempt(lambda: _publish(request, grant, fields))
    if isinstance(result, forms.Problem):
        return await _report_page(
            request, grant, None, status=result.status, problem=result
        )
    fresh, published = result
    if published is None:
        changed = ConflictError("the counts changed meanwhile: check them again")
        problem = forms.Problem(changed.code, changed.message, None, 409)
        return await _report_page(request, grant, fresh, status=409, problem=problem)
    return done(request, "/organise/activity", "published")
