"""Shared builders for protocol tests: fixed keys, small feeds, tampering."""

from __future__ import annotations

from protocol import Event, JsonObject, JsonValue, SigningKey, canonical, sign

#: Fixed seeds so failures are reproducible (never used outside tests).
SEED_A = bytes(range(32))
SEED_B = bytes(range(32, 64))
KEY_A = SigningKey.from_seed(SEED_A)
KEY_B = SigningKey.from_seed(SEED_B)
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def feed_of(key: SigningKey, count: int, *, start: Event | None = None) -> list[Event]:
    """Sign ``count`` events continuing ``start`` with simple valid bodies."""
    events: list[Event] = []
    previous = start
    for index in range(count):
        seq = 1 if previous is None else previous.seq + 1
        if seq == 1:
            event = sign(
                key, None, T0, "group.profile_set", {"name": "Ystalyfera Tenants"}
            )
        else:
            body: JsonObject = {"title": f"Update {index}", "text": "Rent strike vote"}
            event = sign(key, previous, T0 + seq, "campaign.updated", body)
        events.append(event)
        previous = event
    return events


def tampered(event: Event, **changes: JsonValue) -> bytes:
    """Return the event's wire text with fields replaced (signature untouched)."""
    wire = event.to_wire()
    for key, value in changes.items():
        if value is _DROP:
            del wire[key]
        else:
            wire[key] = value
    return canonical.encode(wire)


#: Marker for :func:`tampered`: remove the key.
_DROP: JsonValue = "\u0000drop"
DROP = _DROP
