"""Bounded-depth JSON: deep input is refused before json.loads; normal input parses as json.loads does."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from walletconnect.jsonsafe import JsonTooDeepError, json_depth, loads, loads_strict

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@pytest.mark.parametrize("text", ["[" * 100_000, '{"a":' * 50_000, "[" * 65 + "]" * 65])
def test_deep_input_is_refused_without_parsing(text: str) -> None:
    with pytest.raises(JsonTooDeepError):
        loads(text)


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"s": "[" * 10_000})
    assert json_depth(text) == 1
    assert loads(text) == {"s": "[" * 10_000}


@given(JSON)
def test_parses_exactly_like_json_loads(value: object) -> None:
    text = json.dumps(value)
    assert loads(text) == json.loads(text)


@given(JSON)
def test_loads_strict_reads_what_json_reads(value: object) -> None:
    text = json.dumps(value)
    assert loads_strict(text) == json.loads(text)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_loads_strict_refuses_the_non_json_constants(constant: str) -> None:
    with pytest.raises(ValueError, match="not allowed"):
        loads_strict(f'{{"a":{constant}}}')
    assert loads(f'{{"a":{constant}}}')["a"] != 0  # the lenient one still takes them


def test_loads_strict_refuses_deep_nesting() -> None:
    with pytest.raises(JsonTooDeepError):
        loads_strict("[" * 100 + "]" * 100)
