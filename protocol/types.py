"""Names for the values the protocol passes around.

``JsonValue`` is the canonical subset of JSON (``docs/protocol.md#canonical-encoding``):
no floats. ``FeedId`` and ``EventId`` are the two identifiers of the wire
format, kept apart by ``NewType`` so one is never passed for the other.
"""

from __future__ import annotations

from typing import NewType, TypeAlias

__all__ = ["EventId", "FeedId", "JsonObject", "JsonValue"]

JsonValue: TypeAlias = (
    bool | int | str | list["JsonValue"] | dict[str, "JsonValue"] | None
)
JsonObject: TypeAlias = dict[str, JsonValue]

#: ``ed25519:`` + unpadded base64url of a 32-byte public key.
FeedId = NewType("FeedId", str)
#: ``sha256:`` + unpadded base64url of the SHA-256 of a canonical header.
EventId = NewType("EventId", str)
