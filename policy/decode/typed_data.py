"""EIP-712 typed data: strict validation, normalisation and the digest (eth-account), then dispatch (pure).

Methods: ``eth_signTypedData_v4`` / ``_v3`` (``[address, data]``, reversed order tolerated;
``data`` a JSON string or an object) and ``eth_signTypedData``: the legacy v1 array form is
``raw.sign`` (no domain binding, never delegable); an EIP-712 object under that name is read as v4.

Validation (``typed_data_malformed`` unless noted): exactly the keys types/primaryType/domain/
message; duplicate JSON keys (``typed_data_ambiguous``); type names that are identifiers (``:``
allowed, for Hyperliquid) and not atomic type names; field names that are identifiers, unique per
struct; every referenced type defined; ``EIP712Domain`` present, a subset of the standard fields in
the standard order with the standard types, matching the domain keys exactly; message fields exactly
the declared ones (no missing, no extra); integers as JSON ints, canonical decimal strings or hex
strings, in range; bool only true/false; bytes/bytesN only 0x hex (bytesN exactly N bytes);
addresses 0x + 40 hex; arrays of the declared fixed length (v3: no arrays at all). Unreachable types
are dropped before hashing (they cannot change the digest); a cycle through the primary type is
``typed_data_ambiguous``. The normalised object is what eth-account hashes and what dispatch reads,
so the digest and the decoded meaning come from the same values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from eth_abi.exceptions import EncodingError
from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak
from eth_utils.exceptions import ValidationError

from policy import jsonsafe
from policy.actions import ActionClass
from policy.decode.context import Ctx
from policy.decode.values import canonical_json_hash
from policy.errors import DecodeError
from policy.request import SigningRequest

__all__ = ["TypedData", "decode_typed_data", "hash_struct", "normalize", "type_string"]

_IDENT_RE = re.compile(r"[A-Za-z_$][A-Za-z0-9_$:]*\Z")
_FIELD_RE = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")
_TYPE_RE = re.compile(r"([A-Za-z_$][A-Za-z0-9_$:]*)((?:\[[0-9]*\])*)\Z")
_DIM_RE = re.compile(r"\[([0-9]*)\]")
_ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}\Z")
_HEX_RE = re.compile(r"0x(?:[0-9a-fA-F]{2})*\Z")
_DEC_RE = re.compile(r"-?(?:0|[1-9][0-9]{0,77})\Z")
_HEXINT_RE = re.compile(r"0x[0-9a-fA-F]{1,64}\Z")
_MAX_FIXED_ARRAY = 1024

_DOMAIN_FIELDS = (
    ("name", "string"),
    ("version", "string"),
    ("chainId", "uint256"),
    ("verifyingContract", "address"),
    ("salt", "bytes32"),
)
_ATOMIC = frozenset(
    {"address", "bool", "string", "bytes"}
    | {f"bytes{n}" for n in range(1, 33)}
    | {f"uint{n}" for n in range(8, 257, 8)}
    | {f"int{n}" for n in range(8, 257, 8)}
)
_RESERVED_NAMES = _ATOMIC | {"uint", "int", "byte", "function", "fixed", "ufixed"}
_FOREIGN = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    RecursionError,
    EncodingError,
    ValidationError,
)


def _bad(detail: str) -> DecodeError:
    return DecodeError("typed_data_malformed", detail)


@dataclass(frozen=True, slots=True)
class TypedData:
    """Validated, normalised typed data: ``types`` holds only types reachable from the primary type."""

    types: dict[str, list[dict[str, str]]]
    primary_type: str
    domain: dict[str, Any]
    message: dict[str, Any]

    def full_message(self) -> dict[str, Any]:
        """The dict eth-account's ``encode_typed_data(full_message=...)`` takes."""
        domain_fields = [{"name": n, "type": t} for n, t in _DOMAIN_FIELDS if n in self.domain]
        return {
            "types": {"EIP712Domain": domain_fields, **self.types},
            "primaryType": self.primary_type,
            "domain": self.domain,
            "message": self.message,
        }

    @property
    def chain_id(self) -> int | None:
        """``domain.chainId`` when present."""
        value = self.domain.get("chainId")
        return value if isinstance(value, int) else None

    @property
    def verifying_contract(self) -> str | None:
        """``domain.verifyingContract`` (lowercase) when present."""
        value = self.domain.get("verifyingContract")
        return value if isinstance(value, str) else None


