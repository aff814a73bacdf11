r"""Canonical JSON: RFC 8785 (JCS) over Tredegar's strict subset.

See ``docs/protocol.md#canonical-encoding``. The subset is: objects with ASCII
keys and no duplicates, arrays, strings (valid Unicode, no lone surrogates),
integers within ±(2**53 - 1), ``true``, ``false`` and ``null``; no floats; at
most :data:`MAX_DEPTH` levels of nesting. Within it, JCS output is compact
JSON with keys sorted, strings escaped only where JSON requires it (``"``,
``\\`` and the C0 controls, the latter as ``\\b \\t \\n \\f \\r`` or
``\\u00xx``) and everything else as raw UTF-8 — byte for byte what orjson
writes with sorted keys, which is why orjson does the writing here (it is tested
against an independent JCS implementation).

Decoding accepts any JSON text whose values lie in the subset (whitespace and
escapes are free) and refuses duplicate keys. Its fast path is orjson; when the
canonical re-encoding differs from the text received, a strict stdlib parse
looks for duplicate keys, which orjson would silently drop.
"""

from __future__ import annotations

import json
from typing import NoReturn

import orjson

from protocol.errors import MalformedError, NonCanonicalError
from protocol.types import JsonValue

__all__ = [
    "MAX_DEPTH",
    "MAX_SAFE_INTEGER",
    "as_bytes",
    "check",
    "decode",
    "dump",
    "encode",
]

#: The largest integer magnitude in the subset (IEEE 754 doubles are exact up to it).
MAX_SAFE_INTEGER = 2**53 - 1
#: The deepest nesting of arrays and objects in the subset.
MAX_DEPTH = 32


class _PathedError(NonCanonicalError):
    """A non-canonical value found during a walk; parents prepend their key."""


def _refuse(message: str) -> NoReturn:
    raise _PathedError(message, field_path="")


def _walk(value: object, depth: int) -> None:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return
    if kind is int:
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:  # type: ignore[operator]
            _refuse("integer outside ±(2**53 - 1)")
        return
    if kind is float:
        _refuse("floats are not allowed; use integers (pence, minutes, micro-degrees)")
    if depth >= MAX_DEPTH:
        _refuse(f"nested deeper than {MAX_DEPTH} levels")
    if kind is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str or not key.isascii():
                _refuse(f"object key {key!r} is not ASCII text")
            try:
                _walk(item, depth + 1)
            except _PathedError as error:
                error.field_path = _join(key, error.field_path)
                raise
        return
    if kind is list:
        for index, item in enumerate(value):  # type: ignore[arg-type]
            try:
                _walk(item, depth + 1)
            except _PathedError as error:
                error.field_path = _join(f"[{index}]", error.field_path)
                raise
        return
    _refuse(f"{kind.__name__} is not a JSON value")


def _join(head: str, tail: str | None) -> str:
    if not tail:
        return head
    return head + tail if tail.startswith("[") else f"{head}.{tail}"


def check(value: object, *, depth: int = 0) -> None:
    """Check that a value lies in the canonical subset.

    Args:
        value: A decoded JSON value (or anything else).
        depth: How deeply the value is nested inside the text it will be
            part of (1 for an event's body, which sits inside the event).

    Raises:
        NonCanonicalError: The value, or a value inside it, is outside the
            subset; ``field_path`` says where.
    """
    try:
        _walk(value, depth)
    except _PathedError as error:
        raise NonCanonicalError(
            f"{error.field_path or 'value'}: {error.message}",
            field_path=error.field_path or None,
        ) from None


def encode(value: JsonValue, *, depth: int = 0) -> bytes:
    """Encode a value as canonical bytes.

    Args:
        value: A value in the canonical subset.
        depth: How deeply the value will be nested (see :func:`check`).

    Returns:
        The RFC 8785 canonical UTF-8 bytes.

    Raises:
        NonCanonicalError: The value is outside the subset (a float, a big
            integer, a non-ASCII key, a lone surrogate, too deep …).
    """
    check(value, depth=depth)
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError as error:
        # Only a string that is not valid Unicode gets here: a lone surrogate.
        raise NonCanonicalError(f"not encodable as UTF-8: {error}") from None


def dump(value: JsonValue) -> bytes:
    """Encode a value already known to lie in the subset, without checking it.

    For values that came out of :func:`decode` or through :func:`encode`
    (a decoded event's header and body, a stored event): the subset check
    walks every value, which costs far more than the encoding itself.

    Args:
        value: A value in the canonical subset.

    Returns:
        The RFC 8785 canonical UTF-8 bytes.

    Raises:
        NonCanonicalError: A string is not valid Unicode (a lone surrogate).
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError as error:
        raise NonCanonicalError(f"not encodable as UTF-8: {error}") from None


def decode(text: bytes | str) -> JsonValue:
    """Decode JSON text whose values lie in the canonical subset.

    Args:
        text: UTF-8 bytes (or a string) of one JSON value, canonical or not.

    Returns:
        The decoded value.

    Raises:
        MalformedError: Not JSON, or not UTF-8.
        NonCanonicalError: Valid JSON holding a value outside the subset, or
            an object with a duplicate key.
    """
    data = as_bytes(text)
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        value = _strict_loads(data)
    canonical = encode(value)
    if canonical != data:
        # Whitespace, escapes or key order may differ; a duplicate key would
        # have been dropped silently by orjson, so look again strictly.
        _strict_loads(data)
    return value  # type: ignore[no-any-return]


def as_bytes(text: bytes | str) -> bytes:
    """Return UTF-8 bytes of a text (bytes pass through).

    Raises:
        NonCanonicalError: The string holds a lone surrogate.
    """
    if isinstance(text, bytes):
        return text
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise NonCanonicalError("text holds a lone surrogate") from None


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise NonCanonicalError(f"duplicate key {key!r}", field_path=key)
            seen.add(key)
    return result


def _bad_constant(name: str) -> NoReturn:
    raise MalformedError(f"{name} is not JSON")


def _strict_loads(data: bytes) -> JsonValue:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedError("not UTF-8 text") from None
    try:
        value = json.loads(
            text, object_pairs_hook=_no_duplicates, parse_constant=_bad_constant
        )
    except RecursionError:
        raise NonCanonicalError(f"nested deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as error:
        raise MalformedError(f"not JSON: {error.msg} at offset {error.pos}") from None
    check(value)
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError:
        raise NonCanonicalError("a string holds a lone surrogate") from None
    return value  # type: ignore[no-any-return]
