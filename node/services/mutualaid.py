"""The mutual-aid service: needs and offers of every group, and their matches.

Queries run in the node's read pool against the mutual-aid read model
(:mod:`node.projections.mutualaid`, whose docstring states who may mark
what), with the feeds the operator blocked left out, the node's clock for
lapsed items and a "near" filter resolved to a point first. Writing is
publishing (``POST /api/v1/events``, organisers).

Every answer names the posting group (feed, name, how to join): contact goes
through its organisers, never a member's details, which no event carries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import orjson

from node.errors import NotFoundError
from node.projections import mutualaid
from node.projections.mutualaid import AidFilters, AidItem, Marked
from node.services.places import NearQuery
from protocol import JsonObject, JsonValue

if TYPE_CHECKING:
    from node.services.runtime import NodeServices

__all__ = ["DEFAULT_MATCH_KM", "AidFilters", "MutualAid", "aid_item"]

#: The radius of a match when none is asked for.
DEFAULT_MATCH_KM = 50


class MutualAid:
    """The needs, offers and matches of a running node."""

    def __init__(self, node: NodeServices) -> None:
        """Serve from the node's stores (see :class:`NodeServices`)."""
        self.node = node

    async def list_items(
        self,
        kind: str,
        filters: AidFilters,
        *,
        near: NearQuery | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> JsonObject:
        """List needs or offers, newest first (``GET /api/v1/needs``, ``/offers``).

        Args:
            kind: ``need`` or ``offer``.
            filters: What to narrow the listing by.
            near: Only items whose point (or group's base) lies within it.
            limit: The page size, brought into 1..200.
            after: The ``next`` of the previous page, or None to start.

        Returns:
            ``{"needs" | "offers": [...], "next": cursor or None}``, each item
            as :func:`aid_item` shapes it.

        Raises:
            InvalidCursorError: ``after`` is not a cursor this node handed out.
            NotFoundError: The near filter names a place or group not known.
        """
        node = self.node
        point = await node.places.resolve(near)
        blocked = await node.read(node.store.federation.blocked)
        page = await node.read(
            node.readmodels.query,
            mutualaid.list_items,
            kind,
            filters,
            now=node.clock(),
            blocked=blocked,
            near=point,
            limit=limit,
            after=after,
        )
        items: list[JsonValue] = [aid_item(item) for item in page.items]
        return {f"{kind}s": items, "next": page.next}

    async def get_need(self, need_id: str) -> JsonObject:
        """One need, with the offers naming it and the match that met it.

        Returns:
            :func:`aid_item` with ``offers`` (naming it, oldest first) and
            ``met``: ``{ts, note, offer_id, offer}`` (``offer`` the offer
            item when held) or None.

        Raises:
            NotFoundError: Not held, redacted, or posted by a blocked feed.
        """
        node, now = self.node, self.node.clock()
        blocked = await node.read(node.store.federation.blocked)
        need = await self._get("need", need_id, blocked)
        offers = await node.read(
            node.readmodels.query,
            mutualaid.offers_for,
            need_id,
            now=now,
            blocked=blocked,
        )
        answer = aid_item(need.item)
        answer["offers"] = [aid_item(offer) for offer in offers]
        answer["met"] = None
        if need.mark is not None:
            offer_id = need.mark["offer"]
            offer = None
            if offer_id is not None:
                found = await self._find("offer", offer_id, blocked)
                offer = aid_item(found.item) if found else None
            answer["met"] = {
                "ts": need.mark["ts"],
                "note": need.mark["note"],
                "offer_id": offer_id,
                "offer": offer,
            }
        return answer

    async def get_offer(self, offer_id: str) -> JsonObject:
        """One offer, with the need it answers and whether it was withdrawn.

        Returns:
            :func:`aid_item` with ``answers`` (the need named, when held) and
            ``withdrawn``: ``{ts, reason}`` or None.

        Raises:
            NotFoundError: Not held, redacted, or posted by a blocked feed.
        """
        blocked = await self.node.read(self.node.store.federation.blocked)
        offer = await self._get("offer", offer_id, blocked)
        answer = aid_item(offer.item)
        need_id = offer.item.row["need"]
        need = await self._find("need", need_id, blocked) if need_id else None
        answer["answers"] = aid_item(need.item) if need else None
        mark = offer.mark
        answer["withdrawn"] = (
            None if mark is None else {"ts": mark["ts"], "reason": mark["note"]}
        )
        return answer

    async def matches(
        self,
        kind: str,
        item_id: str,
        *,
        km: int = DEFAULT_MATCH_KM,
        limit: int = 50,
        after: str | None = None,
    ) -> JsonObject:
        """Open items of the other kind and same category, nearest first.

        Args:
            kind: ``need`` (its matching offers) or ``offer`` (its needs).
            item_id: The need's or offer's id.
            km: The radius, from the item's point (or its group's base).
            limit: The page size, brought into 1..200.
            after: The ``next`` of the previous page, or None to start.

        Returns:
            ``{"offers" | "needs": [...], "next"}``, each item with
            ``distance_km``.

        Raises:
            NotFoundError: The item is not held, redacted or blocked.
            InvalidCursorError: ``after`` is not a cursor this node handed out.
        """
        node = self.node
        blocked = await node.read(node.store.federation.blocked)
        item = await self._get(kind, item_id, blocked)
        page = await node.read(
            node.readmodels.query,
            mutualaid.matches,
            item.item,
            km=km,
            now=node.clock(),
            blocked=blocked,
            limit=limit,
            after=after,
        )
        other = "offers" if kind == "need" else "needs"
        found: list[JsonValue] = [aid_item(match) for match in page.items]
        return {other: found, "next": page.next}

    async def _find(
        self, kind: str, item_id: str, blocked: frozenset[str]
    ) -> Marked | None:
        node = self.node
        return await node.read(
            node.readmodels.query,
            mutualaid.get_item,
            kind,
            item_id,
            now=node.clock(),
            blocked=blocked,
        )

    async def _get(self, kind: str, item_id: str, blocked: frozenset[str]) -> Marked:
        found = await self._find(kind, item_id, blocked)
        if found is None:
            raise NotFoundError(f"no {kind} {item_id} is held here")
        return found


def aid_item(item: AidItem) -> JsonObject:
    """A need or offer as listings show it.

    Args:
        item: The item found.

    Returns:
        ``{id, kind, feed, group: {feed, name, how_to_join}, title, category,
        text, place, tags, until, posted_at, status}``, an offer also with
        ``need`` (the id it answers, or None), and ``distance_km`` after a
        near filter or in matches.
    """
    row = item.row
    place = None
    if row["place_name"] is not None:
        place = {
            "name": row["place_name"],
            "lat_e6": row["lat_e6"],
            "lon_e6": row["lon_e6"],
        }
    answer: JsonObject = {
        "id": row["id"],
        "kind": row["kind"],
        "feed": row["feed"],
        "group": {
            "feed": row["feed"],
            "name": row["group_name"],
            "how_to_join": row["group_how_to_join"],
        },
        "title": row["title"],
        "category": row["category"],
        "text": row["text"],
        "place": place,
        "tags": orjson.loads(row["tags"]),
        "until": row["until"],
        "posted_at": row["ts"],
        "status": row["status"],
    }
    if row["kind"] == "offer":
        answer["need"] = row["need"]
    if item.distance_km is not None:
        # Answers are JSON, not event bodies: a float is fine here.
        answer["distance_km"] = cast(JsonValue, round(item.distance_km, 1))
    return answer
