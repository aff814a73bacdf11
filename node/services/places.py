"""Places: turning a "near" filter into a point (being built).

A near filter names a point directly (``lat``/``lon``), a place name looked up
in the offline gazetteer, or a group, whose base is the point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from node.errors import NotFoundError
from node.projections.geo import Near

if TYPE_CHECKING:
    from node.services.runtime import NodeServices

__all__ = ["NearQuery", "Places"]


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


class Places:
    """Place lookups of a running node."""

    def __init__(self, node: NodeServices) -> None:
        """Serve from the node's stores (see :class:`NodeServices`)."""
        self.node = node

    async def resolve(self, query: NearQuery | None) -> Near | None:
        """The point and radius a near filter means, or None without one.

        Raises:
            NotFoundError: The place name or group is not known here.
        """
        if query is None:
            return None
        if query.lat_e6 is not None and query.lon_e6 is not None:
            return Near(query.lat_e6, query.lon_e6, float(query.km))
        raise NotFoundError("looking places up by name is not built yet")
