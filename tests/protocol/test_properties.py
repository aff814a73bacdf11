"""Properties of signed events under arbitrary bodies and arbitrary tampering."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import JsonValue, ProtocolError, receive, sign
from tests.protocol.helpers import KEY_A, T0
from tests.protocol.strategies import json_objects


@given(json_objects, st.integers(0, 2**53 - 1))
def test_any_canonical_body_signs_and_verifies(
    body: dict[str, JsonValue], ts: int
) -> None:
    event = sign(KEY_A, None, ts, "guide.published", body)
    assert receive(event.wire_bytes(), None) == event


@settings(max_examples=400)
@given(json_objects, st.data())
def test_any_single_byte_change_is_caught(
    body: dict[str, JsonValue], data: st.DataObject
) -> None:
    first = sign(KEY_A, None, T0, "group.profile_set", {"name": "Cwmaman"})
    event = sign(KEY_A, first, T0 + 1, "guide.published", body)
    text = bytearray(event.wire_bytes())
    index = data.draw(st.integers(0, len(text) - 1), label="index")
    byte = data.draw(
        st.integers(0, 255).filter(lambda b: b != text[index]), label="byte"
    )
    text[index] = byte
    try:
        received = receive(bytes(text), first)
    except ProtocolError:
        return
    # A change that survives every check must be a different spelling of the
    # very same event (e.g. "\u001f" written "\u001F"): same id, same body.
    assert received.id == event.id
    assert received.wire_bytes() == event.wire_bytes()