# --- JSON ------------------------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for k, v in pairs:
        if k in obj:
            raise DecodeError("typed_data_ambiguous", f"duplicate JSON key {k!r}")
        obj[k] = v
    return obj


def _no_constants(name: str) -> Any:
    raise _bad(f"JSON constant {name} is not allowed")


def _load(value: Any, limit: int) -> Any:
    if isinstance(value, dict | list):
        return value
    if not isinstance(value, str):
        raise _bad("typed data must be a JSON string or an object")
    if len(value) > limit:
        raise DecodeError("too_large", f"typed data over {limit} bytes")
    try:
        return jsonsafe.loads(value, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, DecodeError):
            raise
        raise _bad(f"invalid JSON: {exc}") from None


# --- types -----------------------------------------------------------------------------------


def _split_type(t: str, where: str) -> tuple[str, list[int | None]]:
    m = _TYPE_RE.match(t)
    if not m:
        raise _bad(f"{where}: invalid type {t[:80]!r}")
    dims: list[int | None] = []
    for d in _DIM_RE.findall(m.group(2)):
        if d == "":
            dims.append(None)
        elif d != "0" and not d.startswith("0") and int(d) <= _MAX_FIXED_ARRAY:
            dims.append(int(d))
        else:
            raise _bad(f"{where}: invalid array size in {t[:80]!r}")
    return m.group(1), dims


def _check_types(raw: Any, ctx: Ctx) -> dict[str, list[tuple[str, str]]]:
    lim = ctx.limits
    if not isinstance(raw, dict):
        raise _bad("types must be an object")
    if len(raw) > lim.max_types:
        raise DecodeError("too_large", f"more than {lim.max_types} types")
    types: dict[str, list[tuple[str, str]]] = {}
    for name, fields in raw.items():
        if not isinstance(name, str) or not _IDENT_RE.match(name) or name in _RESERVED_NAMES:
            raise DecodeError(
                "typed_data_ambiguous", f"invalid or reserved type name {str(name)[:80]!r}"
            )
        if not isinstance(fields, list) or len(fields) > lim.max_fields_per_type:
            raise _bad(f"types.{name} must be an array of at most {lim.max_fields_per_type} fields")
        seen: set[str] = set()
        out: list[tuple[str, str]] = []
        for f in fields:
            if not isinstance(f, dict) or set(f) != {"name", "type"}:
                raise _bad(f"types.{name}: each field must be exactly {{name, type}}")
            fname, ftype = f["name"], f["type"]
            if not isinstance(fname, str) or not _FIELD_RE.match(fname):
                raise _bad(f"types.{name}: invalid field name {str(fname)[:80]!r}")
            if fname in seen:
                raise DecodeError(
                    "typed_data_ambiguous", f"types.{name}: duplicate field {fname!r}"
                )
            if not isinstance(ftype, str):
                raise _bad(f"types.{name}.{fname}: type must be a string")
            seen.add(fname)
            out.append((fname, ftype))
        types[name] = out
    for name, fields in types.items():
        for fname, ftype in fields:
            base, _ = _split_type(ftype, f"types.{name}.{fname}")
            if base not in _ATOMIC and base not in types:
                raise _bad(f"types.{name}.{fname}: undefined type {base!r}")
            if base == "EIP712Domain":
                raise DecodeError(
                    "typed_data_ambiguous", f"types.{name}.{fname} references EIP712Domain"
                )
    return types


def _reachable(primary: str, types: dict[str, list[tuple[str, str]]]) -> list[str]:
    seen = [primary]
    stack = [primary]
    while stack:
        for _, ftype in types[stack.pop()]:
            base = _TYPE_RE.match(ftype).group(1)  # type: ignore[union-attr]  # validated above
            if base in types and base not in seen:
                seen.append(base)
                stack.append(base)
    return seen


def type_string(primary: str, types: dict[str, list[dict[str, str]]]) -> str:
    """EIP-712 ``encodeType`` of ``primary`` (primary first, then dependencies sorted)."""
    deps = [t for t in types if t != primary]
    return "".join(
        f"{t}(" + ",".join(f"{f['type']} {f['name']}" for f in types[t]) + ")"
        for t in [primary, *sorted(deps)]
    )


# --- values ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Budget:
    nodes: int
    max_depth: int


