"""The publishing pages: a form for each common event type, and one for any type.

``/organise/publish`` lists the forms; ``/organise/publish/{kind}`` is one
(meeting, campaign, campaign update, guide, need, offer, question, or any
event: a type and a JSON body typed by hand). A form is turned into a body by
:mod:`.organise_bodies` and published through ``NodeServices.publish``, the
same call as ``POST /api/v1/events``, so the type's schema is the whole rule;
a refusal is shown with the field it is about (its path in the body) and
everything typed kept. After publishing, the page says so and links to the
signed event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from node.errors import NotFoundError
from node.projections.campaigns import TARGET_KINDS, CampaignFilters
from node.projections.meetings import KINDS as MEETING_KINDS
from node.projections.meetings import MeetingFilters
from node.projections.mutualaid import CATEGORIES
from node.storage.private import TokenGrant
from node.web import forms
from node.web.keys import SERVICES
from node.web.pages.organise import (
    done,
    done_message,
    posting_organiser,
    viewing_organiser,
)
from node.web.pages.organise_bodies import BUILDERS, RECURRENCES, form_field
from node.web.render import label, page
from protocol import MalformedError, parse_event_id

__all__ = ["routes"]

routes = web.RouteTableDef()

#: The forms, in the order they are offered, with their headings.
FORMS = {
    "meeting": "Schedule a meeting",
    "campaign": "Launch a campaign",
    "update": "Post a campaign update",
    "guide": "Publish a guide",
    "need": "Post a need",
    "offer": "Post an offer",
    "question": "Ask the network a question",
    "any": "Publish any event",
}
#: The zone a meeting's times are typed in when the group has none yet.
DEFAULT_ZONE = "Europe/London"
DAY_MS = 86_400_000


def _published(request: web.Request) -> str | None:
    try:
        return parse_event_id(request.query.get("event", ""), field="event")
    except MalformedError:
        return None


@routes.get("/organise/publish")
async def publish_index(request: web.Request) -> web.Response:
    """The publishing forms."""
    await viewing_organiser(request)
    return await page(
        request,
        "organise_publish.html",
        kind=None,
        forms_offered=FORMS,
        published=_published(request) if done_message(request) else None,
        done=done_message(request),
        nav="organise",
        tool="publish",
    )


async def _zone(request: web.Request) -> str:
    """The group's zone: that of its latest meeting this year, else the default."""
    node = request.app[SERVICES]
    now = node.clock()
    filters = MeetingFilters(
        start=now - 366 * DAY_MS, end=now + 366 * DAY_MS, feeds=(node.key.feed,)
    )
    found: Any = await node.meetings.list_meetings(filters, limit=1)
    meetings = found["meetings"]
    return str(meetings[0]["tz"]) if meetings else DEFAULT_ZONE


def _pairs(values: Any) -> list[tuple[str, str]]:
    return [(str(value), label(value)) for value in values]


async def _choices(request: web.Request, kind: str) -> dict[str, Any]:
    node = request.app[SERVICES]
    if kind == "meeting":
        return {
            "kinds": _pairs(sorted(MEETING_KINDS)),
            "recurrences": list(RECURRENCES.items()),
        }
    if kind == "campaign":
        return {"target_kinds": _pairs(TARGET_KINDS)}
    if kind in ("need", "offer"):
        return {"categories": _pairs(CATEGORIES)}
    if kind == "update":
        own = CampaignFilters(feed=node.key.feed)
        found: Any = await node.campaigns.list_campaigns(own, limit=100)
        return {"campaigns": [(c["id"], c["title"]) for c in found["campaigns"]]}
    if kind == "any":
        return {"types": [(t, t) for t in sorted(node.validator.types)]}
    return {}


async def _form(
    request: web.Request,
    kind: str,
    *,
    status: int = 200,
    problem: forms.Problem | None = None,
    typed: Mapping[str, str] | None = None,
) -> web.Response:
    given = dict(typed or {})
    if kind == "meeting" and "tz" not in given:
        given["tz"] = await _zone(request)
    return await page(
        request,
        "organise_publish.html",
        status=status,
        kind=kind,
        heading=FORMS[kind],
        problem=problem,
        typed=given,
        nav="organise",
        tool="publish",
        **await _choices(request, kind),
    )


def _kind(request: web.Request) -> str:
    kind = request.match_info["kind"]
    if kind not in FORMS:
        raise NotFoundError(f"no publishing form {kind[:40]!r}")
    return kind


@routes.get("/organise/publish/{kind}")
async def publish_form(request: web.Request) -> web.Response:
    """One publishing form."""
    await viewing_organiser(request)
    return await _form(request, _kind(request))


async def _publish(
    request: web.Request, grant: TokenGrant, kind: str, fields: Mapping[str, str]
) -> str:
    event_type, body = BUILDERS[kind](fields)
    node = request.app[SERVICES]
    event = await node.publish(grant, {"type": event_type, "body": body})
    return event.id


@routes.post("/organise/publish/{kind}")
async def publish(request: web.Request) -> web.Response:
    """Publish what a form holds to the group's feed."""
    kind = _kind(request)
    fields = await forms.posted(request)
    grant = await posting_organiser(request, fields)
    made = await forms.attempt(lambda: _publish(request, grant, kind, fields))
    if isinstance(made, forms.Problem):
        field = form_field(kind, made.field)
        # An unknown type is a schema matter (docs/api.md#errors): 422.
        status = 422 if made.code == "unknown-type" else made.status
        shown = forms.Problem(made.code, made.message, field, status)
        return await _form(request, kind, status=status, problem=shown, typed=fields)
    return done(request, f"/organise/publish?event={made}", "published")
