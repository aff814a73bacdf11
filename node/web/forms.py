"""Reading what a page is asked: query strings and posted forms.

A bad value is ``malformed`` with the field named, as on the API; a page then
shows the form again with what was typed and says what to change, instead
of an error page (:func:`attempt` turns a refusal into a :class:`Problem`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TypeVar

from aiohttp import web

from node.errors import HTTP_STATUS, NodeError
from node.services.places import NearQuery
from protocol import MalformedError, ProtocolError, TooLargeError

__all__ = [
    "DEFAULT_KM",
    "Problem",
    "attempt",
    "choice",
    "day_start",
    "integer",
    "near",
    "posted",
    "text",
]

T = TypeVar("T")
Values = Mapping[str, object]

#: The "near" radius when none is chosen, and the choices offered.
DEFAULT_KM, RADII = 25, (5, 10, 25, 50, 100, 250)
_DEGREES = re.compile(r"-?[0-9]{1,3}(?:\.[0-9]{1,7})?")
_INTEGER = re.compile(r"-?[0-9]{1,18}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FORM_LIMIT = 64 * 1024

#: The HTTP status a page answers with when a refusal of this code is shown.
_STATUS = HTTP_STATUS


@dataclass(frozen=True, slots=True)
class Problem:
    """A refusal shown on the page: what went wrong and what to do.

    Attributes:
        code: The stable code (``docs/api.md#errors``).
        message: What to do about it.
        field: The field it is about, when one is.
        status: The status the page answers with.
    """

    code: str
    message: str
    field: str | None = None
    status: int = 400


async def attempt(work: Callable[[], Awaitable[T]]) -> T | Problem:
    """Do ``work``; a refusal comes back as a :class:`Problem` to show."""
    try:
        return await work()
    except ProtocolError as error:
        return Problem(
            error.code, error.message, error.field_path, _STATUS.get(error.code, 400)
        )
    except NodeError as error:
        return Problem(error.code, error.message, None, _STATUS.get(error.code, 400))


def text(values: Values, name: str, *, max_length: int = 200) -> str | None:
    """A text value, stripped; None when absent or empty.

    Raises:
        MalformedError: Not text, or longer than ``max_length``.
    """
    value = values.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedError(f"{name} must be text", field_path=name)
    value = value.strip()
    if len(value) > max_length:
        raise MalformedError(
            f"{name} is longer than {max_length} characters", field_path=name
        )
    return value or None


def integer(values: Values, name: str, *, minimum: int, maximum: int) -> int | None:
    """An integer value within bounds; None when absent or empty.

    Raises:
        MalformedError: Not an integer, or outside the bounds.
    """
    value = text(values, name, max_length=20)
    if value is None:
        return None
    if _INTEGER.fullmatch(value) is None:
        raise MalformedError(f"{name} must be a whole number", field_path=name)
    number = int(value)
    if not minimum <= number <= maximum:
        raise MalformedError(
            f"{name} must be between {minimum} and {maximum}", field_path=name
        )
    return number


def choice(values: Values, name: str, choices: Iterable[str]) -> str | None:
    """One of ``choices``; None when absent or empty.

    Raises:
        MalformedError: Anything else.
    """
    value = text(values, name, max_length=64)
    allowed = set(choices)
    if value is not None and value not in allowed:
        raise MalformedError(
            f"{name} must be one of {', '.join(sorted(allowed))}", field_path=name
        )
    return value


def day_start(values: Values, name: str) -> int | None:
    """A ``YYYY-MM-DD`` date as the start of that day (UTC, in ms).

    Raises:
        MalformedError: Not such a date.
    """
    value = text(values, name, max_length=10)
    if value is None:
        return None
    try:
        if _DATE.fullmatch(value) is None:
            raise ValueError(value)
        moment = datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
    except ValueError:
        raise MalformedError(
            f"{name} must be a date like 2026-03-31", field_path=name
        ) from None
    return int(moment.timestamp() * 1000)


def _degrees(values: Values, name: str, limit: int) -> int | None:
    value = text(values, name, max_length=16)
    if value is None:
        return None
    if _DEGREES.fullmatch(value) is None or abs(float(value)) > limit:
        raise MalformedError(
            f"{name} must be decimal degrees between -{limit} and {limit}",
            field_path=name,
        )
    return round(float(value) * 1_000_000)


def near(values: Values) -> NearQuery | None:
    """A "near" filter: a place name, else a group, else ``lat``/``lon``; or None.

    Raises:
        MalformedError: Bad degrees, only one of lat/lon, or a bad radius.
    """
    lat, lon = _degrees(values, "lat", 90), _degrees(values, "lon", 180)
    if (lat is None) != (lon is None):
        raise MalformedError("give both lat and lon", field_path="lat")
    place = text(values, "near", max_length=200)
    group = text(values, "near_group", max_length=60)
    km = integer(values, "within_km", minimum=1, maximum=1000) or DEFAULT_KM
    # What was typed or chosen wins over a location the form remembers.
    if place is not None:
        return NearQuery(None, None, place, None, km)
    if group is not None:
        return NearQuery(None, None, None, group, km)
    if lat is not None:
        return NearQuery(lat, lon, None, None, km)
    return None


async def posted(request: web.Request) -> dict[str, str]:
    """The fields of a posted form (text fields only; files are refused).

    Raises:
        MalformedError: A file, or a form that is not a form.
    """
    if request.content_length is not None and request.content_length > _FORM_LIMIT:
        raise TooLargeError(f"a form is at most {_FORM_LIMIT} bytes")
    form = await request.post()
    fields: dict[str, str] = {}
    for name, value in form.items():
        if not isinstance(value, str):
            raise MalformedError("send the form's fields as text", field_path=name)
        fields.setdefault(name, value)
    return fields
