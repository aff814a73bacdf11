"""Places: turning a "near" filter into a point, and looking place names up.

A near filter names a point directly (``lat``/``lon``), a place name, or a
group (``near_group``), whose base is the point.

A place name is looked up offline, in this order (``docs/api.md#get-apiv1places``):

1. the node's own directory: groups held whose base (its place name) or area
   has the name, and that give coordinates; then
2. the gazetteer (:mod:`node.storage.gazetteer`): GeoNames places with that
   name or alternate name, ignoring case and accents. Places in the node's
   own country come first (the country of the gazetteer place nearest the
   base of this node's own group, when its profile gives coordinates), then
   the most populous.

The gazetteer index is built on first use, in a thread of its own, once
however many lookups wait for it; lookups then run in the read pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from node.errors import NodeError, NotFoundError
from node.projections.geo import Near
from node.projections.groups import get_group, groups_named
from node.storage.gazetteer import (
    Gazetteer,
    GazetteerPlace,
    name_key,
)

if TYPE_CHECKING:
    from node.services.runtime import NodeServices

logger = logging.getLogger(__name__)

__all__ = ["MAX_PLACES", "NearQuery", "Place", "Places"]

#: The most places one lookup answers.
MAX_PLACES = 50


@dataclass(frozen=True, slots=True)
class NearQuery:
    """What a "near" filter asked for, before any place is looked up.

    Exactly one of these is set: a point (``lat_e6``/``lon_e6``), a place
    name (``place``, looked up in the offline gazetteer) or a group
    (``group``, a feed id: near that group's base).

    Attributes:
        lat_e6: Latitude in micro-degrees, from ``lat``.
        lon_e6: Longitude in micro-degrees, from ``lon``.
        place: A place name, from ``near``.
        group: A group's feed id, from ``near_group``.
        km: The radius, from ``within_km``.
    """

    lat_e6: int | None
    lon_e6: int | None
    place: str | None
    group: str | None
    km: int


@dataclass(frozen=True, slots=True)
class Place:
    """A place a name was found to mean.

    Attributes:
        name: The place's name (a group's place name or area as it wrote it).
        country: ISO 3166 two-letter country code; None for a group's base.
        admin1: The GeoNames code of its first-level division (``WLS``);
            None for a group's base.
        lat_e6: Latitude in micro-degrees.
        lon_e6: Longitude in micro-degrees.
        population: How many live there; None for a group's base.
        source: ``group`` (the directory) or ``gazetteer``.
    """

    name: str
    country: str | None
    admin1: str | None
    lat_e6: int
    lon_e6: int
    population: int | None
    source: Literal["group", "gazetteer"]


class Places:
    """Place lookups of a running node."""

    def __init__(self, node: NodeServices) -> None:
        """Serve from the node's stores (see :class:`NodeServices`)."""
        self.node = node
        self.gazetteer = Gazetteer(node.settings.path(node.settings.gazetteer_file))
        self._building: asyncio.Future[None] | None = None
        self._prebuilding: asyncio.Future[None] | None = None
        self._home: tuple[tuple[int, int], str | None] | None = None

    async def resolve(self, query: NearQuery | None) -> Near | None:
        """The point and radius a near filter means, or None without one.

        Args:
            query: The filter as given, or None.

        Returns:
            The point (labelled with the place or group when named) and radius.

        Raises:
            NotFoundError: The place name is not known here, or the group is
                not held (or blocked) or gives no coordinates.
        """
        if query is None:
            return None
        km = float(query.km)
        if query.lat_e6 is not None and query.lon_e6 is not None:
            return Near(query.lat_e6, query.lon_e6, km)
        if query.group is not None:
            return await self.near_group(query.group, km)
        found = await self.find(query.place or "", limit=1)
        if not found:
            raise NotFoundError(f"no place called {query.place!r} is known here")
        return Near(found[0].lat_e6, found[0].lon_e6, km, label=found[0].name)

    async def near_group(self, feed: str, km: float) -> Near:
        """The area within ``km`` of a group's base.

        Args:
            feed: The group's feed id.
            km: The radius.

        Returns:
            The group's base and the radius, labelled with the group's name.

        Raises:
            NotFoundError: The group is not held, is blocked, or gives no
                coordinates.
        """
        group = await self.node.read(self.node.readmodels.query, get_group, feed)
        blocked = await self.node.read(self.node.store.federation.blocked)
        if group is None or group.feed in blocked:
            raise NotFoundError(f"no group {feed} is held here")
        if group.lat_e6 is None or group.lon_e6 is None:
            raise NotFoundError(f"the group {feed} gives no coordinates")
        return Near(group.lat_e6, group.lon_e6, km, label=group.name)

    async def find(self, name: str, *, limit: int = 10) -> list[Place]:
        """Places a name means: groups' bases first, then the gazetteer.

        Args:
            name: The name, any text (case and accents are ignored).
            limit: The most places, brought into 1..50.

        Returns:
            The places, best first; empty when nothing matches.
        """
        size = min(max(limit, 1), MAX_PLACES)
        if not name_key(name):
            return []
        places = await self._directory(name)
        if len(places) < size:
            await self.ready()
            country = await self._home_country()
            found = await self.node.read(
                self.gazetteer.lookup, name, limit=size, country=country
            )
            places.extend(_from_gazetteer(place) for place in found)
        return places[:size]

    def prebuild(self, delay: float) -> None:
        """Build the gazetteer index in the background after ``delay`` seconds.

        Args:
            delay: Seconds to wait first; 0 leaves it to the first lookup.
        """
        if delay > 0 and self._prebuilding is None:
            self._prebuilding = asyncio.ensure_future(self._prebuild(delay))

    async def _prebuild(self, delay: float) -> None:
        await asyncio.sleep(delay)
        try:
            await self.ready()
        except NodeError as error:  # a lookup will try again, and say why
            logger.warning("could not build the gazetteer index: %s", error)

    async def stop(self) -> None:
        """Stop a background build that has not started (one running finishes)."""
        task, self._prebuilding = self._prebuilding, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def ready(self) -> None:
        """Build the gazetteer index unless it is built (once, in a thread)."""
        task = self._building
        if task is None or (task.done() and (task.cancelled() or task.exception())):
            task = asyncio.ensure_future(asyncio.to_thread(self.gazetteer.ensure))
            self._building = task
        await asyncio.shield(task)

    async def _directory(self, name: str) -> list[Place]:
        groups = await self.node.read(self.node.readmodels.query, groups_named, name)
        blocked = await self.node.read(self.node.store.federation.blocked)
        places: dict[tuple[int, int], Place] = {}
        for group in groups:
            if group.feed in blocked or group.lat_e6 is None or group.lon_e6 is None:
                continue
            label = group.place_name or group.area or name
            point = (group.lat_e6, group.lon_e6)
            places.setdefault(
                point,
                Place(label, None, None, *point, population=None, source="group"),
            )
        return list(places.values())

    async def _home_country(self) -> str | None:
        own = await self.node.read(
            self.node.readmodels.query, get_group, self.node.key.feed
        )
        if own is None or own.lat_e6 is None or own.lon_e6 is None:
            return None
        point = (own.lat_e6, own.lon_e6)
        if self._home is None or self._home[0] != point:
            nearest = await self.node.read(self.gazetteer.nearest, *point)
            self._home = (point, nearest.country if nearest else None)
        return self._home[1]


def _from_gazetteer(place: GazetteerPlace) -> Place:
    return Place(
        name=place.name,
        country=place.country,
        admin1=place.admin1 or None,
        lat_e6=place.lat_e6,
        lon_e6=place.lon_e6,
        population=place.population,
        source="gazetteer",
    )
