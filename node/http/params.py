"""Reading query parameters: bounded integers and short texts, or ``malformed``."""

from __future__ import annotations

import re

from aiohttp import web

from protocol import MalformedError

__all__ = ["int_param", "text_param"]

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
