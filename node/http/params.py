"""Reading query parameters: bounded integers and short texts, or ``malformed``."""

from __future__ import annotations

from aiohttp import web

from protocol import MalformedError

__all__ = ["int_param", "text_param"]


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
    if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 18:
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
