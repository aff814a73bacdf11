"""Reading query parameters: bounded integers and short texts, or ``malformed``."""

from __future__ import annotations

import re

from aiohttp import web

from node.services.places import NearQuery
from protocol import MalformedError

__all__ = ["NearQuery", "int_param", "near_params", "text_param"]

_DEGREES = re.compile(r"-?[0-9]{1,3}(?:\.[0-9]{1,7})?")
#: The radius used when ``within_km`` is not given, and the largest allowed.
DEFAULT_KM, MAX_KM = 25, 1000


_INTEGER = re.compile(r"-?[0-9]{1,18}")


def int_param(
    request: web.Request, name: str, *, default: int, minimum: int, maximum: int
) -> int:
    """An integer query parameter; values above ``maximum`` are clamped.

    Raises:
        MalformedError: Not an integer, or below ``minimum``.
    """
    text = request.query.get(name)
    if text is None or text == "":
        return default
    if _INTEGER.fullmatch(text) is None:
        raise MalformedError(f"{name} must be an integer", field_path=name)
    value = int(text)
    if value < minimum:
        raise MalformedError(f"{name} must be at least {minimum}", field_path=name)
    return min(value, maximum)


def text_param(request: web.Request, name: str, *, max_length: int = 200) -> str | None:
    """A text query parameter, or None when absent or empty.

    Raises:
        MalformedError: Longer than ``max_length`` characters.
    """
    text = request.query.get(name)
    if not text:
        return None
    if len(text) > max_length:
        raise MalformedError(
            f"{name} is longer than {max_length} characters", field_path=name
        )
    return text


def _degrees(request: web.Request, name: str, limit: int) -> int | None:
    text = request.query.get(name)
    if not text:
        return None
    if _DEGREES.fullmatch(text) is None or abs(float(text)) > limit:
        raise MalformedError(
            f"{name} must be decimal degrees between -{limit} and {limit}",
            field_path=name,
        )
    whole, _, fraction = text.lstrip("-").partition(".")
    micro = int(whole) * 1_000_000 + int((fraction + "000000")[:6])
    return -micro if text.startswith("-") else micro


def near_params(request: web.Request) -> NearQuery | None:
    """The "near" filter of a listing, or None when none is asked for.

    Parameters: ``lat`` and ``lon`` (decimal degrees), or ``near`` (a place
    name), or ``near_group`` (a feed id); ``within_km`` (1..1000, default 25).

    Raises:
        MalformedError: Bad degrees, only one of lat/lon, or two kinds of point.
    """
    lat, lon = _degrees(request, "lat", 90), _degrees(request, "lon", 180)
    if (lat is None) != (lon is None):
        raise MalformedError("give both lat and lon", field_path="lat")
    place = text_param(request, "near", max_length=200)
    group = text_param(request, "near_group", max_length=60)
    given = sum(x is not None for x in (lat, place, group))
    km = int_param(request, "within_km", default=DEFAULT_KM, minimum=1, maximum=MAX_KM)
    if given == 0:
        if request.query.get("within_km"):
            raise MalformedError(
                "within_km needs lat and lon, near or near_group",
                field_path="within_km",
            )
        return None
    if given > 1:
        raise MalformedError(
            "give only one of lat/lon, near and near_group", field_path="near"
        )
    return NearQuery(lat, lon, place, group, km)
