from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_utils.crypto import keccak

from proxy.errors import SignerInputError, SignerMismatchError
from proxy.signers.base import (
    SignedTransaction,
    Signer,
    TxFields,
    VerifyingSigner,
    decode_signed_transaction,
    normalize_signature,
    normalize_transaction,
    verify_message_signature,
    verify_transaction,
    verify_typed_data_signature,
)
from proxy.signers.digests import personal_message_digest, typed_data_digest
from proxy.signers.keystore import DevSigner, LocalSigner
from proxy.signers.secp import SigningKey

KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
ACCOUNT = Account.from_key(KEY)
SENDER = str(ACCOUNT.address).lower()
OTHER = Account.from_key("0x" + "22" * 32)

PERMIT: dict[str, Any] = {
    "types": {
        "EIP712Domain": [
            {"name": "name", "type": "string"},
            {"name": "version", "type": "string"},
            {"name": "chainId", "type": "uint256"},
            {"name": "verifyingContract", "type": "address"},
        ],
        "Permit": [
            {"name": "owner", "type": "address"},
            {"name": "spender", "type": "address"},
            {"name": "value", "type": "uint256"},
            {"name": "nonce", "type": "uint256"},
            {"name": "deadline", "type": "uint256"},
        ],
    },
    "primaryType": "Permit",
    "domain": {
        "name": "USD Coin",
        "version": "2",
        "chainId": 1,
        "verifyingContract": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
    },
    "message": {
        "owner": ACCOUNT.address,
        "spender": "0x68b3465833fb72A70ecDF485E0e4C7bD8665Fc45",
        "value": 1000000,
        "nonce": 0,
        "deadline": 1900000000,
    },
}


def tx1559(**changes: Any) -> dict[str, Any]:
    tx: dict[str, Any] = {
        "from": ACCOUNT.address,
        "to": "0x1111111111111111111111111111111111111111",
        "value": "0xde0b6b3a7640000",
        "data": "0xa9059cbb",
        "gas": "0x5208",
        "nonce": "0x7",
        "maxFeePerGas": "0x3b9aca00",
        "maxPriorityFeePerGas": "0x1",
        "chainId": "0x1",
    }
    tx.update(changes)
    return {k: v for k, v in tx.items() if v is not None}


def test_normalize_dynamic_fee_transaction() -> None:
    sender, fields = normalize_transaction(tx1559(), 1)
    assert sender == SENDER
    assert fields == TxFields(
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


def test_normalize_legacy_and_access_list_types() -> None:
    legacy = tx1559(maxFeePerGas=None, maxPriorityFeePerGas=None, gasPrice=5)
    assert normalize_transaction(legacy, 1)[1].type == 0
    with_list = dict(legacy, accessList=[{"address": ACCOUNT.address, "storageKeys": []}])
    fields = normalize_transaction(with_list, 1)[1]
    assert fields.type == 1
    assert fields.access_list == ((SENDER, ()),)


@pytest.mark.parametrize(
    ("tx", "chain", "needle"),
    [
        (tx1559(nonce=None), 1, "nonce"),
        (tx1559(gas=None), 1, "gas"),
        (tx1559(maxFeePerGas=None), 1, "maxFeePerGas"),
        (tx1559(), 5, "chainId"),
        (tx1559(type="0x4"), 1, "type 4"),
        (tx1559(value="12"), 1, "value"),
        (tx1559(value=-1), 1, "range"),
        (tx1559(data="0x123"), 1, "data"),
        (tx1559(to="0x1234"), 1, "to"),
        (tx1559(**{"from": None}), 1, "from"),
        (tx1559(input="0xdeadbeef"), 1, "differ"),
        ("not a dict", 1, "object"),
    ],
)
def test_normalize_refuses_bad_input(tx: Any, chain: int, needle: str) -> None:
    with pytest.raises(SignerInputError, match=needle):
        normalize_transaction(tx, chain)


def _sign(fields: TxFields, key: Any = ACCOUNT) -> bytes:
    return bytes(key.sign_transaction(fields.to_eth_account()).raw_transaction)


@pytest.mark.parametrize(
    "tx",
    [
        tx1559(),
        tx1559(maxFeePerGas=None, maxPriorityFeePerGas=None, gasPrice=5),
        tx1559(
            maxFeePerGas=None,
            maxPriorityFeePerGas=None,
            gasPrice=5,
            accessList=[{"address": ACCOUNT.address, "storageKeys": ["0x" + "01" * 32]}],
        ),
        tx1559(to=None, data="0x6080"),
    ],
    ids=["type2", "legacy", "type1", "create"],
)
def test_decode_round_trip(tx: dict[str, Any]) -> None:
    sender, fields = normalize_transaction(tx, 1)
    raw = _sign(fields)
    assert decode_signed_transaction(raw) == (sender, fields)
    signed = verify_transaction(raw, fields, sender)
    assert signed.hash == "0x" + keccak(raw).hex()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"to": "0x2222222222222222222222222222222222222222"}, "to"),
        ({"value": "0x1"}, "value"),
        ({"nonce": "0x8"}, "nonce"),
        ({"data": "0x"}, "data"),
        ({"gas": "0x5209"}, "gas"),
        ({"maxFeePerGas": "0x3b9aca01"}, "max_fee_per_gas"),
    ],
)
def test_verify_transaction_names_the_field_that_differs(
    change: dict[str, Any], field: str
) -> None:
    sender, approved = normalize_transaction(tx1559(), 1)
    _, other = normalize_transaction(tx1559(**change), 1)
    with pytest.raises(SignerMismatchError) as info:
        verify_transaction(_sign(other), approved, sender)
    assert info.value.field == field


