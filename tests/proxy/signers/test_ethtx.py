"""proxy.signers.ethtx against eth-account: byte-for-byte encoding, agreeing decoding, strict refusals."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import rlp
from eth_account import Account
from eth_account._utils.legacy_transactions import (
    Transaction,
    serializable_unsigned_transaction_from_dict,
)
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from hexbytes import HexBytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy.errors import SignerInputError, SignerMismatchError
from proxy.signers.digests import keccak256
from proxy.signers.ethtx import (
    MAX_RAW_TRANSACTION_BYTES,
    _read_list,
    decode_signed,
    encode_signed,
    signing_hash,
    unsigned_payload,
)
from proxy.signers.secp import SECP256K1_N, SigningKey
from proxy.signers.txfields import TxFields

N = SECP256K1_N
KEY = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
SIGNER = SigningKey(bytes.fromhex(KEY))
ACCOUNT = Account.from_key("0x" + KEY)
assert SIGNER.address == ACCOUNT.address.lower()

TYPE2 = TxFields(
    type=2,
    chain_id=1,
    nonce=7,
    to="0x1111111111111111111111111111111111111111",
    value=10**18,
    data=bytes.fromhex("a9059cbb"),
    gas=21000,
    max_fee_per_gas=10**9,
    max_priority_fee_per_gas=1,
)
TYPE1 = TxFields(
    type=1,
    chain_id=5,
    nonce=0,
    to=None,
    value=0,
    data=b"\x60\x80",
    gas=53000,
    gas_price=5,
    access_list=(("0x" + "22" * 20, ("0x" + "01" * 32, "0x" + "00" * 32)), ("0x" + "33" * 20, ())),
)
LEGACY = TxFields(
    type=0,
    chain_id=137,
    nonce=1,
    to="0x" + "44" * 20,
    value=1,
    data=b"",
    gas=21000,
    gas_price=30 * 10**9,
)


def sign(fields: TxFields, key: SigningKey = SIGNER) -> bytes:
    return encode_signed(fields, key.sign_digest(signing_hash(fields)))


def items_of(raw: bytes) -> list[Any]:
    """pyrlp's decoding of a (valid) signed transaction's field list."""
    return list(rlp.decode(raw[1:] if raw[0] < 0x80 else raw))


def reencode(raw: bytes, items: list[Any]) -> bytes:
    prefix = raw[:1] if raw[0] < 0x80 else b""
    return prefix + bytes(rlp.encode(items))


def eth_account_decode(raw: bytes) -> tuple[str, TxFields]:
    """What eth-account makes of a signed transaction, as TxFields (the reference decoder)."""
    sender = str(Account.recover_transaction(raw)).lower()
    if raw[0] in (1, 2):
        d = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
        tx_type, chain_id = raw[0], int(d["chainId"])
    else:
        d = Transaction.from_bytes(raw).as_dict()
        tx_type, chain_id = 0, (int(d["v"]) - 35) // 2
    to = bytes(HexBytes(d["to"])) if d.get("to") else b""
    access = tuple(
        (
            "0x" + bytes(HexBytes(item["address"])).hex(),
            tuple("0x" + bytes(HexBytes(k)).rjust(32, b"\0").hex() for k in item["storageKeys"]),
        )
        for item in d.get("accessList", ())
    )
    return sender, TxFields(
        type=tx_type,
        chain_id=chain_id,
        nonce=int(d["nonce"]),
        to="0x" + to.hex() if to else None,
        value=int(d["value"]),
        data=bytes(d["data"]),
        gas=int(d["gas"]),
        gas_price=int(d["gasPrice"]) if tx_type in (0, 1) else None,
        max_fee_per_gas=int(d["maxFeePerGas"]) if tx_type == 2 else None,
        max_priority_fee_per_gas=int(d["maxPriorityFeePerGas"]) if tx_type == 2 else None,
        access_list=access if tx_type in (1, 2) else (),
    )


# --------------------------------------------------------------------------------------------------
# Known answers


def test_eip155_example_is_reproduced() -> None:
    # the worked example in EIP-155 (private key 0x4646...46)
    fields = TxFields(
        type=0,
        chain_id=1,
        nonce=9,
        to="0x" + "35" * 20,
        value=10**18,
        data=b"",
        gas=21000,
        gas_price=20 * 10**9,
    )
    assert unsigned_payload(fields).hex() == (
        "ec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764000080018080"
    )
    assert signing_hash(fields).hex() == (
        "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53"
    )
    key = SigningKey(b"\x46" * 32)
    raw = sign(fields, key)
    assert raw.hex() == (
        "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025"
        "a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aec"
        "b703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
    )
    assert decode_signed(raw) == ("0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f", fields)


@pytest.mark.parametrize("fields", [TYPE2, TYPE1, LEGACY], ids=["type2", "type1", "legacy"])
def test_fixed_transactions_match_eth_account(fields: TxFields) -> None:
    raw = sign(fields)
    reference = ACCOUNT.sign_transaction(fields.to_eth_account())
    assert raw == bytes(reference.raw_transaction)
    assert "0x" + keccak256(raw).hex() == reference.hash.to_0x_hex()
    assert decode_signed(raw) == (SIGNER.address, fields)
    assert eth_account_decode(raw) == (SIGNER.address, fields)


# --------------------------------------------------------------------------------------------------
# Properties against eth-account

uint256 = st.integers(0, 2**256 - 1)
small = st.integers(0, 2**64 - 1)
addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
storage_keys = st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex())
access_lists = st.lists(
    st.tuples(addresses, st.lists(storage_keys, max_size=3).map(tuple)), max_size=3
).map(tuple)


@st.composite
def tx_fields(draw: st.DrawFn) -> TxFields:
    tx_type = draw(st.sampled_from([0, 1, 2]))
    fee = st.one_of(small, uint256)
    return TxFields(
        type=tx_type,
        chain_id=draw(st.integers(1, 2**32) | st.sampled_from([1, 5, 137, 2**53])),
        nonce=draw(small),
        to=draw(st.none() | addresses),
        value=draw(st.one_of(small, uint256)),
        data=draw(st.binary(max_size=120)),
        gas=draw(small),
        gas_price=draw(fee) if tx_type in (0, 1) else None,
        max_fee_per_gas=draw(fee) if tx_type == 2 else None,
        max_priority_fee_per_gas=draw(fee) if tx_type == 2 else None,
        access_list=draw(access_lists) if tx_type in (1, 2) else (),
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tx_fields())
def test_encoding_is_byte_for_byte_eth_account(fields: TxFields) -> None:
    as_dict = fields.to_eth_account()
    assert signing_hash(fields) == bytes(
        serializable_unsigned_transaction_from_dict(as_dict).hash()
    )
    reference = ACCOUNT.sign_transaction(as_dict)
    raw = sign(fields)
    assert raw == bytes(reference.raw_transaction)
    assert keccak256(raw) == bytes(reference.hash)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tx_fields())
def test_decoding_round_trips_and_agrees_with_eth_account(fields: TxFields) -> None:
    raw = bytes(ACCOUNT.sign_transaction(fields.to_eth_account()).raw_transaction)
    decoded = decode_signed(raw)
    assert decoded == (SIGNER.address, fields)
    assert decoded == eth_account_decode(raw)


# --------------------------------------------------------------------------------------------------
# Strict refusals


def _mutations() -> list[tuple[str, bytes]]:
    raw2, raw0 = sign(TYPE2), sign(LEGACY)
    items2, items0 = items_of(raw2), items_of(raw0)
    r, s = int.from_bytes(items2[10], "big"), int.from_bytes(items2[11], "big")
    high_s = [*items2[:9], b"" if items2[9] else b"\x01", items2[10], (N - s).to_bytes(32, "big")]
    out = [
        ("trailing byte", raw2 + b"\x00"),
        ("legacy trailing byte", raw0 + b"\x80"),
        ("truncated", raw2[:-1]),
        ("type 3", b"\x03" + raw2[1:]),
        ("type 4", b"\x04" + raw2[1:]),
        ("type 0 prefix", b"\x00" + raw2[1:]),
        ("type 0x7f", b"\x7f" + raw2[1:]),
        ("a string, not a list", b"\x02" + rlp.encode(b"abc")),
        ("one field too many", reencode(raw2, [*items2, b""])),
        ("one field too few", reencode(raw2, items2[:-1])),
        ("type 1 layout under type 2", b"\x02" + sign(TYPE1)[1:]),
        ("legacy 8 fields", reencode(raw0, items0[:-1])),
        ("high s (malleated)", reencode(raw2, high_s)),
        ("s zero", reencode(raw2, [*items2[:11], b""])),
        ("r zero", reencode(raw2, [*items2[:10], b"", items2[11]])),
        ("r = n", reencode(raw2, [*items2[:10], N.to_bytes(32, "big"), items2[11]])),
        (
            "r longer than 32 bytes",
            reencode(raw2, [*items2[:10], b"\x01" + items2[10], items2[11]]),
        ),
        ("yParity 2", reencode(raw2, [*items2[:9], b"\x02", *items2[10:]])),
        ("yParity a list", reencode(raw2, [*items2[:9], [], *items2[10:]])),
        ("nonce a list", reencode(raw2, [items2[0], [b"\x07"], *items2[2:]])),
        ("to of 19 bytes", reencode(raw2, [*items2[:5], b"\x11" * 19, *items2[6:]])),
        ("access list a string", reencode(raw2, [*items2[:8], b"x", *items2[9:]])),
        ("access entry of 1 item", reencode(raw2, [*items2[:8], [[b"\x22" * 20]], *items2[9:]])),
        (
            "storage key of 31 bytes",
            reencode(raw2, [*items2[:8], [[b"\x22" * 20, [b"\x01" * 31]]], *items2[9:]]),
        ),
        ("legacy v 27 (no EIP-155)", reencode(raw0, [*items0[:6], b"\x1b", *items0[7:]])),
        ("legacy v 0", reencode(raw0, [*items0[:6], b"", *items0[7:]])),
        ("empty", b""),
        ("too large", b"\x02" + b"\x00" * MAX_RAW_TRANSACTION_BYTES),
        ("nested too deep", b"\x02" + rlp.encode([[[[[b""]]]]])),
        ("too many items", b"\x02" + rlp.encode([b"\x01"] * 10_001)),
    ]
    assert r
    assert s
    # non-canonical RLP, spliced by hand into otherwise valid bytes
    body2 = raw2[1:]  # 0xf8 <len> <payload>: a long list (len >= 56)
    assert body2[0] == 0xF8
    payload = body2[2:]
    nonce_at = 1  # chain id 1 is the single byte 0x01; nonce 7 (0x07) follows
    assert payload[:2] == b"\x01\x07"
    with_zero = payload[:nonce_at] + b"\x82\x00\x07" + payload[nonce_at + 1 :]
    out.append(("leading zero in an int", b"\x02\xf8" + bytes([len(with_zero)]) + with_zero))
    wrapped = payload[:nonce_at] + b"\x81\x07" + payload[nonce_at + 1 :]
    out.append(("single byte wrapped as a string", b"\x02\xf8" + bytes([len(wrapped)]) + wrapped))
    out.append(
        ("list length with a leading zero", b"\x02\xf9\x00" + bytes([len(payload)]) + payload)
    )
    short = rlp.encode([b"\x01"] * 12)
    out.append(
        ("long list prefix for a short list", b"\x02\xf8" + bytes([len(short) - 1]) + short[1:])
    )
    data_at = payload.index(b"\x84\xa9\x05\x9c\xbb")
    long_data = payload[:data_at] + b"\xb8\x04\xa9\x05\x9c\xbb" + payload[data_at + 5 :]
    out.append(
        ("long string prefix for short data", b"\x02\xf8" + bytes([len(long_data)]) + long_data)
    )
    return out


# why each mutation must be refused (a fragment of the error message)
WHY = {
    "trailing byte": "trailing",
    "legacy trailing byte": "trailing",
    "truncated": "truncated",
    "type 3": "not a type 0, 1 or 2",
    "type 4": "not a type 0, 1 or 2",
    "type 0 prefix": "not a type 0, 1 or 2",
    "type 0x7f": "not a type 0, 1 or 2",
    "a string, not a list": "not an RLP list",
    "one field too many": "12 fields",
    "one field too few": "12 fields",
    "type 1 layout under type 2": "12 fields",
    "legacy 8 fields": "9 fields",
    "high s (malleated)": "high",
    "s zero": "zero",
    "r zero": "zero",
    "r = n": "out of range",
    "r longer than 32 bytes": "longer than 32 bytes",
    "yParity 2": "yParity is not 0 or 1",
    "yParity a list": "yParity is a list",
    "nonce a list": "nonce is a list",
    "to of 19 bytes": "to is not 20 bytes",
    "access list a string": "access list is not a list",
    "access entry of 1 item": "not \\[address, keys\\]",
    "storage key of 31 bytes": "storage key is not 32 bytes",
    "legacy v 27 (no EIP-155)": "EIP-155",
    "legacy v 0": "EIP-155",
    "empty": "empty",
    "too large": "too large",
    "nested too deep": "too deeply",
    "too many items": "too many RLP items",
    "leading zero in an int": "nonce has a leading zero",
    "single byte wrapped as a string": "wrapped single byte",
    "list length with a leading zero": "length has a leading zero",
    "long list prefix for a short list": "long form for a short item",
    "long string prefix for short data": "long form for a short item",
}


@pytest.mark.parametrize(("name", "raw"), _mutations(), ids=[name for name, _ in _mutations()])
def test_refusals_are_signer_mismatch_errors_for_the_right_reason(name: str, raw: bytes) -> None:
    with pytest.raises(SignerMismatchError, match=WHY[name]):
        decode_signed(raw)


def test_every_mutation_has_a_reason() -> None:
    assert sorted(WHY) == sorted(name for name, _ in _mutations())


def test_refusal_messages_name_the_problem() -> None:
    items = items_of(sign(TYPE2))
    s = int.from_bytes(items[11], "big")
    high = [*items[:9], b"" if items[9] else b"\x01", items[10], (N - s).to_bytes(32, "big")]
    with pytest.raises(SignerMismatchError, match="high"):
        decode_signed(b"\x02" + rlp.encode(high))
    with pytest.raises(SignerMismatchError, match="EIP-155"):
        decode_signed(
            bytes(
                ACCOUNT.sign_transaction(
                    {**LEGACY.to_eth_account(), "chainId": None}
                ).raw_transaction
            )
        )
    with pytest.raises(SignerMismatchError, match="trailing"):
        decode_signed(sign(TYPE2) + b"\x00")
    with pytest.raises(SignerMismatchError, match="12 fields"):
        decode_signed(b"\x02" + rlp.encode(items[:-1]))


def test_the_unmodified_mutation_base_decodes() -> None:
    # the mutations above start from bytes that do decode: a refusal is the mutation's doing
    assert decode_signed(sign(TYPE2))[0] == SIGNER.address
    assert decode_signed(sign(LEGACY))[0] == SIGNER.address


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=300)
    | st.binary(max_size=80).map(lambda b: b"\x02" + b)
    | st.binary(max_size=80).map(lambda b: b"\x01\xf8" + b)
)
def test_random_bytes_raise_only_signer_mismatch(raw: bytes) -> None:
    with pytest.raises(SignerMismatchError):
        decode_signed(raw)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([sign(TYPE2), sign(TYPE1), sign(LEGACY)]),
    st.integers(0, 400),
    st.integers(0, 255),
    st.sampled_from(["replace", "insert", "delete"]),
)
def test_mutated_transactions_raise_only_signer_mismatch_or_decode_canonically(
    raw: bytes, where: int, byte: int, how: str
) -> None:
    i = where % len(raw)
    if how == "replace":
        mutated = raw[:i] + bytes([byte]) + raw[i + 1 :]
    elif how == "insert":
        mutated = raw[:i] + bytes([byte]) + raw[i:]
    else:
        mutated = raw[:i] + raw[i + 1 :]
    try:
        sender, fields = decode_signed(mutated)
    except SignerMismatchError:
        return
    # whatever still decodes is canonical: pyrlp re-encodes it to the very same bytes
    offset = 1 if mutated[0] < 0x80 else 0
    assert rlp.encode(rlp.decode(mutated[offset:])) == mutated[offset:]
    assert len(sender) == 42
    assert fields.type == (mutated[0] if offset else 0)


rlp_items = st.recursive(
    st.binary(max_size=70), lambda children: st.lists(children, max_size=4), max_leaves=12
)


@settings(max_examples=200, deadline=None)
@given(st.lists(rlp_items, max_size=6))
def test_rlp_reader_agrees_with_pyrlp_on_canonical_input(items: list[Any]) -> None:
    encoded = rlp.encode(items)

    def depth(item: Any) -> int:
        return 1 + max(map(depth, item), default=0) if isinstance(item, list) else 0

    if depth(items) > 4:
        with pytest.raises(SignerMismatchError, match="deeply"):
            _read_list(encoded, 0)
    else:
        assert _read_list(encoded, 0) == rlp.decode(encoded)


# --------------------------------------------------------------------------------------------------
# Encoder input checks


@pytest.mark.parametrize(
    "fields",
    [
        dataclasses.replace(TYPE2, gas_price=1),
        dataclasses.replace(TYPE2, max_fee_per_gas=None),
        dataclasses.replace(LEGACY, access_list=(("0x" + "22" * 20, ()),)),
        dataclasses.replace(LEGACY, max_fee_per_gas=1),
        dataclasses.replace(TYPE2, type=3),
        dataclasses.replace(TYPE2, nonce=-1),
        dataclasses.replace(TYPE2, value=2**256),
        dataclasses.replace(TYPE2, to="0x1234"),
        dataclasses.replace(TYPE1, access_list=(("0x" + "22" * 20, ("0x01",)),)),
    ],
)
def test_encoder_refuses_fields_that_do_not_fit_the_type(fields: TxFields) -> None:
    with pytest.raises(SignerInputError):
        signing_hash(fields)


def test_encoder_refuses_a_bad_signature() -> None:
    sig = SIGNER.sign_digest(signing_hash(TYPE2))
    for bad in (sig[:64], sig[:64] + b"\x00", sig + b"\x00"):
        with pytest.raises(SignerInputError):
            encode_signed(TYPE2, bad)
