"""Transactions (types 0-4) from ``eth_sendTransaction`` / ``eth_signTransaction`` -> Action (pure, no I/O).

Accepted params: ``[tx_object]`` as dApps send it (hex quantities; ``data`` or ``input``), or
``[raw_hex]`` holding an RLP transaction, unsigned or signed (legacy, EIP-155, types 1/2/4).
Type 3 (blobs) is refused (``unsupported_tx_type``): no dApp use case in a signing proxy.

Payload hash: keccak of the unsigned serialisation exactly as eth-account would sign it (legacy
with chainId: EIP-155 9-field form; typed: ``type ‖ rlp(fields)``). Nothing is filled in: when the
nonce, gas or a fee field is missing the hash is keccak of the canonical JSON of the normalised
object instead, and ``details`` says ``payload_hash=canonical_json``. ``value``/``data``/
``accessList`` default to 0/empty/[] as JSON-RPC defines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import rlp
from eth_keys.datatypes import Signature
from eth_keys.exceptions import BadSignature
from eth_utils.crypto import keccak
from eth_utils.exceptions import ValidationError

from policy.actions import ActionClass, NonceKind, ProtocolNonce
from policy.decode.calldata import decode_call
from policy.decode.context import CallSite, Ctx
from policy.decode.values import address, canonical_json_hash, hex_bytes, optional_address, quantity
from policy.errors import DecodeError
from policy.request import SigningRequest

__all__ = ["decode_transaction"]

_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_JSON_FIELDS = frozenset(
    {
        "from",
        "to",
        "value",
        "data",
        "input",
        "gas",
        "gasPrice",
        "maxFeePerGas",
        "maxPriorityFeePerGas",
        "nonce",
        "chainId",
        "type",
        "accessList",
        "authorizationList",
    }
)
_BLOB_FIELDS = frozenset({"maxFeePerBlobGas", "blobVersionedHashes", "blobs", "sidecars"})
_AUTH_FIELDS = frozenset({"chainId", "address", "nonce", "yParity", "v", "r", "s"})


@dataclass(slots=True)
class _Auth:
    chain_id: int
    address: str
    nonce: int
    sig: tuple[int, int, int] | None  # (yParity, r, s)


@dataclass(slots=True)
class _Tx:
    type: int
    chain_id: int | None = None
    nonce: int | None = None
    gas: int | None = None
    gas_price: int | None = None
    max_fee: int | None = None
    max_priority: int | None = None
    to: str | None = None
    value: int = 0
    data: bytes = b""
    access_list: list[tuple[str, list[bytes]]] = field(default_factory=list)
    auths: list[_Auth] = field(default_factory=list)
    sender: str | None = None
    signature: tuple[int, int, int] | None = None  # (v or yParity, r, s) of a raw signed tx
    unprotected: bool = False  # legacy signed with v = 27/28


# --- JSON object -----------------------------------------------------------------------------


def _from_json(obj: dict[str, Any], ctx: Ctx) -> _Tx:
    keys_ = set(obj)
    if keys_ & _BLOB_FIELDS:
        raise DecodeError("unsupported_tx_type", "EIP-4844 blob transactions are not supported")
    unknown = keys_ - _JSON_FIELDS
    if unknown:
        raise DecodeError(
            "unknown_field", f"transaction fields not understood: {sorted(unknown)[:5]}"
        )
    lim = ctx.limits
    data = obj.get("data")
    inp = obj.get("input")
    if data is not None and inp is not None and data != inp:
        raise DecodeError(
            "conflicting_fields", "transaction has both data and input, and they differ"
        )
    raw_data = data if data is not None else inp
    payload = (
        hex_bytes(raw_data, "data", max_bytes=lim.max_calldata_bytes)
        if raw_data is not None
        else b""
    )

    def q(name: str, bits: int = 256) -> int | None:
        v = obj.get(name)
        return None if v is None else quantity(v, name, bits=bits)

    gas_price, max_fee, max_prio = q("gasPrice"), q("maxFeePerGas"), q("maxPriorityFeePerGas")
    if gas_price is not None and (max_fee is not None or max_prio is not None):
        raise DecodeError("conflicting_fee_fields", "both gasPrice and EIP-1559 fee fields")
    has_auths = obj.get("authorizationList") is not None
    declared = q("type", 8)
    if declared is None:
        if has_auths:
            declared = 4
        elif max_fee is not None or max_prio is not None:
            declared = 2
        elif obj.get("accessList") is not None and gas_price is not None:
            declared = 1
        elif gas_price is not None:
            declared = 0
        else:
            declared = 2  # no fee fields at all: the wallet's default (EIP-1559)
    if declared == 3:
        raise DecodeError("unsupported_tx_type", "EIP-4844 blob transactions are not supported")
    if declared not in (0, 1, 2, 4):
        raise DecodeError("unsupported_tx_type", f"transaction type {declared}")
    if declared in (0, 1) and (max_fee is not None or max_prio is not None):
        raise DecodeError("conflicting_fee_fields", f"type {declared} with EIP-1559 fee fields")
    if declared in (2, 4) and gas_price is not None:
        raise DecodeError("conflicting_fee_fields", f"type {declared} with gasPrice")
    if declared == 0 and obj.get("accessList") is not None:
        raise DecodeError("conflicting_fields", "legacy transaction with an accessList")
    if declared != 4 and has_auths:
        raise DecodeError("conflicting_fields", f"type {declared} with an authorizationList")
    tx = _Tx(
        type=declared,
        chain_id=q("chainId", 64),
        nonce=q("nonce", 64),
        gas=q("gas", 64),
        gas_price=gas_price,
        max_fee=max_fee,
        max_priority=max_prio,
        to=optional_address(obj.get("to"), "to"),
        value=q("value") or 0,
        data=payload,
        sender=optional_address(obj.get("from"), "from"),
    )
    if obj.get("accessList") is not None:
        tx.access_list = _json_access_list(obj["accessList"], lim.max_access_list)
    if has_auths:
        tx.auths = _json_auths(obj["authorizationList"], lim.max_authorizations)
    return tx


def _json_access_list(value: Any, limit: int) -> list[tuple[str, list[bytes]]]:
    if not isinstance(value, list):
        raise DecodeError("bad_params", "accessList must be an array")
    result: list[tuple[str, list[bytes]]] = []
    total = 0
    for i, entry in enumerate(value):
        if not isinstance(entry, dict) or set(entry) - {"address", "storageKeys"}:
            raise DecodeError("bad_params", f"accessList[{i}] must be {{address, storageKeys}}")
        keys_ = entry.get("storageKeys", [])
        if not isinstance(keys_, list):
            raise DecodeError("bad_params", f"accessList[{i}].storageKeys must be an array")
        total += 1 + len(keys_)
        if total > limit:
            raise DecodeError("too_large", f"accessList over {limit} entries")
        slots = []
        for j, k in enumerate(keys_):
            b = hex_bytes(k, f"accessList[{i}].storageKeys[{j}]", max_bytes=32)
            if len(b) != 32:
                raise DecodeError("bad_hex", f"accessList[{i}].storageKeys[{j}] must be 32 bytes")
            slots.append(b)
        result.append((address(entry.get("address"), f"accessList[{i}].address"), slots))
    return result


def _json_auths(value: Any, limit: int) -> list[_Auth]:
    if not isinstance(value, list) or not value:
        raise DecodeError("bad_params", "authorizationList must be a non-empty array")
    if len(value) > limit:
        raise DecodeError("too_large", f"more than {limit} authorizations")
    auths = []
    for i, a in enumerate(value):
        where = f"authorizationList[{i}]"
        if not isinstance(a, dict) or set(a) - _AUTH_FIELDS:
            raise DecodeError(
                "bad_params", f"{where}: expected {{chainId, address, nonce, yParity, r, s}}"
            )
        sig = None
        if a.get("r") is not None or a.get("s") is not None:
            y = a.get("yParity", a.get("v"))
            y_int = quantity(y, f"{where}.yParity", bits=8)
            if y_int in (27, 28):
                y_int -= 27
            sig = (y_int, quantity(a.get("r"), f"{where}.r"), quantity(a.get("s"), f"{where}.s"))
        auths.append(
            _Auth(
                chain_id=quantity(a.get("chainId"), f"{where}.chainId"),
                address=address(a.get("address"), f"{where}.address"),
                nonce=quantity(a.get("nonce"), f"{where}.nonce", bits=64),
                sig=sig,
            )
        )
    return auths


# --- raw RLP ---------------------------------------------------------------------------------


def _rint(b: Any, name: str, bits: int = 256) -> int:
    if not isinstance(b, bytes):
        raise DecodeError("bad_rlp", f"{name}: expected a byte string")
    if b[:1] == b"\x00":
        raise DecodeError("bad_rlp", f"{name}: non-canonical integer (leading zero)")
    n = int.from_bytes(b, "big")
    if n.bit_length() > bits:
        raise DecodeError("too_large", f"{name}: out of range for uint{bits}")
    return n


def _raddr(b: Any, name: str, *, optional: bool = False) -> str | None:
    if not isinstance(b, bytes) or (len(b) != 20 and not (optional and b == b"")):
        raise DecodeError("bad_rlp", f"{name}: expected a 20-byte address")
    return "0x" + b.hex() if b else None


def _from_raw(raw: bytes, ctx: Ctx) -> _Tx:
    if not raw:
        raise DecodeError("bad_rlp", "empty transaction")
    kind = raw[0]
    if kind >= 0xC0:
        fields = _rlp_list(raw)
        return _legacy_raw(fields)
    if kind == 3:
        raise DecodeError("unsupported_tx_type", "EIP-4844 blob transactions are not supported")
    if kind not in (1, 2, 4):
        raise DecodeError("unsupported_tx_type", f"transaction type {kind}")
    fields = _rlp_list(raw[1:])
    base = {1: 8, 2: 9, 4: 10}[kind]
    if len(fields) not in (base, base + 3):
        raise DecodeError("bad_rlp", f"type {kind} transaction with {len(fields)} fields")
    tx = _Tx(
        type=kind, chain_id=_rint(fields[0], "chainId", 64), nonce=_rint(fields[1], "nonce", 64)
    )
    if kind == 1:
        tx.gas_price = _rint(fields[2], "gasPrice")
        rest = fields[3:]
    else:
        tx.max_priority = _rint(fields[2], "maxPriorityFeePerGas")
        tx.max_fee = _rint(fields[3], "maxFeePerGas")
        rest = fields[4:]
    tx.gas = _rint(rest[0], "gas", 64)
    tx.to = _raddr(rest[1], "to", optional=kind != 4)
    tx.value = _rint(rest[2], "value")
    if not isinstance(rest[3], bytes):
        raise DecodeError("bad_rlp", "data must be a byte string")
    tx.data = rest[3]
    tx.access_list = _raw_access_list(rest[4], ctx.limits.max_access_list)
    if kind == 4:
        tx.auths = _raw_auths(rest[5], ctx.limits.max_authorizations)
    if len(fields) == base + 3:
        y, r, s = (_rint(f, n) for f, n in zip(fields[base:], ("yParity", "r", "s"), strict=True))
        if y not in (0, 1):
            raise DecodeError("bad_signature", f"yParity {y}")
        tx.signature = (y, r, s)
    return tx


def _rlp_list(raw: bytes) -> list[Any]:
    try:
        decoded = rlp.decode(raw, strict=True)
    except rlp.exceptions.RLPException as exc:
        raise DecodeError("bad_rlp", f"RLP: {exc}") from None
    if not isinstance(decoded, list):
        raise DecodeError("bad_rlp", "transaction payload is not an RLP list")
    return decoded


def _legacy_raw(fields: list[Any]) -> _Tx:
    if len(fields) not in (6, 9):
        raise DecodeError("bad_rlp", f"legacy transaction with {len(fields)} fields")
    tx = _Tx(
        type=0,
        nonce=_rint(fields[0], "nonce", 64),
        gas_price=_rint(fields[1], "gasPrice"),
        gas=_rint(fields[2], "gas", 64),
        to=_raddr(fields[3], "to", optional=True),
        value=_rint(fields[4], "value"),
    )
    if not isinstance(fields[5], bytes):
        raise DecodeError("bad_rlp", "data must be a byte string")
    tx.data = fields[5]
    if len(fields) == 6:
        return tx  # unsigned, no chain id: the pre-EIP-155 form
    v, r, s = (_rint(f, n) for f, n in zip(fields[6:], ("v", "r", "s"), strict=True))
    if r == 0 and s == 0:
        tx.chain_id = v  # unsigned EIP-155 form (chainId, 0, 0)
        if not v:
            raise DecodeError("bad_rlp", "EIP-155 form with chainId 0")
        return tx
    if v in (27, 28):
        tx.unprotected = True
        tx.signature = (v - 27, r, s)
    elif v >= 35:
        tx.chain_id = (v - 35) // 2
        tx.signature = ((v - 35) % 2, r, s)
    else:
        raise DecodeError("bad_signature", f"legacy v = {v}")
    return tx


def _raw_access_list(value: Any, limit: int) -> list[tuple[str, list[bytes]]]:
    if not isinstance(value, list):
        raise DecodeError("bad_rlp", "accessList must be a list")
    result = []
    total = 0
    for i, entry in enumerate(value):
        if not isinstance(entry, list) or len(entry) != 2 or not isinstance(entry[1], list):
            raise DecodeError("bad_rlp", f"accessList[{i}] must be [address, [keys]]")
        total += 1 + len(entry[1])
        if total > limit:
            raise DecodeError("too_large", f"accessList over {limit} entries")
        if any(not isinstance(k, bytes) or len(k) != 32 for k in entry[1]):
            raise DecodeError("bad_rlp", f"accessList[{i}] storage keys must be 32 bytes")
        result.append((str(_raddr(entry[0], f"accessList[{i}].address")), list(entry[1])))
    return result


def _raw_auths(value: Any, limit: int) -> list[_Auth]:
    if not isinstance(value, list) or not value:
        raise DecodeError("bad_rlp", "authorizationList must be a non-empty list")
    if len(value) > limit:
        raise DecodeError("too_large", f"more than {limit} authorizations")
    auths = []
    for i, a in enumerate(value):
        if not isinstance(a, list) or len(a) != 6:
            raise DecodeError("bad_rlp", f"authorizationList[{i}] must have 6 fields")
        w = f"authorizationList[{i}]"
        auths.append(
            _Auth(
                chain_id=_rint(a[0], f"{w}.chainId"),
                address=str(_raddr(a[1], f"{w}.address")),
                nonce=_rint(a[2], f"{w}.nonce", 64),
                sig=(_rint(a[3], f"{w}.yParity", 8), _rint(a[4], f"{w}.r"), _rint(a[5], f"{w}.s")),
            )
        )
    return auths


# --- hashing and recovery --------------------------------------------------------------------


def _rlp_fields(tx: _Tx) -> list[Any] | None:
    """The unsigned field list, or None when a field without a JSON-RPC default is missing."""
    to = bytes.fromhex(tx.to[2:]) if tx.to else b""
    al = [[bytes.fromhex(a[2:]), list(ks)] for a, ks in tx.access_list]
    if tx.nonce is None or tx.gas is None:
        return None
    if tx.type == 0:
        if tx.gas_price is None:
            return None
        base = [tx.nonce, tx.gas_price, tx.gas, to, tx.value, tx.data]
        return base if tx.chain_id is None else [*base, tx.chain_id, 0, 0]
    if tx.chain_id is None:
        return None
    if tx.type == 1:
        if tx.gas_price is None:
            return None
        return [tx.chain_id, tx.nonce, tx.gas_price, tx.gas, to, tx.value, tx.data, al]
    if tx.max_fee is None or tx.max_priority is None:
        return None
    fields = [tx.chain_id, tx.nonce, tx.max_priority, tx.max_fee, tx.gas, to, tx.value, tx.data, al]
    if tx.type == 4:
        if any(a.sig is None for a in tx.auths):
            return None  # an unsigned authorization cannot be serialised
        fields.append(
            [[a.chain_id, bytes.fromhex(a.address[2:]), a.nonce, *(a.sig or ())] for a in tx.auths]
        )
    return fields


def _rlp_encode(item: Any) -> bytes:
    """Minimal RLP encoder for ints, bytes and lists (the unsigned tx fields)."""
    if isinstance(item, list):
        body = b"".join(_rlp_encode(x) for x in item)
        return _rlp_length(len(body), 0xC0) + body
    raw: bytes = (
        item.to_bytes((item.bit_length() + 7) // 8, "big") if isinstance(item, int) else bytes(item)
    )
    if len(raw) == 1 and raw[0] < 0x80:
        return raw
    return _rlp_length(len(raw), 0x80) + raw


def _rlp_length(n: int, offset: int) -> bytes:
    if n < 56:
        return bytes([offset + n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(b)]) + b


def _signing_hash(tx: _Tx) -> bytes | None:
    fields = _rlp_fields(tx)
    if fields is None:
        return None
    encoded = _rlp_encode(fields)
    return keccak(encoded if tx.type == 0 else bytes([tx.type]) + encoded)


def _recover(msg_hash: bytes, sig: tuple[int, int, int], what: str) -> str:
    y, r, s = sig
    if y not in (0, 1) or not 0 < r < _SECP256K1_N or not 0 < s <= _SECP256K1_N // 2:
        raise DecodeError("bad_signature", f"{what}: invalid or malleable signature")
    try:
        pub = Signature(vrs=(y, r, s)).recover_public_key_from_msg_hash(msg_hash)
    except (BadSignature, ValidationError, ValueError) as exc:
        raise DecodeError("bad_signature", f"{what}: {exc}") from None
    return str(pub.to_checksum_address()).lower()


def _canonical(tx: _Tx) -> dict[str, Any]:
    def h(n: int | None) -> str | None:
        return None if n is None else hex(n)

    obj: dict[str, Any] = {
        "type": hex(tx.type),
        "chainId": h(tx.chain_id),
        "from": tx.sender,
        "to": tx.to,
        "value": hex(tx.value),
        "data": "0x" + tx.data.hex(),
        "nonce": h(tx.nonce),
        "gas": h(tx.gas),
        "gasPrice": h(tx.gas_price),
        "maxFeePerGas": h(tx.max_fee),
        "maxPriorityFeePerGas": h(tx.max_priority),
        "accessList": [
            {"address": a, "storageKeys": ["0x" + k.hex() for k in ks]} for a, ks in tx.access_list
        ],
        "authorizationList": [
            {
                "chainId": hex(a.chain_id),
                "address": a.address,
                "nonce": hex(a.nonce),
                "signature": None if a.sig is None else [hex(x) for x in a.sig],
            }
            for a in tx.auths
        ],
    }
    return {k: v for k, v in obj.items() if v is not None}


# --- entry -----------------------------------------------------------------------------------


def decode_transaction(request: SigningRequest, ctx: Ctx) -> str:
    """Decode the transaction into ``ctx.out``; return the payload hash."""
    params = request.params
    if not isinstance(params, list) or len(params) != 1:
        raise DecodeError("bad_params", f"{request.method} takes exactly one transaction")
    p = params[0]
    if isinstance(p, dict):
        tx = _from_json(p, ctx)
    elif isinstance(p, str):
        tx = _from_raw(
            hex_bytes(p, "transaction", max_bytes=ctx.limits.max_calldata_bytes + 4096), ctx
        )
    else:
        raise DecodeError("bad_params", "transaction must be an object or raw hex")
    out = ctx.out
    msg_hash = _signing_hash(tx)
    if msg_hash is not None:
        payload_hash = "0x" + msg_hash.hex()
    else:
        payload_hash = canonical_json_hash(_canonical(tx))
        out.detail("payload_hash", "canonical_json (nonce, gas or fee fields missing)")
    if tx.signature is not None:
        if msg_hash is None:  # pragma: no cover - raw transactions always carry every field
            raise DecodeError("bad_rlp", "signed transaction with missing fields")
        signer = _recover(msg_hash, tx.signature, "transaction")
        if tx.sender is not None and tx.sender != signer:  # pragma: no cover - raw has no from
            raise DecodeError("conflicting_fields", "from does not match the signature")
        tx.sender = signer
        out.detail("already_signed", signer)
    out.detail("tx_type", tx.type)
    if tx.chain_id is not None:
        out.chain_ids.add(tx.chain_id)
        chain = tx.chain_id
    else:
        out.chain_unbound = True
        chain = request.chain_id
        out.detail(
            "chain_unbound", "transaction carries no chain id (no EIP-155 replay protection)"
        )
    if tx.unprotected:
        out.detail("unprotected_signature", "legacy v = 27/28")
    if tx.sender is not None:
        out.accounts.add(tx.sender)
        if tx.nonce is not None:
            out.nonces.append(
                ProtocolNonce(NonceKind.CHAIN, (str(chain), tx.sender, str(tx.nonce)))
            )
    if tx.gas is not None:
        fee = tx.max_fee if tx.max_fee is not None else tx.gas_price
        if fee is not None:
            out.detail("max_gas_fee_wei", fee * tx.gas)
    if tx.access_list:
        out.detail("access_list_entries", len(tx.access_list))
    if tx.type == 4:
        _authorizations(tx, ctx)
    decode_call(ctx, CallSite(chain, tx.to, tx.value, tx.data, tx.sender, 0, "tx"))
    return payload_hash


def _authorizations(tx: _Tx, ctx: Ctx) -> None:
    out = ctx.out
    if tx.to is None:
        raise DecodeError("conflicting_fields", "a type-4 transaction cannot create a contract")
    for i, a in enumerate(tx.auths):
        where = f"authorizationList[{i}]"
        authority = tx.sender
        if a.sig is not None:
            digest = keccak(
                b"\x05" + _rlp_encode([a.chain_id, bytes.fromhex(a.address[2:]), a.nonce])
            )
            authority = _recover(digest, a.sig, where)
            out.accounts.add(authority)
        out.chain_ids.add(a.chain_id)
        out.destinations.add(a.address)
        if a.chain_id == 0:
            out.detail("authorization_any_chain", f"{where}: chain_id 0 is valid on every chain")
        if authority is not None:
            out.nonces.append(
                ProtocolNonce(NonceKind.AUTHORIZATION, (str(a.chain_id), authority, str(a.nonce)))
            )
        out.never(
            ActionClass.AUTHORITY_SET_CODE,
            f"EIP-7702 {where}: delegates {authority or 'the sender'} to code at {a.address}"
            f" (chain_id {a.chain_id}, nonce {a.nonce})",
        )