def test_verify_transaction_catches_other_chain_and_other_signer() -> None:
    sender, approved = normalize_transaction(tx1559(), 1)
    _, on_goerli = normalize_transaction(tx1559(chainId=5), 5)
    with pytest.raises(SignerMismatchError) as info:
        verify_transaction(_sign(on_goerli), approved, sender)
    assert info.value.field == "chain_id"
    with pytest.raises(SignerMismatchError) as info:
        verify_transaction(_sign(approved, OTHER), approved, sender)
    assert info.value.field == "from"


@pytest.mark.parametrize(
    "raw", [b"", b"\x02", b"\x05abc", b"\xc0", "0xzz", "0x123", b"\x02" + b"\xff" * 40]
)
def test_garbage_signed_transactions_are_mismatches(raw: bytes | str) -> None:
    _, approved = normalize_transaction(tx1559(), 1)
    with pytest.raises(SignerMismatchError):
        verify_transaction(raw, approved, SENDER)


def test_legacy_without_chain_id_is_refused() -> None:
    raw = bytes(
        ACCOUNT.sign_transaction(
            {
                "nonce": 7,
                "to": "0x1111111111111111111111111111111111111111",
                "value": 1,
                "gas": 21000,
                "gasPrice": 5,
                "data": b"",
            }
        ).raw_transaction
    )
    # eth-account adds no chainId when none is given -> v in {27, 28}
    with pytest.raises(SignerMismatchError, match="EIP-155"):
        decode_signed_transaction(raw)


def test_message_and_typed_data_signatures_verify_and_lies_are_caught() -> None:
    message = b"hello wcproxy"
    good = bytes(ACCOUNT.sign_message(encode_defunct(primitive=message)).signature)
    assert verify_message_signature(SENDER, message, good) == "0x" + good.hex()
    bad = bytes(OTHER.sign_message(encode_defunct(primitive=message)).signature)
    with pytest.raises(SignerMismatchError):
        verify_message_signature(SENDER, message, bad)
    with pytest.raises(SignerMismatchError):
        verify_message_signature(SENDER, b"another message", good)
    typed = bytes(ACCOUNT.sign_message(encode_typed_data(full_message=PERMIT)).signature)
    assert verify_typed_data_signature(SENDER, PERMIT, typed) == "0x" + typed.hex()
    with pytest.raises(SignerMismatchError):
        verify_typed_data_signature(SENDER, PERMIT, good)


def test_normalize_signature_v_forms() -> None:
    body = b"\x01" * 64
    assert normalize_signature(body + b"\x00")[-1] == 27
    assert normalize_signature("0x" + (body + b"\x1c").hex())[-1] == 28
    for bad in (body, body + b"\x05", "0x" + "ab" * 66):
        with pytest.raises(SignerMismatchError):
            normalize_signature(bad)


class Liar:
    """A backend that signs with the right key but returns what it likes."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.real = LocalSigner(SigningKey(bytes.fromhex(KEY[2:])))

    @property
    def name(self) -> str:
        return "liar"

    def accounts(self) -> tuple[str, ...]:
        return (SENDER,)

    async def sign_transaction(self, tx: Any, chain_id: int) -> SignedTransaction:
        if self.mode == "other_to":
            tx = dict(tx, to="0x" + "33" * 20)
        return await self.real.sign_transaction(tx, chain_id)

    async def sign_message(self, account: str, message: bytes, digest: bytes) -> str:
        if self.mode == "other_key":
            return (
                "0x" + bytes(OTHER.sign_message(encode_defunct(primitive=message)).signature).hex()
            )
        if self.mode == "other_message":
            return await self.real.sign_message(account, b"x", personal_message_digest(b"x"))
        return await self.real.sign_message(account, message, digest)

    async def sign_typed_data(self, account: str, typed_data: Any, digest: bytes) -> str:
        return await self.sign_message(
            account, b"not the typed data", personal_message_digest(b"not the typed data")
        )

    async def close(self) -> None:
        pass


async def test_verifying_signer_passes_honest_results() -> None:
    signer = VerifyingSigner(LocalSigner(SigningKey(bytes.fromhex(KEY[2:]))))
    assert isinstance(signer, Signer)
    signed = await signer.sign_transaction(tx1559(), 1)
    assert signed.sender == SENDER
    assert Account.recover_transaction(signed.raw).lower() == SENDER
    sig = await signer.sign_typed_data(SENDER, PERMIT, typed_data_digest(PERMIT))
    assert verify_typed_data_signature(SENDER, PERMIT, sig) == sig
    assert Account.recover_message(encode_typed_data(full_message=PERMIT), signature=sig) == (
        ACCOUNT.address
    )


async def test_verifying_signer_catches_a_lying_backend() -> None:
    with pytest.raises(SignerMismatchError) as info:
        await VerifyingSigner(Liar("other_to")).sign_transaction(tx1559(), 1)
    assert info.value.field == "to"
    digest = personal_message_digest(b"hi")
    for mode in ("other_key", "other_message"):
        with pytest.raises(SignerMismatchError):
            await VerifyingSigner(Liar(mode)).sign_message(SENDER, b"hi", digest)
    assert await VerifyingSigner(Liar("honest")).sign_message(SENDER, b"hi", digest)
    with pytest.raises(SignerMismatchError):
        await VerifyingSigner(Liar("honest")).sign_typed_data(
            SENDER, PERMIT, typed_data_digest(PERMIT)
        )


async def test_verifying_signer_refuses_a_digest_that_is_not_32_bytes() -> None:
    with pytest.raises(SignerInputError):
        await VerifyingSigner(DevSigner()).sign_typed_data(SENDER, PERMIT, b"\x01" * 31)
    with pytest.raises(SignerInputError):
        typed_data_digest({"types": 5})
