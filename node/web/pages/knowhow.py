"""The know-how pages: guides, questions with their answers, and advisers.

``/guides`` lists guides of every group (by tag and words), ``/guides/{id}``
shows one. ``/questions`` lists the questions groups asked the network
(answered or not), ``/questions/{id}`` shows one with its answers threaded
across groups and the groups that marked each helpful; this group's
organisers answer there (``answer.posted``) and mark other groups' answers
helpful (``answer.marked_helpful``). ``/advisers`` lists people who offer
advice by topic and near a place; they are contacted through their group
(its name and how to join), never at an address.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from node.errors import ConflictError, NotFoundError
from node.web import forms
from node.web.keys import SERVICES
from node.web.pages.acting import organiser_posting, publish
from node.web.pages.listing import PAGE_SIZE, Listing, listing_page
from node.web.render import page, secure
from node.web.session import redirect
from protocol import JsonObject, MalformedError, parse_event_id

__all__ = ["routes", "threaded"]

routes = web.RouteTableDef()

#: The ``answered`` filter's choices.
ANSWERED = {"yes": True, "no": False}
#: How deep replies are indented; deeper ones line up with the deepest.
MAX_DEPTH = 4


def _after(request: web.Request) -> str | None:
    return forms.text(request.query, "after", max_length=300)


async def _guides(request: web.Request) -> Listing:
    query = request.query
    found: Any = await request.app[SERVICES].knowhow.list_guides(
        tag=forms.text(query, "tag", max_length=32),
        q=forms.text(query, "q", max_length=200),
        limit=PAGE_SIZE,
        after=_after(request),
    )
    return Listing(found["guides"], found["next"])


@routes.get("/guides")
async def guides_page(request: web.Request) -> web.Response:
    """Guides of every group, newest first, by tag and words."""
    return await listing_page(
        request, "guides.html", lambda: _guides(request), nav="guides"
    )


@routes.get("/guides/{id}")
async def guide_page(request: web.Request) -> web.Response:
    """One guide with its text."""
    guide_id = parse_event_id(request.match_info["id"], field="id")
    guide = await request.app[SERVICES].knowhow.get_guide(guide_id)
    return await page(request, "guide.html", guide=guide, nav="guides")


async def _questions(request: web.Request) -> Listing:
    query = request.query
    answered = forms.choice(query, "answered", ANSWERED)
    found: Any = await request.app[SERVICES].knowhow.list_questions(
        tag=forms.text(query, "tag", max_length=32),
        q=forms.text(query, "q", max_length=200),
        answered=None if answered is None else ANSWERED[answered],
        limit=PAGE_SIZE,
        after=_after(request),
    )
    return Listing(found["questions"], found["next"])


@routes.get("/questions")
async def questions_page(request: web.Request) -> web.Response:
    """Questions groups asked the network, answered or not."""
    return await listing_page(
        request, "questions.html", lambda: _questions(request), nav="guides"
    )


def threaded(answers: list[Any]) -> list[tuple[Any, int]]:
    """Answers with their depth, each reply after the answer it replies to.

    Top-level answers keep their order (most helpful first); replies follow
    their parent in the same order. Depth is capped at :data:`MAX_DEPTH`.
    """
    replies: dict[str, list[Any]] = {}
    for answer in answers:
        replies.setdefault(answer["in_reply_to"] or "", []).append(answer)
    shown: list[tuple[Any, int]] = []
    stack = [(answer, 0) for answer in reversed(replies.get("", []))]
    while stack:  # no recursion: a long chain of replies is only long
        answer, depth = stack.pop()
        shown.append((answer, depth))
        below = replies.get(answer["id"], [])
        stack.extend((reply, depth + 1) for reply in reversed(below))
    return [(answer, min(depth, MAX_DEPTH)) for answer, depth in shown]


async def _question_page(
    request: web.Request,
    *,
    problem: forms.Problem | None = None,
    typed: Any = None,
) -> web.Response:
    node = request.app[SERVICES]
    question_id = parse_event_id(request.match_info["id"], field="id")
    question: Any = await node.knowhow.get_question(question_id)
    return await page(
        request,
        "question.html",
        status=problem.status if problem else 200,
        question=question,
        answers=threaded(list(question["answers"])),
        own_feed=node.key.feed,
        problem=problem,
        typed=typed or {},
        nav="guides",
    )


@routes.get("/questions/{id}")
async def question_page(request: web.Request) -> web.Response:
    """One question, its answers threaded across groups, and helpful marks."""
    return await _question_page(request)


def _answer_ids(question: Any) -> set[str]:
    return {str(answer["id"]) for answer in question["answers"]}


async def _answer(request: web.Request, fields: dict[str, str]) -> str:
    grant = await organiser_posting(request, fields.get("csrf"))
    question_id = parse_event_id(request.match_info["id"], field="id")
    question: Any = await request.app[SERVICES].knowhow.get_question(question_id)
    body: JsonObject = {"question": question_id}
    text = forms.text(fields, "text", max_length=10_000)
    if text is None:
        raise MalformedError("write your answer", field_path="text")
    body["text"] = text
    name = forms.text(fields, "author_display_name", max_length=100)
    if name is not None:
        body["author_display_name"] = name
    reply_to = forms.text(fields, "in_reply_to", max_length=60)
    if reply_to is not None:
        if reply_to not in _answer_ids(question):
            raise MalformedError(
                "reply to one of the answers", field_path="in_reply_to"
            )
        body["in_reply_to"] = reply_to
    event = await publish(request, grant, "answer.posted", body)
    return event.id


async def _mark(request: web.Request, fields: dict[str, str]) -> str:
    grant = await organiser_posting(request, fields.get("csrf"))
    node = request.app[SERVICES]
    question_id = parse_event_id(request.match_info["id"], field="id")
    question: Any = await node.knowhow.get_question(question_id)
    answer_id = forms.text(fields, "answer", max_length=60)
    found = [a for a in question["answers"] if a["id"] == answer_id]
    if not found:
        raise MalformedError("mark one of the answers", field_path="answer")
    if found[0]["feed"] == node.key.feed:
        raise ConflictError("other groups mark this group's answers helpful")
    if any(g["feed"] == node.key.feed for g in found[0]["marked_by"]):
        raise ConflictError("this group has marked that answer helpful already")
    body: JsonObject = {"answer": found[0]["id"], "question": question_id}
    await publish(request, grant, "answer.marked_helpful", body)
    return str(found[0]["id"])


async def _sent(
    request: web.Request,
    work: Callable[[], Awaitable[str]],
    fields: dict[str, str],
) -> web.Response:
    done = await forms.attempt(work)
    if isinstance(done, forms.Problem):
        if done.code == "not-found":
            raise NotFoundError(done.message)
        return await _question_page(request, problem=done, typed=fields)
    question_id = request.match_info["id"]
    return secure(redirect(request, f"/questions/{question_id}#answer-{done}"))


@routes.post("/questions/{id}/answers")
async def post_answer(request: web.Request) -> web.Response:
    """Answer a question for the group (organisers): form ``text`` and more."""
    parse_event_id(request.match_info["id"], field="id")
    fields = await forms.posted(request)
    return await _sent(request, lambda: _answer(request, fields), fields)


@routes.post("/questions/{id}/helpful")
async def mark_helpful(request: web.Request) -> web.Response:
    """Mark another group's answer helpful for the group (organisers)."""
    parse_event_id(request.match_info["id"], field="id")
    fields = await forms.posted(request)
    return await _sent(request, lambda: _mark(request, fields), fields)


async def _advisers(request: web.Request) -> Listing:
    query = request.query
    found: Any = await request.app[SERVICES].knowhow.list_advisers(
        topic=forms.text(query, "topic", max_length=32),
        q=forms.text(query, "q", max_length=200),
        near=forms.near(query),
        limit=PAGE_SIZE,
        after=_after(request),
    )
    return Listing(found["advisers"], found["next"])


@routes.get("/advisers")
async def advisers_page(request: web.Request) -> web.Response:
    """People who offer advice, by topic and place; contact through the group."""
    return await listing_page(
        request,
        "advisers.html",
        lambda: _advisers(request),
        radii=forms.RADII,
        nav="guides",
    )
