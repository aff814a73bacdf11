"""The mutual-aid pages: needs and offers across groups, matched by distance.

``/mutual-aid`` lists needs and offers of every group (by kind, category,
status, words and near a place); ``/needs/{id}`` shows a need with the
offers naming it and the open offers of its category nearest first, and
``/offers/{id}`` an offer with the need it answers and the open needs it
could meet. Contact always goes through the posting group (its name and how
to join), never a member's details. This group's organisers mark its own
needs met from the need's page (``need.met``, naming the offer that met it).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node.errors import ConflictError, ForbiddenError, NotFoundError
from node.projections.mutualaid import CATEGORIES, KINDS, STATUSES
from node.services.mutualaid import DEFAULT_MATCH_KM, AidFilters
from node.web import forms
from node.web.keys import SERVICES
from node.web.pages.acting import organiser_posting, publish
from node.web.pages.listing import PAGE_SIZE, Listing, listing_page
from node.web.render import page, secure
from node.web.session import redirect
from protocol import JsonObject, parse_event_id

__all__ = ["routes"]

routes = web.RouteTableDef()

#: How many matches an item's page shows.
MATCHES = 20


async def _items(request: web.Request) -> Listing:
    node, query = request.app[SERVICES], request.query
    kind = forms.choice(query, "kind", KINDS)
    filters = AidFilters(
        category=forms.choice(query, "category", CATEGORIES),
        q=forms.text(query, "q", max_length=200),
        status=forms.choice(query, "status", STATUSES),
    )
    near = forms.near(query)
    after = forms.text(query, "after", max_length=300)
    shown = Listing()
    for each in (kind,) if kind else KINDS:
        found: Any = await node.mutualaid.list_items(
            each,
            filters,
            near=near,
            limit=PAGE_SIZE,
            after=after if kind else None,
        )
        shown.more[each] = {"items": found[f"{each}s"], "next": found["next"]}
    return shown


@routes.get("/mutual-aid")
async def mutual_aid_page(request: web.Request) -> web.Response:
    """Needs and offers across groups, by kind, category, status and place."""
    return await listing_page(
        request,
        "mutual_aid.html",
        lambda: _items(request),
        kinds=KINDS,
        categories=CATEGORIES,
        statuses=STATUSES,
        radii=forms.RADII,
        nav="mutual-aid",
    )


def _km(request: web.Request) -> int:
    found = forms.integer(request.query, "within_km", minimum=1, maximum=1000)
    return found or DEFAULT_MATCH_KM


async def _need_page(
    request: web.Request, *, problem: forms.Problem | None = None, typed: Any = None
) -> web.Response:
    node = request.app[SERVICES]
    need_id = parse_event_id(request.match_info["id"], field="id")
    need: Any = await node.mutualaid.get_need(need_id)
    km = _km(request)
    matches: Any = await node.mutualaid.matches("need", need_id, km=km, limit=MATCHES)
    return await page(
        request,
        "need.html",
        status=problem.status if problem else 200,
        need=need,
        matches=matches["offers"],
        choices=_unique([*need["offers"], *matches["offers"]]),
        km=km,
        radii=forms.RADII,
        is_ours=need["feed"] == node.key.feed,
        problem=problem,
        typed=typed or {},
        nav="mutual-aid",
    )


def _unique(items: list[Any]) -> list[Any]:
    unique: dict[str, Any] = {}
    for item in items:
        unique.setdefault(item["id"], item)
    return list(unique.values())


@routes.get("/needs/{id}")
async def need_page(request: web.Request) -> web.Response:
    """A need, the offers naming it and the nearest open offers of its kind."""
    return await _need_page(request)


async def _mark_met(request: web.Request, fields: dict[str, str]) -> None:
    grant = await organiser_posting(request, fields.get("csrf"))
    node = request.app[SERVICES]
    need_id = parse_event_id(request.match_info["id"], field="id")
    need: Any = await node.mutualaid.get_need(need_id)
    if need["feed"] != node.key.feed:
        raise ForbiddenError("only the group that posted a need marks it met")
    if need["status"] != "open":
        raise ConflictError(f"this need is {need['status']}, not open")
    body: JsonObject = {"need": need_id}
    offer = forms.text(fields, "offer", max_length=60)
    if offer is not None:
        body["offer"] = parse_event_id(offer, field="offer")
    note = forms.text(fields, "note", max_length=500)
    if note is not None:
        body["note"] = note
    await publish(request, grant, "need.met", body)


@routes.post("/needs/{id}/met")
async def mark_met(request: web.Request) -> web.Response:
    """Mark this group's need met (organisers): form ``offer`` and ``note``."""
    need_id = parse_event_id(request.match_info["id"], field="id")
    fields = await forms.posted(request)
    done = await forms.attempt(lambda: _mark_met(request, fields))
    if isinstance(done, forms.Problem):
        if done.code == "not-found":
            raise NotFoundError(done.message)
        return await _need_page(request, problem=done, typed=fields)
    return secure(redirect(request, f"/needs/{need_id}"))


@routes.get("/offers/{id}")
async def offer_page(request: web.Request) -> web.Response:
    """An offer, the need it answers and the nearest open needs it could meet."""
    node = request.app[SERVICES]
    offer_id = parse_event_id(request.match_info["id"], field="id")
    offer: Any = await node.mutualaid.get_offer(offer_id)
    km = _km(request)
    matches: Any = await node.mutualaid.matches("offer", offer_id, km=km, limit=MATCHES)
    return await page(
        request,
        "offer.html",
        offer=offer,
        matches=matches["needs"],
        km=km,
        radii=forms.RADII,
        nav="mutual-aid",
    )
