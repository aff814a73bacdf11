"""Canonical encoding: RFC 8785 over the strict subset, checked against rfc8785."""

from __future__ import annotations

import json

import pytest
import rfc8785
from hypothesis import given

from protocol import JsonValue, MalformedError, NonCanonicalError, canonical
from protocol.canonical import MAX_DEPTH, MAX_SAFE_INTEGER
from tests.protocol.strategies import json_objects, json_values


@given(json_values)
def test_encoding_matches_an_independent_jcs_implementation(value: JsonValue) -> None:
    assert canonical.encode(value) == rfc8785.dumps(value)


@given(json_values)
def test_decode_inverts_encode(value: JsonValue) -> None:
    assert canonical.decode(canonical.encode(value)) == value


@given(json_values)
def test_encoding_is_stable_under_re_encoding(value: JsonValue) -> None:
    once = canonical.encode(value)
    assert canonical.encode(canonical.decode(once)) == once


@given(json_objects)
def test_key_order_does_not_matter(value: dict[str, JsonValue]) -> None:
    reordered = dict(reversed(list(value.items())))
    assert canonical.encode(reordered) == canonical.encode(value)


@given(json_values)
def test_any_json_text_in_the_subset_is_accepted(value: JsonValue) -> None:
    spaced = json.dumps(value, indent=2, ensure_ascii=True)
    assert canonical.decode(spaced) == value
    assert canonical.decode(spaced.encode()) == value


def test_escapes_follow_rfc8785() -> None:
    value: JsonValue = {"s": '"\\/\b\f\n\r\t\u0000\u001f\u007f\u2028<é😀'}
    assert canonical.encode(value) == (
        '{"s":"\\"\\\\/\\b\\f\\n\\r\\t\\u0000\\u001f\u007f\u2028<é😀"}'.encode()
    )


def test_keys_sort_by_code_unit() -> None:
    assert canonical.encode({"b": 1, "B": 2, "_": 3, "a": [True, None]}) == (
        b'{"B":2,"_":3,"a":[true,null],"b":1}'
    )


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        {"a": 1.0},
        [0, -0.0],
        MAX_SAFE_INTEGER + 1,
        -MAX_SAFE_INTEGER - 1,
        {"é": 1},
        {1: "non-text key"},
        {"s": "\ud800"},
        b"bytes",
        (1, 2),
    ],
)
def test_values_outside_the_subset_are_refused(value: object) -> None:
    with pytest.raises(NonCanonicalError):
        canonical.encode(value)  # type: ignore[arg-type]


def test_the_refusal_says_where() -> None:
    with pytest.raises(NonCanonicalError) as caught:
        canonical.encode({"place": {"lat": [1, 2.5]}})  # type: ignore[list-item]
    assert caught.value.field_path == "place.lat[1]"


@pytest.mark.parametrize(
    "text",
    [
        b'{"a":1.5}',
        b'{"a":1.0}',
        b'{"a":1e3}',
        b'{"a":9007199254740992}',
        b'{"a":184467440737095516160}',
        b'{"\xc3\xa9":1}',
        b'{"a":"\\ud800"}',
        b'{"a":1,"a":2}',
        b'{"a":{"b":1, "b":1}}',
    ],
)
def test_decoding_refuses_non_canonical_values(text: bytes) -> None:
    with pytest.raises(NonCanonicalError):
        canonical.decode(text)


@pytest.mark.parametrize(
    "text",
    [b"", b"{", b"{'a':1}", b'{"a":NaN}', b'{"a":Infinity}', b"\xff\xfe", b"[1,]"],
)
def test_decoding_refuses_what_is_not_json(text: bytes) -> None:
    with pytest.raises(MalformedError):
        canonical.decode(text)


def test_deep_nesting_is_refused_not_crashed() -> None:
    with pytest.raises(NonCanonicalError):
        canonical.decode(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1))
    with pytest.raises(NonCanonicalError):
        canonical.decode(b"[" * 100_000 + b"]" * 100_000)
    nested: JsonValue = []
    for _ in range(MAX_DEPTH - 1):
        nested = [nested]
    assert canonical.decode(canonical.encode(nested)) == nested
