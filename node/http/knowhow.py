"""The know-how routes of the members' API (``docs/api.md#know-how``).

Public: anyone may read guides, advisers, and questions with their answers.
Groups write them by publishing events (``POST /api/v1/events``).
"""

from __future__ import annotations

from aiohttp import web

from node.http.campaigns import choice_param
from node.http.keys import SERVICES
from node.http.params import int_param, near_params, text_param
from node.http.routes import json_response
from protocol import parse_event_id, parse_feed_id

__all__ = ["knowhow_routes"]

knowhow_routes = web.RouteTableDef()

_ANSWERED = {"true": True, "false": False}


def _feed(request: web.Request) -> str | None:
    feed = text_param(request, "feed", max_length=60)
    return parse_feed_id(feed) if feed else None


def _limit(request: web.Request) -> int:
    return int_param(request, "limit", default=50, minimum=1, maximum=200)


def _after(request: web.Request) -> str | None:
    return text_param(request, "after", max_length=300)


def _event_id(request: web.Request) -> str:
    return parse_event_id(request.match_info["id"], field="id")


@knowhow_routes.get("/api/v1/guides")
async def list_guides(request: web.Request) -> web.Response:
    """Guides of every group held, newest first."""
    page = await request.app[SERVICES].knowhow.list_guides(
        tag=text_param(request, "tag", max_length=32),
        q=text_param(request, "q"),
        feed=_feed(request),
        limit=_limit(request),
        after=_after(request),
    )
    return json_response(page)


@knowhow_routes.get("/api/v1/guides/{id}")
async def get_guide(request: web.Request) -> web.Response:
    """One guide with its text."""
    guide = await request.app[SERVICES].knowhow.get_guide(_event_id(request))
    return json_response(guide)


@knowhow_routes.get("/api/v1/advisers")
async def list_advisers(request: web.Request) -> web.Response:
    """People who offer advice, contacted through their group."""
    page = await request.app[SERVICES].knowhow.list_advisers(
        topic=text_param(request, "topic", max_length=32),
        q=text_param(request, "q"),
        near=near_params(request),
        limit=_limit(request),
        after=_after(request),
    )
    return json_response(page)


@knowhow_routes.get("/api/v1/questions")
async def list_questions(request: web.Request) -> web.Response:
    """Questions groups asked, newest first."""
    answered = choice_param(request, "answered", tuple(_ANSWERED))
    network = text_param(request, "network", max_length=60)
    page = await request.app[SERVICES].knowhow.list_questions(
        tag=text_param(request, "tag", max_length=32),
        q=text_param(request, "q"),
        feed=_feed(request),
        network=parse_event_id(network, field="network") if network else None,
        answered=None if answered is None else _ANSWERED[answered],
        limit=_limit(request),
        after=_after(request),
    )
    return json_response(page)


@knowhow_routes.get("/api/v1/questions/{id}")
async def get_question(request: web.Request) -> web.Response:
    """One question with its answers, most helpful first."""
    question = await request.app[SERVICES].knowhow.get_question(_event_id(request))
    return json_response(question)