def _int(value: Any, bits: int, signed: bool, where: str) -> int:
    if isinstance(value, bool):
        raise _bad(f"{where}: boolean for an integer")
    if isinstance(value, int):
        n = value
    elif isinstance(value, str) and _DEC_RE.match(value):
        n = int(value, 10)
    elif isinstance(value, str) and _HEXINT_RE.match(value):
        n = int(value, 16)
    else:
        raise _bad(f"{where}: integers must be JSON numbers, canonical decimal or 0x hex strings")
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    if not lo <= n <= hi:
        raise _bad(f"{where}: {n} out of range for {'int' if signed else 'uint'}{bits}")
    return n


def _atomic(t: str, value: Any, where: str) -> Any:
    if t == "address":
        if not isinstance(value, str) or not _ADDRESS_RE.match(value):
            raise _bad(f"{where}: expected a 0x address")
        return value.lower()
    if t == "bool":
        if not isinstance(value, bool):
            raise _bad(f"{where}: expected true/false")
        return value
    if t == "string":
        if not isinstance(value, str):
            raise _bad(f"{where}: expected a string")
        return value
    if t.startswith("bytes"):
        if not isinstance(value, str) or not _HEX_RE.match(value):
            raise _bad(f"{where}: expected 0x hex bytes")
        if t != "bytes" and len(value) != 2 + 2 * int(t[5:]):
            raise _bad(f"{where}: expected exactly {t[5:]} bytes")
        return value.lower()
    signed = t.startswith("int")
    return _int(value, int(t[3:] if signed else t[4:]), signed, where)


def _value(
    t: str,
    value: Any,
    types: dict[str, list[tuple[str, str]]],
    where: str,
    depth: int,
    b: _Budget,
    v3: bool,
) -> Any:
    b.nodes -= 1
    if b.nodes < 0:
        raise DecodeError("too_large", "typed data has too many values")
    if depth > b.max_depth:
        raise DecodeError("depth_exceeded", f"{where}: typed data nested too deeply")
    base, dims = _split_type(t, where)
    if dims:
        if v3:
            raise _bad(f"{where}: arrays are not part of eth_signTypedData_v3")
        size = dims[-1]
        inner = t[: t.rindex("[")]
        if not isinstance(value, list) or (size is not None and len(value) != size):
            raise _bad(f"{where}: expected an array" + (f" of {size}" if size is not None else ""))
        return [
            _value(inner, x, types, f"{where}[{i}]", depth + 1, b, v3) for i, x in enumerate(value)
        ]
    if base in types:
        return _struct(base, value, types, where, depth + 1, b, v3)
    return _atomic(base, value, where)


