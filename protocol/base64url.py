"""Strict, unpadded base64url (``docs/protocol.md#base64url``).

Python's own decoder is lenient: it accepts padding, skips foreign characters
and ignores non-zero spare bits, so several texts decode to the same bytes.
Here exactly one text encodes any byte string, so any changed character of a
signed event is caught.
"""

from __future__ import annotations

import base64
import re

from protocol.errors import MalformedError

__all__ = ["decode", "encode"]

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def encode(data: bytes) -> str:
    """Encode bytes as unpadded base64url.

    Args:
        data: The bytes to encode.

    Returns:
        The text, without ``=`` padding.
    """
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode(text: str, *, length: int | None = None, field: str | None = None) -> bytes:
    """Decode strict unpadded base64url.

    Args:
        text: The text to decode.
        length: When given, the exact number of bytes expected.
        field: Where the text came from, for the error message.

    Returns:
        The decoded bytes.

    Raises:
        MalformedError: Padding, a character outside the alphabet, an
            impossible length, non-zero spare bits or a wrong decoded length.
    """
    where = field or "value"
    if not isinstance(text, str) or _ALPHABET.fullmatch(text) is None:
        raise MalformedError(f"{where} is not unpadded base64url", field_path=field)
    if len(text) % 4 == 1:
        raise MalformedError(
            f"{where} has an impossible base64url length", field_path=field
        )
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    # Re-encoding catches non-zero spare bits: only the canonical text survives.
    if encode(data) != text:
        raise MalformedError(f"{where} has non-zero spare bits", field_path=field)
    if length is not None and len(data) != length:
        raise MalformedError(
            f"{where} decodes to {len(data)} bytes, not {length}", field_path=field
        )
    return data
