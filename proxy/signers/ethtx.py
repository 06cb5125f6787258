"""Ethereum transactions of type 0 (EIP-155), 1 (EIP-2930) and 2 (EIP-1559): RLP encoding, signing hash, strict decoding (pure).

Encoding uses the ``rlp`` package on pre-serialised items (``infer_serializer=False``: ints are turned into
minimal big-endian bytes here, which is ~4x faster than pyrlp's inference). Decoding does *not* use
``rlp.decode``: pyrlp recurses without a depth limit and builds per-item RLP copies (quadratic on a long
flat list), and a signed transaction handed back by a signer is untrusted input. :func:`decode_signed`
therefore has its own small RLP reader that accepts canonical RLP only (no leading zeros, no long form for
short payloads, no single byte wrapped as a string), at most :data:`_MAX_DEPTH` levels of lists and
:data:`_MAX_ITEMS` items, and then checks the exact field layout of each type. The sender is recovered
over the signing hash recomputed from the decoded fields, never from the encoder's output.
"""

from __future__ import annotations

from typing import Union

import rlp

from proxy.errors import SignerInputError, SignerMismatchError
from proxy.signers.digests import keccak256
from proxy.signers.secp import SECP256K1_N, SIGNATURE_BYTES, recover_address
from proxy.signers.txfields import TxFields

__all__ = [
    "MAX_RAW_TRANSACTION_BYTES",
    "decode_signed",
    "encode_signed",
    "signing_hash",
    "unsigned_payload",
]

#: A signed transaction larger than this is refused by :func:`decode_signed` (bytes).
MAX_RAW_TRANSACTION_BYTES = 256 * 1024
# tx list -> access list -> entry -> storage keys
_MAX_DEPTH = 4
# A 256 KiB transaction holds at most ~8,000 32-byte storage keys; this bounds the work on garbage.
_MAX_ITEMS = 10_000
_UINT256_MAX = 2**256 - 1
_HALF_N = SECP256K1_N // 2

_Item = Union[bytes, list["_Item"]]  # noqa: UP007 - a recursive alias needs the string form


# --------------------------------------------------------------------------------------------------
# Encoding


def _uint(value: int | None, name: str) -> bytes:
    if value is None or isinstance(value, bool) or not 0 <= value <= _UINT256_MAX:
        raise SignerInputError(f"transaction {name} is missing or out of range")
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def _address(value: str, name: str) -> bytes:
    try:
        raw = bytes.fromhex(value[2:]) if value.startswith("0x") else b""
    except ValueError:
        raw = b""
    if len(raw) != 20:
        raise SignerInputError(f"transaction {name} is not an address")
    return raw


def _storage_key(value: str) -> bytes:
    try:
        raw = bytes.fromhex(value[2:]) if value.startswith("0x") else b""
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise SignerInputError("transaction storage key is not 32 bytes")
    return raw


def _access(tx: TxFields) -> list[_Item]:
    return [
        [_address(address, "accessList.address"), [_storage_key(key) for key in keys]]
        for address, keys in tx.access_list
    ]


def _body(tx: TxFields) -> list[_Item]:
    """The unsigned field list of ``tx`` in its type's order (legacy: before the EIP-155 chain id)."""
    if (tx.type == 2) != (tx.gas_price is None) or (tx.type == 0 and tx.access_list):
        raise SignerInputError(f"transaction has fields that do not belong to type {tx.type}")
    if tx.type != 2 and (tx.max_fee_per_gas is not None or tx.max_priority_fee_per_gas is not None):
        raise SignerInputError(f"transaction has fields that do not belong to type {tx.type}")
    to = b"" if tx.to is None else _address(tx.to, "to")
    nonce, gas, value = _uint(tx.nonce, "nonce"), _uint(tx.gas, "gas"), _uint(tx.value, "value")
    if tx.type == 0:
        return [nonce, _uint(tx.gas_price, "gasPrice"), gas, to, value, tx.data]
    chain = _uint(tx.chain_id, "chainId")
    if tx.type == 1:
        price = _uint(tx.gas_price, "gasPrice")
        return [chain, nonce, price, gas, to, value, tx.data, _access(tx)]
    if tx.type == 2:
        tip = _uint(tx.max_priority_fee_per_gas, "maxPriorityFeePerGas")
        cap = _uint(tx.max_fee_per_gas, "maxFeePerGas")
        return [chain, nonce, tip, cap, gas, to, value, tx.data, _access(tx)]
    raise SignerInputError(f"transaction type {tx.type} cannot be encoded here")


def unsigned_payload(tx: TxFields) -> bytes:
    """The bytes whose keccak is signed: ``rlp([..., chainId, 0, 0])`` (type 0) or ``type || rlp([...])``.

    Raises:
        SignerInputError: a field is missing or out of range for the type.
    """
    if tx.type == 0:
        return bytes(
            rlp.encode(
                [*_body(tx), _uint(tx.chain_id, "chainId"), b"", b""], infer_serializer=False
            )
        )
    return bytes((tx.type,)) + bytes(rlp.encode(_body(tx), infer_serializer=False))


