"""Payload builders for attack scenarios: ABI calldata, Safe MultiSend packing, ids (pure, no I/O).

Arguments come from TOML (strings, ints, bools, arrays) and are coerced by ABI type: addresses are hex
strings, integers are ints or decimal / ``0x`` strings (``"max"`` = the type's maximum), bytes are ``0x``
hex, tuples and arrays are TOML arrays. Every failure is a :class:`BuildError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_abi.abi import encode
from eth_abi.exceptions import ABITypeError, EncodingError, ParseError
from eth_abi.grammar import ABIType, BasicType, TupleType, normalize, parse
from eth_utils.crypto import keccak

__all__ = [
    "MAX_CALLDATA_BYTES",
    "BuildError",
    "coerce",
    "encode_call",
    "multisend_packed",
    "selector",
    "split_signature",
]

MAX_CALLDATA_BYTES = 256 * 1024


class BuildError(ValueError):
    """A payload could not be built from the scenario's values."""


def split_signature(sig: str) -> tuple[str, list[str]]:
    """``"f(uint256,(address,bool)[])"`` -> ``("f", ["uint256", "(address,bool)[]"])``."""
    sig = sig.strip()
    open_at = sig.find("(")
    if open_at <= 0 or not sig.endswith(")"):
        raise BuildError(f"not a function signature: {sig!r}")
    name = sig[:open_at]
    if not name.replace("_", "a").isalnum():
        raise BuildError(f"bad function name in {sig!r}")
    inner = sig[open_at + 1 : -1]
    types: list[str] = []
    depth = 0
    current = ""
    for ch in inner:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise BuildError(f"unbalanced parentheses in {sig!r}")
        if ch == "," and depth == 0:
            types.append(current)
            current = ""
        else:
            current += ch
    if depth != 0:
        raise BuildError(f"unbalanced parentheses in {sig!r}")
    if current or types:
        types.append(current)
    for t in types:
        if not t:
            raise BuildError(f"empty parameter type in {sig!r}")
    return name, types


def selector(sig: str) -> bytes:
    """The 4-byte selector of a canonical signature."""
    name, types = split_signature(sig)
    canonical = f"{name}({','.join(_normalize(t) for t in types)})"
    return keccak(text=canonical)[:4]


def _normalize(type_str: str) -> str:
    try:
        normalized = str(normalize(type_str))  # type: ignore[no-untyped-call]
        parse(normalized).validate()
        return normalized
    except (ParseError, ABITypeError, ValueError) as exc:
        raise BuildError(f"bad ABI type {type_str!r}: {exc}") from None


def _int(value: Any, bits: int, signed: bool, where: str) -> int:
    if isinstance(value, bool):
        raise BuildError(f"{where}: expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "max":
            return (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
        try:
            if text.startswith(("0x", "-0x")):
                return int(text, 16)
            if len(text) > 80:
                raise BuildError(f"{where}: integer too long")
            return int(text, 10)
        except ValueError:
            raise BuildError(f"{where}: not an integer: {value!r}") from None
    raise BuildError(f"{where}: expected an integer, got {type(value).__name__}")


def _bytes(value: Any, where: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str) or not value.startswith("0x"):
        raise BuildError(f"{where}: expected 0x-prefixed hex")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise BuildError(f"{where}: bad hex") from None


def coerce(abi_type: ABIType, value: Any, where: str = "arg") -> Any:
    """Turn a TOML value into what eth-abi encodes for ``abi_type``."""
    if abi_type.arrlist:
        if not isinstance(value, list | tuple):
            raise BuildError(f"{where}: expected an array")
        item = abi_type.item_type
        return [coerce(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(abi_type, TupleType):
        if not isinstance(value, list | tuple) or len(value) != len(abi_type.components):
            raise BuildError(f"{where}: expected {len(abi_type.components)} tuple components")
        return tuple(
            coerce(c, v, f"{where}.{i}")
            for i, (c, v) in enumerate(zip(abi_type.components, value, strict=True))
        )
    assert isinstance(abi_type, BasicType)
    base = abi_type.base
    if base == "address":
        raw = _bytes(value, where)
        if len(raw) != 20:
            raise BuildError(f"{where}: an address is 20 bytes")
        return "0x" + raw.hex()
    if base in ("uint", "int"):
        bits = int(abi_type.sub) if isinstance(abi_type.sub, int) else 256
        return _int(value, bits, base == "int", where)
    if base == "bool":
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise BuildError(f"{where}: expected a boolean")
    if base == "bytes":
        return _bytes(value, where)
    if base == "string":
        if not isinstance(value, str):
            raise BuildError(f"{where}: expected a string")
        return value
    raise BuildError(f"{where}: unsupported ABI type {base}")


def encode_call(sig: str, args: Sequence[Any]) -> str:
    """``0x`` hex of selector(sig) ‖ abi.encode(types, args)."""
    _name, types = split_signature(sig)
    if len(types) != len(args):
        raise BuildError(f"{sig} takes {len(types)} arguments, got {len(args)}")
    try:
        normalized = [_normalize(t) for t in types]
        parsed = [parse(t) for t in normalized]
        values = [
            coerce(t, v, f"{sig} arg {i}")
            for i, (t, v) in enumerate(zip(parsed, args, strict=True))
        ]
        body = encode(normalized, values)
    except (EncodingError, ParseError, ABITypeError, OverflowError, TypeError, ValueError) as exc:
        raise BuildError(f"{sig}: cannot encode: {exc}") from None
    data = selector(sig) + body
    if len(data) > MAX_CALLDATA_BYTES:
        raise BuildError(f"{sig}: calldata larger than {MAX_CALLDATA_BYTES} bytes")
    return "0x" + data.hex()


def multisend_packed(calls: Sequence[tuple[int, str, Any, str]]) -> str:
    """Safe MultiSend ``transactions``: for each call operation(1) ‖ to(20) ‖ value(32) ‖ len(32) ‖ data."""
    out = b""
    for i, (operation, to, value, data) in enumerate(calls):
        where = f"multisend call {i}"
        target = _bytes(to, f"{where}.to")
        if len(target) != 20:
            raise BuildError(f"{where}.to: an address is 20 bytes")
        payload = _bytes(data, f"{where}.data")
        amount = _int(value, 256, False, f"{where}.value")
        if not 0 <= amount < 1 << 256:
            raise BuildError(f"{where}.value out of range")
        out += (
            bytes([operation])
            + target
            + amount.to_bytes(32, "big")
            + len(payload).to_bytes(32, "big")
            + payload
        )
    if len(out) > MAX_CALLDATA_BYTES:
        raise BuildError(f"multisend larger than {MAX_CALLDATA_BYTES} bytes")
    return "0x" + out.hex()
