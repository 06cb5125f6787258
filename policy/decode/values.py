"""Strict parsers for the JSON-RPC scalars of signing requests, plus hashing helpers (pure, no I/O).

Every function raises only :class:`policy.errors.DecodeError`. Quantities are ``0x`` hex strings
(leading zeros tolerated, at most 64 hex digits) or JSON integers; decimal strings, floats and
booleans are refused. Addresses come back as lowercase ``0x`` hex.
"""

from __future__ import annotations

import json
import re
from typing import Any

from eth_utils.crypto import keccak

from policy.errors import DecodeError

__all__ = [
    "UINT256_MAX",
    "address",
    "canonical_json_hash",
    "hex_bytes",
    "keccak_hex",
    "optional_address",
    "quantity",
]

UINT256_MAX = 2**256 - 1

_ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}\Z")
_HEX_RE = re.compile(r"0x(?:[0-9a-fA-F]{2})*\Z")
_QUANTITY_RE = re.compile(r"0x[0-9a-fA-F]{1,64}\Z")


def quantity(value: Any, field: str, *, bits: int = 256) -> int:
    """Parse a JSON-RPC quantity (hex string or JSON int) into an int in ``[0, 2**bits)``."""
    if isinstance(value, bool):
        raise DecodeError("bad_quantity", f"{field}: boolean is not a quantity")
    if isinstance(value, int):
        n = value
    elif isinstance(value, str):
        if len(value) > 66 or not _QUANTITY_RE.match(value):
            raise DecodeError("bad_quantity", f"{field}: expected 0x hex quantity")
        n = int(value, 16)
    else:
        raise DecodeError("bad_quantity", f"{field}: expected 0x hex quantity")
    if n < 0 or n.bit_length() > bits:
        raise DecodeError("too_large", f"{field}: out of range for uint{bits}")
    return n


def address(value: Any, field: str) -> str:
    """Parse a 20-byte ``0x`` address (any case) into lowercase hex."""
    if not isinstance(value, str) or not _ADDRESS_RE.match(value):
        raise DecodeError("bad_address", f"{field}: expected 0x-prefixed 20-byte address")
    return value.lower()


def optional_address(value: Any, field: str) -> str | None:
    """Like :func:`address`, but ``None`` / absent / ``"0x"`` / ``""`` mean no address."""
    if value is None or value in ("", "0x"):
        return None
    return address(value, field)


def hex_bytes(value: Any, field: str, *, max_bytes: int) -> bytes:
    """Parse ``0x`` hex data (even length) of at most ``max_bytes`` bytes."""
    if not isinstance(value, str):
        raise DecodeError("bad_hex", f"{field}: expected 0x hex string")
    if len(value) > 2 + 2 * max_bytes:
        raise DecodeError("too_large", f"{field}: more than {max_bytes} bytes")
    if not _HEX_RE.match(value):
        raise DecodeError("bad_hex", f"{field}: expected 0x-prefixed even-length hex")
    return bytes.fromhex(value[2:])


def keccak_hex(data: bytes) -> str:
    """``0x`` + keccak256(data) as lowercase hex."""
    return "0x" + keccak(data).hex()


def canonical_json_hash(obj: Any) -> str:
    """keccak256 of the canonical JSON form (sorted keys, no spaces, UTF-8)."""
    try:
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise DecodeError("bad_params", f"payload cannot be canonicalised: {exc}") from None
    return keccak_hex(text.encode("utf-8", "surrogatepass"))
