"""Know-how between groups: guides, advisers, and questions with their answers.

Queries run in the node's read pool against the know-how read model
(:mod:`node.projections.knowhow_queries`; :mod:`node.projections.knowhow`
holds the rules), with the
feeds the operator blocked left out and a "near" filter resolved to a point
first. Everything here is public; groups write it by publishing events
(``POST /api/v1/events``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from node.errors import NotFoundError
from node.projections import knowhow_queries
from node.services.places import NearQuery
from protocol import JsonObject

if TYPE_CHECKING:
    from node.services.runtime import NodeServices

__all__ = ["KnowHow"]


class KnowHow:
    """The know-how queries of a running node."""

    def __init__(self, node: NodeServices) -> None:
        """Serve from the node's stores (see :class:`NodeServices`)."""
        self.node = node

    async def list_guides(
        self,
        *,
        tag: str | None = None,
        q: str | None = None,
        feed: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> JsonObject:
        """Guides of every group held, newest first (``GET /api/v1/guides``).

        Args:
            tag: A tag the guide has.
            q: Words that must all appear in its title, summary, text or tags.
            feed: Only this group's guides.
            limit: The page size, brought into 1..200.
            after: The ``next`` of the previous page, or None to start.

        Returns:
            ``{"guides": [...], "next": cursor or None}``; only the newest
            version of a guide is listed.

        Raises:
            InvalidCursorError: ``after`` is not a cursor this node handed out.
        """
        return await self._page(
            knowhow_queries.list_guides,
            tag=tag,
            q=q,
            feed=feed,
            limit=limit,
            after=after,
        )

    async def get_guide(self, guide_id: str) -> JsonObject:
        """One guide with its text.

        Args:
            guide_id: The event id of its ``guide.published``.

        Returns:
            The guide as listed, with ``text`` and ``replaced_by`` (the id of
            a newer version, or None).

        Raises:
            NotFoundError: Not held, redacted, or of a blocked feed.
        """
        found = await self._query(knowhow_queries.get_guide, guide_id)
        if found is None:
            raise NotFoundError(f"no guide {guide_id} is held here")
        return found

    async def list_advisers(
        self,
        *,
        topic: str | None = None,
        q: str | None = None,
        near: NearQuery | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> JsonObject:
        """People who offer advice, by display name (``GET /api/v1/advisers``).

        Args:
            topic: A topic they advise on.
            q: Words that must all appear in their name, role, about, area or
                topics.
            near: Only those whose listing group's base lies in this radius.
            limit: The page size, brought into 1..200.
            after: The ``next`` of the previous page, or None to start.

        Returns:
            ``{"advisers": [...], "next": cursor or None}``; each names the
            group to contact them through (``feed``, ``name``,
            ``how_to_join``), never an address.

        Raises:
            InvalidCursorError: ``after`` is not a cursor this node handed out.
            NotFoundError: The near filter names a place or group not known.
        """
        point = await self.node.places.resolve(near)
        return await self._page(
            knowhow_queries.list_advisers,
            topic=topic,
            q=q,
            near=point,
            limit=limit,
            after=after,
        )

    async def list_questions(
        self,
        *,
        tag: str | None = None,
        q: str | None = None,
        feed: str | None = None,
        network: str | None = None,
        answered: bool | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> JsonObject:
        """Questions groups asked, newest first (``GET /api/v1/questions``).

        Args:
            tag: A tag the question has.
            q: Words that must all appear in its title, text or tags.
            feed: Only this group's questions.
            network: Only questions asked of this network.
            answered: Only those another group answered (True) or not (False).
            limit: The page size, brought into 1..200.
            after: The ``next`` of the previous page, or None to start.

        Returns:
            ``{"questions": [...], "next": cursor or None}``.

        Raises:
            InvalidCursorError: ``after`` is not a cursor this node handed out.
        """
        return await self._page(
            knowhow_queries.list_questions,
            tag=tag,
            q=q,
            feed=feed,
            network=network,
            answered=answered,
            limit=limit,
            after=after,
        )

    async def get_question(self, question_id: str) -> JsonObject:
        """One question with its answers, best first.

        Args:
            question_id: The event id of its ``question.asked``.

        Returns:
            The question as listed, with ``answers`` (most helpful first, then
            oldest), each with its group and the groups that marked it.

        Raises:
            NotFoundError: Not held, redacted, or of a blocked feed.
        """
        found = await self._query(knowhow_queries.get_question, question_id)
        if found is None:
            raise NotFoundError(f"no question {question_id} is held here")
        return found

    async def _query(
        self, fn: Callable[..., JsonObject | None], *args: Any, **kwargs: Any
    ) -> JsonObject | None:
        node = self.node
        blocked = await node.read(node.store.federation.blocked)
        return await node.read(
            lambda: node.readmodels.query(fn, *args, blocked=blocked, **kwargs)
        )

    async def _page(self, fn: Callable[..., JsonObject], **kwargs: Any) -> JsonObject:
        # A listing always answers a page, never None.
        return cast(JsonObject, await self._query(fn, **kwargs))