def signing_hash(tx: TxFields) -> bytes:
    """keccak-256 of :func:`unsigned_payload`: the 32-byte digest a signer signs.

    Raises:
        SignerInputError: as :func:`unsigned_payload`.
    """
    return keccak256(unsigned_payload(tx))


def encode_signed(tx: TxFields, signature: bytes) -> bytes:
    """The raw signed transaction for ``tx`` and its ``r || s || v`` (v 27/28) signature over :func:`signing_hash`.

    Raises:
        SignerInputError: a field is out of range, or the signature is not 65 bytes with v 27/28.
    """
    if len(signature) != SIGNATURE_BYTES or signature[64] not in (27, 28):
        raise SignerInputError("signature must be 65 bytes r || s || v with v 27 or 28")
    parity = signature[64] - 27
    r = signature[:32].lstrip(b"\0")
    s = signature[32:64].lstrip(b"\0")
    if tx.type == 0:
        v = _uint(tx.chain_id * 2 + 35 + parity, "chainId")
        return bytes(rlp.encode([*_body(tx), v, r, s], infer_serializer=False))
    y = b"\x01" if parity else b""
    return bytes((tx.type,)) + bytes(rlp.encode([*_body(tx), y, r, s], infer_serializer=False))


# --------------------------------------------------------------------------------------------------
# Strict decoding


class _Reader:
    """Canonical-only RLP reader over one buffer, bounded in depth and item count."""

    __slots__ = ("buf", "items")

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.items = 0

    def _length(self, pos: int, size: int, limit: int) -> tuple[int, int]:
        """Read a long-form length of ``size`` bytes after the prefix at ``pos``; return (length, start)."""
        start = pos + 1 + size
        if start > limit:
            raise SignerMismatchError("signed transaction is truncated (RLP length)")
        if self.buf[pos + 1] == 0:
            raise SignerMismatchError(
                "signed transaction is not canonical RLP (length has a leading zero)"
            )
        length = int.from_bytes(self.buf[pos + 1 : start], "big")
        if length < 56:
            raise SignerMismatchError(
                "signed transaction is not canonical RLP (long form for a short item)"
            )
        return length, start

    def item(self, pos: int, limit: int, depth: int) -> tuple[_Item, int]:
        """Read the item at ``pos`` (which must end by ``limit``); return it and the position after it."""
        self.items += 1
        if self.items > _MAX_ITEMS:
            raise SignerMismatchError("signed transaction has too many RLP items")
        if pos >= limit:
            raise SignerMismatchError("signed transaction is truncated")
        buf = self.buf
        b0 = buf[pos]
        if b0 < 0x80:
            return buf[pos : pos + 1], pos + 1
        is_list = b0 >= 0xC0
        if b0 < 0xB8:
            length, start = b0 - 0x80, pos + 1
            if length == 1 and start < limit and buf[start] < 0x80:
                raise SignerMismatchError(
                    "signed transaction is not canonical RLP (wrapped single byte)"
                )
        elif b0 < 0xC0:
            length, start = self._length(pos, b0 - 0xB7, limit)
        elif b0 < 0xF8:
            length, start = b0 - 0xC0, pos + 1
        else:
            length, start = self._length(pos, b0 - 0xF7, limit)
        end = start + length
        if end > limit:
            raise SignerMismatchError("signed transaction is truncated")
        if not is_list:
            return buf[start:end], end
        if depth >= _MAX_DEPTH:
            raise SignerMismatchError("signed transaction nests lists too deeply")
        out: list[_Item] = []
        while start < end:
            child, start = self.item(start, end, depth + 1)
            out.append(child)
        return out, end


def _read_list(raw: bytes, offset: int) -> list[_Item]:
    item, end = _Reader(raw).item(offset, len(raw), 0)
    if end != len(raw):
        raise SignerMismatchError("signed transaction has trailing bytes")
    if not isinstance(item, list):
        raise SignerMismatchError("signed transaction is not an RLP list")
    return item


def _bytes(item: _Item, name: str) -> bytes:
    if not isinstance(item, bytes):
        raise SignerMismatchError(f"signed transaction {name} is a list", name)
    return item


def _int(item: _Item, name: str) -> int:
    raw = _bytes(item, name)
    if len(raw) > 32:
        raise SignerMismatchError(f"signed transaction {name} is longer than 32 bytes", name)
    if raw[:1] == b"\0":
        raise SignerMismatchError(f"signed transaction {name} has a leading zero", name)
    return int.from_bytes(raw, "big")


def _to(item: _Item) -> str | None:
    raw = _bytes(item, "to")
    if not raw:
        return None
    if len(raw) != 20:
        raise SignerMismatchError("signed transaction to is not 20 bytes", "to")
    return "0x" + raw.hex()


