"""The redaction pages: withdraw the body of one of the group's own events.

``/organise/redact`` lists the group's own events, newest first (paged by
``before``, a seq), each with a link to a confirmation page. Confirming
publishes ``event.redacted`` naming it, with an optional reason (DESIGN §3):
every read model drops the body, this node stops serving it, and every peer
does the same when it syncs. An event of another feed cannot be redacted
from here (``not-found``), nor a redaction, nor one already redacted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from node.errors import ConflictError, NotFoundError
from node.storage.feeds import REDACTION_TYPE
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
from protocol import Event, JsonObject, parse_event_id

__all__ = ["routes"]

routes = web.RouteTableDef()

PAGE_SIZE = 20
#: Body fields that say what an event is about, tried in this order.
_SUMMARY_FIELDS = ("title", "name", "text", "summary", "reason", "id")


def summary(event: Event) -> str:
    """A line saying what an event is, from its body ("" when redacted)."""
    body = event.body or {}
    for name in _SUMMARY_FIELDS:
        value = body.get(name)
        if isinstance(value, str) and value:
            return value if len(value) <= 160 else value[:159] + "…"
    return ""


def _row(event: Event, redacted: frozenset[str]) -> dict[str, Any]:
    return {
        "id": event.id,
        "seq": event.seq,
        "type": event.type,
        "ts": event.ts,
        "summary": summary(event),
        "is_redacted": event.is_redacted or event.id in redacted,
        "may_redact": event.type != REDACTION_TYPE
        and not event.is_redacted
        and event.id not in redacted,
    }


async def _own_events(request: web.Request) -> tuple[list[dict[str, Any]], int | None]:
    node = request.app[SERVICES]
    feed = node.key.feed
    head = await node.read(node.store.head, feed)
    last = head.seq if head else 0
    before = forms.integer(request.query, "before", minimum=1, maximum=2**53 - 1)
    top = min(last, before - 1) if before is not None else last
    first = max(top - PAGE_SIZE, 0)
    events = await node.read(node.store.read, feed, first, top - first)
    redacted = frozenset(await node.read(node.store.redacted_ids))
    rows = [_row(event, redacted) for event in reversed(events)]
    return rows, (first + 1 if first > 0 else None)


@routes.get("/organise/redact")
async def redact_page(request: web.Request) -> web.Response:
    """The group's own events, newest first, each with a redact link."""
    await viewing_organiser(request)
    rows, older = await _own_events(request)
    return await page(
        request,
        "organise_redact.html",
        events=rows,
        older=older,
        done=done_message(request),
        nav="organise",
        tool="redact",
    )


async def _own_event(request: web.Request) -> dict[str, Any]:
    event_id = parse_event_id(request.match_info["id"], field="id")
    node = request.app[SERVICES]
    event = await node.read(node.store.get, event_id)
    if event is None or event.feed != node.key.feed:
        raise NotFoundError("no event of this group's feed has that id")
    redacted = frozenset(await node.read(node.store.redacted_ids))
    return _row(event, redacted)


async def _confirm_page(
    request: web.Request,
    held: dict[str, Any],
    *,
    status: int = 200,
    problem: forms.Problem | None = None,
    typed: Mapping[str, str] | None = None,
) -> web.Response:
    return await page(
        request,
        "organise_redact_confirm.html",
        status=status,
        event=held,
        problem=problem,
        typed=typed or {},
        nav="organise",
        tool="redact",
    )


@routes.get("/organise/redact/{id}")
async def confirm_page(request: web.Request) -> web.Response:
    """What redacting this event does, and the form that confirms it."""
    await viewing_organiser(request)
    return await _confirm_page(request, await _own_event(request))


async def _redact(
    request: web.Request,
    grant: TokenGrant,
    held: dict[str, Any],
    fields: Mapping[str, str],
) -> None:
    if not held["may_redact"]:
        raise ConflictError("this event is a redaction, or is already redacted")
    body: JsonObject = {"id": held["id"]}
    reason = forms.text(fields, "reason", max_length=500)
    if reason is not None:
        body["reason"] = reason
    node = request.app[SERVICES]
    await node.publish(grant, {"type": REDACTION_TYPE, "body": body})


@routes.post("/organise/redact/{id}")
async def redact(request: web.Request) -> web.Response:
    """Publish ``event.redacted`` for one of the group's own events."""
    fields = await forms.posted(request)
    grant = await posting_organiser(request, fields)
    held = await _own_event(request)
    redacted = await forms.attempt(lambda: _redact(request, grant, held, fields))
    if isinstance(redacted, forms.Problem):
        return await _confirm_page(
            request, held, status=redacted.status, problem=redacted, typed=fields
        )
    return done(request, "/organise/redact", "redacted")
