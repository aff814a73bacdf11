"""Listing pages: a page of things found by the query string's filters.

A listing page reads its filters from the query string and asks one service
for a page of things; a bad filter is shown on the same page, with what was
typed kept in the form and the refusal's status, instead of an error page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from node.web import forms
from node.web.render import page

__all__ = ["PAGE_SIZE", "Listing", "listing_page"]

#: How many things a page of a listing shows.
PAGE_SIZE = 30


@dataclass(slots=True)
class Listing:
    """What a listing page shows: the things found, or what to change.

    Attributes:
        items: The things of this page.
        next: The cursor of the next page, or None on the last.
        problem: The refused filter, when one was.
        more: Further listings of the page, by name (e.g. offers beside needs).
    """

    items: list[Any] = field(default_factory=list)
    next: str | None = None
    problem: forms.Problem | None = None
    more: dict[str, Any] = field(default_factory=dict)


async def listing_page(
    request: web.Request,
    template: str,
    load: Callable[[], Awaitable[Listing]],
    **context: Any,
) -> web.Response:
    """Render a listing, or the filters' refusal with what was typed.

    Args:
        request: The request.
        template: The template's file name.
        load: Reads the filters and finds the page (raising on a bad filter).
        **context: More of the template's data.

    Returns:
        The page, with the refusal's status when a filter was refused.
    """
    found = await forms.attempt(load)
    listing = Listing(problem=found) if isinstance(found, forms.Problem) else found
    return await page(
        request,
        template,
        status=listing.problem.status if listing.problem else 200,
        listing=listing,
        query=request.query,
        **context,
    )
