"""Precompiled function specs and strict, bounded ABI decoding with eth-abi (pure, no I/O).

Before eth-abi sees the bytes, :func:`check_layout` walks the type tree and requires the
*canonical* head/tail layout: every offset points exactly where a standard encoder would put the
tail, and nothing trails the encoding. That rules out pointer aliasing ("ABI bombs" where many
offsets reuse one large tail) and hidden trailing data, and keeps decoding linear in input size.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError, ParseError
from eth_abi.grammar import ABIType, TupleType, parse
from eth_utils.crypto import keccak

from policy.errors import DecodeError

__all__ = ["FunctionSpec", "check_layout", "decode_tuple", "spec", "split_signature"]


@dataclass(frozen=True, slots=True)
class _Node:
    kind: str  # "static" | "bytes" | "tuple" | "array" (dynamic length) | "fixed" (T[k])
    size: int = 32  # static encoded size (only for static nodes)
    dynamic: bool = False
    children: tuple[_Node, ...] = ()
    length: int = 0  # for "fixed"


def _compile(t: ABIType) -> _Node:
    if t.arrlist:
        item = _compile(t.item_type)
        dim = t.arrlist[-1]
        if len(dim) == 0:
            return _Node("array", dynamic=True, children=(item,))
        k = int(dim[0])
        if item.dynamic:
            return _Node("fixed", dynamic=True, children=(item,), length=k)
        return _Node("fixed", size=item.size * k, children=(item,), length=k)
    if isinstance(t, TupleType):
        kids = tuple(_compile(c) for c in t.components)
        dyn = any(k.dynamic for k in kids)
        return _Node(
            "tuple", size=0 if dyn else sum(k.size for k in kids), dynamic=dyn, children=kids
        )
    if t.is_dynamic:  # a basic type that is dynamic: bytes or string
        return _Node("bytes", dynamic=True)
    return _Node("static", size=32)


def _walk(node: _Node, buf: bytes, pos: int, end: int) -> int:
    """Return the encoded size of ``node`` at ``pos``; raise if not canonical or out of bounds."""
    if not node.dynamic:
        if pos + node.size > end:
            raise DecodeError("abi_decode_failed", "calldata too short")
        return node.size
    if node.kind == "bytes":
        n = _word(buf, pos, end)
        padded = (n + 31) // 32 * 32
        if pos + 32 + padded > end:
            raise DecodeError("abi_decode_failed", "bytes length runs past the data")
        return 32 + padded
    if node.kind == "array":
        n = _word(buf, pos, end)
        item = node.children[0]
        head = 32 if item.dynamic else item.size
        if n > (end - pos - 32) // head:
            raise DecodeError("abi_decode_failed", "array length runs past the data")
        return 32 + _seq(item, n, buf, pos + 32, end)
    if node.kind == "fixed":
        return _seq(node.children[0], node.length, buf, pos, end)
    return _tuple(node.children, buf, pos, end)


def _seq(item: _Node, n: int, buf: bytes, pos: int, end: int) -> int:
    return _tuple((item,) * n, buf, pos, end) if item.dynamic else item.size * n


def _tuple(children: tuple[_Node, ...], buf: bytes, pos: int, end: int) -> int:
    head = sum(32 if c.dynamic else c.size for c in children)
    if pos + head > end:
        raise DecodeError("abi_decode_failed", "calldata too short")
    cursor = head
    at = pos
    for c in children:
        if c.dynamic:
            if _word(buf, at, end) != cursor:
                raise DecodeError("abi_noncanonical", "offset does not point at the next tail")
            cursor += _walk(c, buf, pos + cursor, end)
            at += 32
        else:
            _walk(c, buf, at, end)
            at += c.size
    return cursor


def _word(buf: bytes, pos: int, end: int) -> int:
    if pos + 32 > end:
        raise DecodeError("abi_decode_failed", "calldata too short")
    return int.from_bytes(buf[pos : pos + 32], "big")


def check_layout(node: _Node, body: bytes) -> None:
    """Require ``body`` to be exactly the canonical encoding of ``node`` (no trailing bytes)."""
    size = _walk(node, body, 0, len(body))
    if size != len(body):
        raise DecodeError(
            "abi_noncanonical", f"{len(body) - size} trailing bytes after the arguments"
        )


def split_signature(signature: str) -> tuple[str, tuple[str, ...]]:
    """``"f(a,(b,c)[])"`` -> ``("f", ("a", "(b,c)[]"))`` (top-level commas only)."""
    name, _, rest = signature.partition("(")
    inner = rest[:-1]
    parts: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(inner):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    if inner:
        parts.append(inner[start:])
    return name, tuple(parts)


_UINT_RE = re.compile(r"u?int([0-9]+)\Z")
_ZERO12 = b"\x00" * 12
_ZERO31 = b"\x00" * 31


def _word_decoder(t: str) -> Callable[[bytes], Any] | None:
    """A fast decoder for one static 32-byte word type (None when eth-abi must do it)."""
    if t == "address":

        def address(w: bytes) -> str:
            if w[:12] != _ZERO12:
                raise DecodeError("abi_decode_failed", "address with dirty high bytes")
            return "0x" + w[12:].hex()

        return address
    if t == "bool":

        def boolean(w: bytes) -> bool:
            if w[:31] != _ZERO31 or w[31] > 1:
                raise DecodeError("abi_decode_failed", "bool that is neither 0 nor 1")
            return w[31] == 1

        return boolean
    m = _UINT_RE.match(t)
    if m and t.startswith("uint"):
        bits = int(m.group(1))

        def uint(w: bytes) -> int:
            n = int.from_bytes(w, "big")
            if n >> bits:
                raise DecodeError("abi_decode_failed", f"value out of range for {t}")
            return n

        return uint
    return None


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """A function signature compiled once: selector, argument names/types, layout tree."""

    signature: str
    selector: bytes
    names: tuple[str, ...]
    types: tuple[str, ...]
    layout: _Node
    fast: tuple[Callable[[bytes], Any], ...] | None = None  # all-static word types

    @property
    def selector_hex(self) -> str:
        """``"0x…"`` form of the selector."""
        return "0x" + self.selector.hex()

    def decode(self, data: bytes) -> tuple[Any, ...]:
        """Decode the arguments of ``data`` (selector included); DecodeError on anything odd."""
        return decode_tuple(self, data[4:])

    def render(self, values: tuple[Any, ...]) -> tuple[tuple[str, str], ...]:
        """Arguments as (name, text) pairs for ``Call.args``."""
        return tuple((n, _render(v)) for n, v in zip(self.names, values, strict=False))


def spec(signature: str, names: tuple[str, ...] | None = None) -> FunctionSpec:
    """Compile a signature; ``names`` default to ``arg0, arg1, …``."""
    _, types = split_signature(signature)
    layout = _compile(parse("(" + ",".join(types) + ")")) if types else _Node("tuple")
    if names is None:
        names = tuple(f"arg{i}" for i in range(len(types)))
    if len(names) != len(types):  # pragma: no cover - programming error
        raise ValueError(f"{signature}: {len(names)} names for {len(types)} types")
    words = [_word_decoder(t) for t in types]
    fast = tuple(w for w in words if w is not None) if all(words) else None
    return FunctionSpec(signature, keccak(text=signature)[:4], names, types, layout, fast)


def decode_tuple(fn: FunctionSpec, body: bytes) -> tuple[Any, ...]:
    """Canonical-layout check, then eth-abi strict decoding; foreign errors become DecodeError."""
    if fn.fast is not None:
        if len(body) != 32 * len(fn.fast):
            if len(body) < 32 * len(fn.fast):
                raise DecodeError("abi_decode_failed", f"{fn.signature}: calldata too short")
            raise DecodeError(
                "abi_noncanonical", f"{fn.signature}: trailing bytes after the arguments"
            )
        return tuple(dec(body[32 * i : 32 * i + 32]) for i, dec in enumerate(fn.fast))
    check_layout(fn.layout, body)
    try:
        return tuple(abi_decode(fn.types, body, strict=True))
    except (DecodingError, ParseError, ValueError, TypeError, OverflowError) as exc:
        raise DecodeError("abi_decode_failed", f"{fn.signature}: {exc}") from None


def _render(v: Any) -> str:
    if isinstance(v, bytes):
        return "0x" + v.hex()
    if isinstance(v, tuple | list):
        return "[" + ",".join(_render(x) for x in v) + "]"
    if isinstance(v, str) and v.startswith("0x") and len(v) == 42:
        return v.lower()
    return str(v)
