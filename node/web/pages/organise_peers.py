"""The peers page of the organisers: peers, blocks, forks and sync lag.

``/organise/peers`` shows each peer this node syncs with (its URL, feed,
state, last seen, failures, last error, next attempt), the blocked feeds and
peers, the fork proofs held and the projector's lag; with ``?lag=check`` it
also asks every peer for its heads and shows how far each is from this node.
Its forms add a peer and block or unblock a feed or a peer, through
:class:`node.services.peering.Peering`, the storage calls the command line
makes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from node.services.peering import Peering
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

__all__ = ["routes"]

routes = web.RouteTableDef()


def _peering(request: web.Request) -> Peering:
    return Peering(request.app[SERVICES])


async def _peers_page(
    request: web.Request,
    grant: TokenGrant,
    *,
    status: int = 200,
    problem: forms.Problem | None = None,
    typed: Mapping[str, str] | None = None,
    form: str | None = None,
) -> web.Response:
    peering = _peering(request)
    checked = request.query.get("lag") == "check"
    return await page(
        request,
        "organise_peers.html",
        status=status,
        held=await peering.overview(grant),
        lags=await peering.sync_lag(grant) if checked else None,
        own_feed=request.app[SERVICES].key.feed,
        problem=problem,
        form=form,
        typed=typed or {},
        done=done_message(request),
        nav="organise",
        tool="peers",
    )


@routes.get("/organise/peers")
async def peers_page(request: web.Request) -> web.Response:
    """Peers, blocks, forks and sync lag (``?lag=check`` asks the peers)."""
    return await _peers_page(request, await viewing_organiser(request))


Change = Callable[[Peering, TokenGrant, str], Awaitable[Any]]

#: Each form: the service call, the field it sends, and the ``done`` code.
_FORMS: dict[str, tuple[Change, str, str]] = {
    "add": (lambda p, g, v: p.add_peer(g, v), "url", "peer-added"),
    "block": (lambda p, g, v: p.block(g, v), "target", "blocked"),
    "unblock": (lambda p, g, v: p.unblock(g, v), "target", "unblocked"),
}


@routes.post(r"/organise/peers/{form:add|block|unblock}")
async def change_peers(request: web.Request) -> web.Response:
    """Add a peer (``url``), or block or unblock a feed or peer (``target``)."""
    form = request.match_info["form"]
    fields = await forms.posted(request)
    grant = await posting_organiser(request, fields)
    change, name, code = _FORMS[form]
    peering = _peering(request)

    async def work() -> Any:
        value = forms.text(fields, name, max_length=2_100) or ""
        return await change(peering, grant, value)

    changed = await forms.attempt(work)
    if isinstance(changed, forms.Problem):
        shown = forms.Problem(changed.code, changed.message, name, changed.status)
        return await _peers_page(
            request,
            grant,
            status=changed.status,
            problem=shown,
            typed=fields,
            form=form,
        )
    return done(request, "/organise/peers", code)
