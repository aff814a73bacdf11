"""Distances on the Earth for "near me" queries, in micro-degrees.

Events carry coordinates as integer micro-degrees (DESIGN §3: no floats in an
event). A query near a point first narrows rows by a bounding box (an indexed
range on ``lat_e6`` and ``lon_e6``), then keeps those whose great-circle
distance (haversine, mean Earth radius) is within the radius, nearest first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["EARTH_RADIUS_KM", "Box", "Near", "distance_km"]

#: The mean radius of the Earth.
EARTH_RADIUS_KM = 6371.0088
_MICRO = 1_000_000
_KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180


@dataclass(frozen=True, slots=True)
class Box:
    """A latitude/longitude range in micro-degrees, bounds included."""

    min_lat_e6: int
    max_lat_e6: int
    min_lon_e6: int
    max_lon_e6: int


@dataclass(frozen=True, slots=True)
class Near:
    """A point and a radius: "within ``km`` of here".

    Attributes:
        lat_e6: Latitude in micro-degrees.
        lon_e6: Longitude in micro-degrees.
        km: The radius in kilometres.
        label: What the point is, in words (a place name, a group), if known.
    """

    lat_e6: int
    lon_e6: int
    km: float
    label: str | None = None

    def box(self) -> Box:
        """The bounding box holding every point within the radius."""
        lat = self.lat_e6 / _MICRO
        dlat = self.km / _KM_PER_DEGREE
        min_lat, max_lat = max(lat - dlat, -90.0), min(lat + dlat, 90.0)
        widest = max(abs(min_lat), abs(max_lat))
        cos = math.cos(math.radians(widest))
        if widest >= 89.9 or cos * 180 * _KM_PER_DEGREE <= self.km:
            min_lon, max_lon = -180.0, 180.0  # near a pole: every longitude
        else:
            dlon = self.km / (_KM_PER_DEGREE * cos)
            min_lon = self.lon_e6 / _MICRO - dlon
            max_lon = self.lon_e6 / _MICRO + dlon
            if min_lon < -180.0 or max_lon > 180.0:
                min_lon, max_lon = -180.0, 180.0  # across the antimeridian
        return Box(
            math.floor(min_lat * _MICRO),
            math.ceil(max_lat * _MICRO),
            math.floor(min_lon * _MICRO),
            math.ceil(max_lon * _MICRO),
        )

    def distance_to(self, lat_e6: int, lon_e6: int) -> float:
        """Kilometres from this point to another."""
        return distance_km(self.lat_e6, self.lon_e6, lat_e6, lon_e6)

    def holds(self, lat_e6: int | None, lon_e6: int | None) -> bool:
        """Whether a point (None: no coordinates) lies within the radius."""
        if lat_e6 is None or lon_e6 is None:
            return False
        return self.distance_to(lat_e6, lon_e6) <= self.km


def distance_km(lat1_e6: int, lon1_e6: int, lat2_e6: int, lon2_e6: int) -> float:
    """The great-circle distance between two points, in kilometres.

    Args:
        lat1_e6: First latitude, micro-degrees.
        lon1_e6: First longitude, micro-degrees.
        lat2_e6: Second latitude, micro-degrees.
        lon2_e6: Second longitude, micro-degrees.

    Returns:
        The haversine distance on a sphere of the Earth's mean radius.
    """
    phi1, phi2 = math.radians(lat1_e6 / _MICRO), math.radians(lat2_e6 / _MICRO)
    dphi = phi2 - phi1
    dlambda = math.radians((lon2_e6 - lon1_e6) / _MICRO)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * (
        math.sin(dlambda / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))
