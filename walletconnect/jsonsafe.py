"""JSON parsing that refuses hostile nesting before the C parser sees it (pure).

``json.loads`` recurses in C once per ``[``/``{``; when something in the process has raised the
recursion limit, deeply nested input can overflow the C stack and kill the process instead of raising
RecursionError. Every parser of untrusted text goes through :func:`loads`.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["MAX_JSON_DEPTH", "JsonTooDeepError", "json_depth", "loads", "loads_strict"]

#: Deeper than any WalletConnect message or EIP-712 document needs.
MAX_JSON_DEPTH = 64

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


class JsonTooDeepError(ValueError):
    """The JSON text nests arrays/objects deeper than allowed."""


def json_depth(text: str) -> int:
    """The deepest ``[``/``{`` nesting outside strings."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _checked(text: str | bytes, max_depth: int) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if text.count("[") + text.count("{") > max_depth and json_depth(text) > max_depth:
        raise JsonTooDeepError(f"JSON nested deeper than {max_depth}")
    return text


def loads(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH, **kwargs: Any) -> Any:
    """``json.loads`` after a nesting check; raises ValueError (JsonTooDeepError) for deep input."""
    return json.loads(_checked(text, max_depth), **kwargs)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


# One decoder for every strict parse: json.loads with keyword arguments builds a new decoder (and
# its scanner) per call, which showed up on the path of every relay frame and message.
_STRICT = json.JSONDecoder(parse_constant=_reject_constant)


def loads_strict(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """:func:`loads` that also refuses ``NaN`` / ``Infinity`` / ``-Infinity`` (ValueError)."""
    return _STRICT.decode(_checked(text, max_depth))
