"""Hypothesis strategies for values in the canonical subset."""

from __future__ import annotations

from hypothesis import strategies as st

from protocol import JsonValue
from protocol.canonical import MAX_SAFE_INTEGER

ascii_keys = st.text(alphabet=st.characters(max_codepoint=127), max_size=12)

scalars: st.SearchStrategy[JsonValue] = (
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.text(max_size=40)
)


def _containers(
    children: st.SearchStrategy[JsonValue],
) -> st.SearchStrategy[JsonValue]:
    return st.lists(children, max_size=5) | st.dictionaries(
        ascii_keys, children, max_size=6
    )


json_values: st.SearchStrategy[JsonValue] = st.recursive(
    scalars, _containers, max_leaves=25
)
json_objects = st.dictionaries(ascii_keys, json_values, max_size=8)
