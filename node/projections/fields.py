"""Reading fields of schema-valid bodies, and the paging cursors of listings.

Every read model reads the same few shapes out of bodies (a text, an integer,
an object) and pages its listings with the same opaque cursor: the sort key of
the last row handed out, as base64url of a small JSON array. One copy here.
"""

from __future__ import annotations

import orjson

from node.projections.model import InvalidCursorError
from protocol import JsonObject, ProtocolError, base64url

__all__ = [
    "decode_text_cursor",
    "decode_ts_cursor",
    "encode_cursor",
    "integer",
    "mapping",
    "text",
]

#: The largest sort value a cursor may carry (the sentinel models start from).
_LARGEST = 2**62


def text(value: JsonObject, key: str) -> str | None:
    """The text at ``key``, or None when absent or not text."""
    inner = value.get(key)
    return inner if isinstance(inner, str) else None


def integer(value: JsonObject, key: str) -> int | None:
    """The integer at ``key``, or None when absent or not an integer."""
    inner = value.get(key)
    return inner if type(inner) is int else None


def mapping(value: JsonObject, key: str) -> JsonObject:
    """The object at ``key``, or an empty one when absent or not an object."""
    inner = value.get(key)
    return inner if isinstance(inner, dict) else {}


def encode_cursor(first: int | str, second: str) -> str:
    """An opaque cursor naming the last row of a page by its sort key."""
    return base64url.encode(orjson.dumps([first, second]))


def _decode(text_: str, what: str) -> list[object]:
    try:
        value = orjson.loads(base64url.decode(text_, field="after"))
    except (ProtocolError, orjson.JSONDecodeError):
        raise InvalidCursorError(f"after is not {what}") from None
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[1], str)):
        raise InvalidCursorError(f"after is not {what}")
    return value


def decode_ts_cursor(text_: str, what: str) -> tuple[int, str]:
    """A cursor of (integer sort key, id), as :func:`encode_cursor` made it.

    Raises:
        InvalidCursorError: Not such a cursor (``what`` names the listing).
    """
    first, second = _decode(text_, what)
    if type(first) is not int or abs(first) > _LARGEST:
        raise InvalidCursorError(f"after is not {what}")
    return first, str(second)


def decode_text_cursor(text_: str, what: str) -> tuple[str, str]:
    """A cursor of (text sort key, id), as :func:`encode_cursor` made it.

    Raises:
        InvalidCursorError: Not such a cursor (``what`` names the listing).
    """
    first, second = _decode(text_, what)
    if not isinstance(first, str):
        raise InvalidCursorError(f"after is not {what}")
    return first, str(second)