def _struct(
    name: str,
    value: Any,
    types: dict[str, list[tuple[str, str]]],
    where: str,
    depth: int,
    b: _Budget,
    v3: bool,
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(f"{where}: expected an object of type {name}")
    fields = types[name]
    names = {f for f, _ in fields}
    if set(value) != names:
        extra = sorted(set(value) - names)[:3]
        missing = sorted(names - set(value))[:3]
        raise _bad(f"{where}: fields differ from {name} (extra {extra}, missing {missing})")
    return {f: _value(t, value[f], types, f"{where}.{f}", depth, b, v3) for f, t in fields}


def normalize(raw: Any, ctx: Ctx, *, v3: bool = False) -> TypedData:
    """Validate and normalise a decoded typed-data object (see module docstring)."""
    if not isinstance(raw, dict) or set(raw) != {"types", "primaryType", "domain", "message"}:
        raise _bad("typed data must have exactly types, primaryType, domain and message")
    types = _check_types(raw["types"], ctx)
    primary = raw["primaryType"]
    if not isinstance(primary, str) or primary not in types or primary == "EIP712Domain":
        raise _bad("primaryType must name a defined message type")
    domain_fields = types.pop("EIP712Domain", None)
    if domain_fields is None:
        raise _bad("types.EIP712Domain is required")
    standard = [f for f in _DOMAIN_FIELDS if f in domain_fields]
    if domain_fields != standard:
        raise _bad(
            "EIP712Domain must list standard fields (name, version, chainId, verifyingContract, salt) in order"
        )
    domain_types = {"EIP712Domain": domain_fields}
    budget = _Budget(ctx.limits.max_typed_data_nodes, ctx.limits.max_typed_data_depth)
    domain = _struct("EIP712Domain", raw["domain"], domain_types, "domain", 0, budget, v3)
    reach = _reachable(primary, types)
    for t in reach[1:]:
        if any(_TYPE_RE.match(ft).group(1) == primary for _, ft in types[t]):  # type: ignore[union-attr]
            raise DecodeError(
                "typed_data_ambiguous", f"type {t} refers back to the primary type {primary}"
            )
    pruned = {t: types[t] for t in reach}
    message = _struct(primary, raw["message"], pruned, "message", 0, budget, v3)
    return TypedData(
        types={t: [{"name": n, "type": ft} for n, ft in fields] for t, fields in pruned.items()},
        primary_type=primary,
        domain=domain,
        message=message,
    )


def digest(td: TypedData) -> bytes:
    """keccak256(0x19 0x01 ‖ domainSeparator ‖ hashStruct(message)), computed by eth-account."""
    try:
        signable = encode_typed_data(full_message=td.full_message())
    except _FOREIGN as exc:
        raise DecodeError(
            "typed_data_malformed", f"eth-account refused the typed data: {exc}"
        ) from None
    return bytes(keccak(b"\x19" + signable.version + signable.header + signable.body))


def hash_struct(td: TypedData, primary: str, value: dict[str, Any]) -> bytes:
    """hashStruct(value) for a type of ``td`` (e.g. a Seaport OrderComponents leaf)."""
    sub = TypedData(
        types={t: td.types[t] for t in _reachable_dicts(primary, td.types)},
        primary_type=primary,
        domain=td.domain,
        message=value,
    )
    try:
        return bytes(encode_typed_data(full_message=sub.full_message()).body)
    except _FOREIGN as exc:
        raise DecodeError("typed_data_malformed", f"eth-account refused {primary}: {exc}") from None


def _reachable_dicts(primary: str, types: dict[str, list[dict[str, str]]]) -> list[str]:
    return _reachable(primary, {t: [(f["name"], f["type"]) for f in fs] for t, fs in types.items()})


# --- entry -----------------------------------------------------------------------------------


def _split_params(params: Any, method: str) -> tuple[str, Any]:
    if not isinstance(params, list) or len(params) != 2:
        raise DecodeError("bad_params", f"{method} takes [address, typedData]")
    a, b = params
    a_addr = isinstance(a, str) and bool(_ADDRESS_RE.match(a))
    b_addr = isinstance(b, str) and bool(_ADDRESS_RE.match(b))
    if a_addr and not b_addr:
        return a.lower(), b
    if b_addr and not a_addr:
        return b.lower(), a
    raise DecodeError("bad_params", f"{method}: exactly one parameter must be the signing address")


def decode_typed_data(request: SigningRequest, ctx: Ctx) -> str:
    """Decode into ``ctx.out``; return the payload hash (the EIP-712 digest)."""
    from policy.decode.typed_protocols import dispatch

    signer, data = _split_params(request.params, request.method)
    out = ctx.out
    out.accounts.add(signer)
    raw = _load(data, ctx.limits.max_typed_data_bytes)
    if isinstance(raw, list):
        if request.method != "eth_signTypedData":
            raise _bad(f"{request.method}: the legacy array form is only eth_signTypedData (v1)")
        return _legacy_v1(raw, ctx)
    td = normalize(raw, ctx, v3=request.method == "eth_signTypedData_v3")
    payload_hash = "0x" + digest(td).hex()
    if request.method == "eth_signTypedData":
        out.detail("typed_data_version", "EIP-712 object under eth_signTypedData, read as v4")
    dispatch(td, signer, request, ctx)
    return payload_hash


def _legacy_v1(items: list[Any], ctx: Ctx) -> str:
    if not items or len(items) > ctx.limits.max_fields_per_type:
        raise _bad("legacy typed data must be a non-empty, bounded array")
    for i, item in enumerate(items):
        if not isinstance(item, dict) or set(item) != {"type", "name", "value"}:
            raise _bad(f"legacy typed data [{i}] must be exactly {{type, name, value}}")
        if not all(isinstance(item[k], str | int | bool) for k in ("type", "name", "value")):
            raise _bad(f"legacy typed data [{i}] fields must be scalars")
    out = ctx.out
    out.chain_unbound = True
    out.add_class(
        ActionClass.RAW_SIGN, "eth_signTypedData v1 (legacy array form): no EIP-712 domain binding"
    )
    out.detail("payload_hash", "canonical_json (legacy v1 typed data)")
    return canonical_json_hash(items)