def _decode_access_list(item: _Item) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(item, list):
        raise SignerMismatchError("signed transaction access list is not a list", "access_list")
    out: list[tuple[str, tuple[str, ...]]] = []
    for entry in item:
        if not isinstance(entry, list) or len(entry) != 2:
            raise SignerMismatchError("access list entry is not [address, keys]", "access_list")
        address, keys = entry
        if not isinstance(address, bytes) or len(address) != 20 or not isinstance(keys, list):
            raise SignerMismatchError("access list entry is not [address, keys]", "access_list")
        hex_keys: list[str] = []
        for key in keys:
            if not isinstance(key, bytes) or len(key) != 32:
                raise SignerMismatchError("access list storage key is not 32 bytes", "access_list")
            hex_keys.append("0x" + key.hex())
        out.append(("0x" + address.hex(), tuple(hex_keys)))
    return tuple(out)


def _signature(y_parity: int, r_item: _Item, s_item: _Item) -> bytes:
    r = _int(r_item, "r")
    s = _int(s_item, "s")
    if not 0 < r < SECP256K1_N or not 0 < s <= _HALF_N:
        raise SignerMismatchError(
            "signed transaction r or s is zero, out of range or high", "signature"
        )
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((27 + y_parity,))


def _decode_legacy(raw: bytes) -> tuple[str, TxFields]:
    items = _read_list(raw, 0)
    if len(items) != 9:
        raise SignerMismatchError("legacy transaction does not have 9 fields", "type")
    nonce, gas_price, gas, to, value, data, v_item, r, s = items
    v = _int(v_item, "v")
    if v < 35:
        raise SignerMismatchError("legacy transaction without EIP-155 chain id", "chainId")
    chain_id, parity = divmod(v - 35, 2)
    fields = TxFields(
        type=0,
        chain_id=chain_id,
        nonce=_int(nonce, "nonce"),
        to=_to(to),
        value=_int(value, "value"),
        data=_bytes(data, "data"),
        gas=_int(gas, "gas"),
        gas_price=_int(gas_price, "gas_price"),
    )
    signature = _signature(parity, r, s)
    unsigned = [*items[:6], _uint(chain_id, "chainId"), b"", b""]
    digest = keccak256(bytes(rlp.encode(unsigned, infer_serializer=False)))
    return recover_address(digest, signature), fields


def _decode_typed(raw: bytes) -> tuple[str, TxFields]:
    tx_type = raw[0]
    items = _read_list(raw, 1)
    if tx_type == 1:
        if len(items) != 11:
            raise SignerMismatchError("type 1 transaction does not have 11 fields", "type")
        chain_id, nonce, gas_price, gas, to, value, data, access, y, r, s = items
        tip_item = cap_item = None
    else:
        if len(items) != 12:
            raise SignerMismatchError("type 2 transaction does not have 12 fields", "type")
        chain_id, nonce, tip_item, cap_item, gas, to, value, data, access, y, r, s = items
        gas_price = None
    y_parity = _int(y, "yParity")
    if y_parity > 1:
        raise SignerMismatchError("signed transaction yParity is not 0 or 1", "signature")
    fields = TxFields(
        type=tx_type,
        chain_id=_int(chain_id, "chain_id"),
        nonce=_int(nonce, "nonce"),
        to=_to(to),
        value=_int(value, "value"),
        data=_bytes(data, "data"),
        gas=_int(gas, "gas"),
        gas_price=None if gas_price is None else _int(gas_price, "gas_price"),
        max_fee_per_gas=None if cap_item is None else _int(cap_item, "max_fee_per_gas"),
        max_priority_fee_per_gas=(
            None if tip_item is None else _int(tip_item, "max_priority_fee_per_gas")
        ),
        access_list=_decode_access_list(access),
    )
    signature = _signature(y_parity, r, s)
    digest = keccak256(bytes((tx_type,)) + bytes(rlp.encode(items[:-3], infer_serializer=False)))
    return recover_address(digest, signature), fields


def decode_signed(raw: bytes) -> tuple[str, TxFields]:
    """Decode a signed type 0/1/2 transaction into ``(sender, fields)``; the sender is recovered.

    Raises:
        SignerMismatchError: (and nothing else) the bytes are larger than
            :data:`MAX_RAW_TRANSACTION_BYTES`, not canonical RLP, have trailing bytes, a wrong field
            count or shape for their type, an unsupported type, a legacy ``v`` without EIP-155, a
            ``yParity`` other than 0/1, ``r``/``s`` zero, out of range or high, or do not recover.
    """
    if not isinstance(raw, bytes) or not raw:
        raise SignerMismatchError("signed transaction is empty", "type")
    if len(raw) > MAX_RAW_TRANSACTION_BYTES:
        raise SignerMismatchError("signed transaction is too large")
    if raw[0] in (1, 2):
        return _decode_typed(raw)
    if raw[0] >= 0xC0:
        return _decode_legacy(raw)
    raise SignerMismatchError("not a type 0, 1 or 2 transaction", "type")
