"""VerifyingSigner catches every lie of a backend, whatever produced its bytes."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from proxy.errors import SignerMismatchError
from proxy.signers.base import SignedTransaction, TxFields, VerifyingSigner, normalize_transaction
from proxy.signers.digests import keccak256, personal_message_digest, typed_data_digest
from proxy.signers.ethtx import encode_signed, signing_hash
from proxy.signers.keystore import LocalSigner
from proxy.signers.secp import SECP256K1_N, SigningKey

KEY = SigningKey(b"\x31" * 32)
OTHER = SigningKey(b"\x32" * 32)
SENDER = KEY.address
TX: dict[str, Any] = {
    "from": SENDER,
    "to": "0x1111111111111111111111111111111111111111",
    "value": "0x10",
    "data": "0xa9059cbb",
    "gas": "0x5208",
    "nonce": "0x7",
    "maxFeePerGas": "0x3b9aca00",
    "maxPriorityFeePerGas": "0x1",
    "chainId": "0x1",
    "accessList": [{"address": "0x" + "22" * 20, "storageKeys": ["0x" + "01" * 32]}],
}
TYPED: dict[str, Any] = {
    "types": {
        "EIP712Domain": [{"name": "name", "type": "string"}],
        "Mail": [{"name": "body", "type": "string"}],
    },
    "primaryType": "Mail",
    "domain": {"name": "wcproxy"},
    "message": {"body": "hi"},
}

# one change per signed-over field: the backend signs the changed transaction with the right key
CHANGES: dict[str, dict[str, Any]] = {
    "type": {
        "type": 1,
        "gas_price": 10**9,
        "max_fee_per_gas": None,
        "max_priority_fee_per_gas": None,
    },
    "chain_id": {"chain_id": 5},
    "nonce": {"nonce": 8},
    "to": {"to": "0x" + "33" * 20},
    "value": {"value": 17},
    "data": {"data": b"\xa9\x05\x9c\xbc"},
    "gas": {"gas": 21001},
    "max_fee_per_gas": {"max_fee_per_gas": 10**9 + 1},
    "max_priority_fee_per_gas": {"max_priority_fee_per_gas": 2},
    "access_list": {"access_list": ()},
}


class Backend:
    """Signs with coincurve and then lies as told."""

    def __init__(self, lie: str | None = None, **change: Any) -> None:
        self.lie = lie
        self.change = change
        self.digests: list[bytes] = []

    @property
    def name(self) -> str:
        return "test"

    def accounts(self) -> tuple[str, ...]:
        return (SENDER,)

    async def sign_transaction(self, tx: Mapping[str, Any], chain_id: int) -> SignedTransaction:
        sender, fields = normalize_transaction(tx, chain_id)
        fields = dataclasses.replace(fields, **self.change)
        key = OTHER if self.lie == "other_key" else KEY
        raw = encode_signed(fields, key.sign_digest(signing_hash(fields)))
        if self.lie == "garbage":
            raw = raw[:-1]
        return SignedTransaction(
            raw=raw, hash="0x" + keccak256(raw).hex(), sender=sender, tx=fields
        )

    def _sign(self, digest: bytes) -> str:
        self.digests.append(digest)
        if self.lie == "other_key":
            return "0x" + OTHER.sign_digest(digest).hex()
        if self.lie == "other_digest":
            return "0x" + KEY.sign_digest(keccak256(digest)).hex()
        signature = KEY.sign_digest(digest)
        if self.lie == "flipped_bit":
            signature = signature[:10] + bytes((signature[10] ^ 1,)) + signature[11:]
        elif self.lie == "high_s":
            s = int.from_bytes(signature[32:64], "big")
            high = (SECP256K1_N - s).to_bytes(32, "big")
            signature = signature[:32] + high + bytes((55 - signature[64],))
        elif self.lie == "v_flipped":
            signature = signature[:64] + bytes((55 - signature[64],))
        return "0x" + signature.hex()

    async def sign_message(self, account: str, message: bytes, digest: bytes) -> str:
        return self._sign(digest)

    async def sign_typed_data(
        self, account: str, typed_data: Mapping[str, Any], digest: bytes
    ) -> str:
        return self._sign(digest)

    async def close(self) -> None:
        pass


async def test_an_honest_backend_passes_and_gets_the_callers_digest() -> None:
    backend = Backend()
    signer = VerifyingSigner(backend)
    signed = await signer.sign_transaction(TX, 1)
    assert Account.recover_transaction(signed.raw).lower() == SENDER
    digest = personal_message_digest(b"hi")
    sig = await signer.sign_message(SENDER, b"hi", digest)
    assert Account.recover_message(encode_defunct(b"hi"), signature=sig).lower() == SENDER
    typed_digest = typed_data_digest(TYPED)
    await signer.sign_typed_data(SENDER, TYPED, typed_digest)
    assert backend.digests == [digest, typed_digest]


@pytest.mark.parametrize("field", sorted(CHANGES))
async def test_a_transaction_differing_in_any_field_is_caught(field: str) -> None:
    _, approved = normalize_transaction(TX, 1)
    changed = dataclasses.replace(approved, **CHANGES[field])
    assert changed != approved
    with pytest.raises(SignerMismatchError) as info:
        await VerifyingSigner(Backend(**CHANGES[field])).sign_transaction(TX, 1)
    assert info.value.field == field


def test_every_signed_over_field_has_a_change() -> None:
    assert set(CHANGES) | {"gas_price"} == set(TxFields.__slots__)


async def test_a_transaction_signed_by_another_key_or_garbled_is_caught() -> None:
    with pytest.raises(SignerMismatchError) as info:
        await VerifyingSigner(Backend("other_key")).sign_transaction(TX, 1)
    assert info.value.field == "from"
    with pytest.raises(SignerMismatchError):
        await VerifyingSigner(Backend("garbage")).sign_transaction(TX, 1)


async def test_legacy_gas_price_difference_is_caught() -> None:
    legacy = {k: v for k, v in TX.items() if k not in ("maxFeePerGas", "maxPriorityFeePerGas")}
    legacy = {**legacy, "gasPrice": "0x5", "type": "0x1"}
    assert await VerifyingSigner(Backend()).sign_transaction(legacy, 1)
    with pytest.raises(SignerMismatchError) as info:
        await VerifyingSigner(Backend(gas_price=6)).sign_transaction(legacy, 1)
    assert info.value.field == "gas_price"


@pytest.mark.parametrize("lie", ["other_key", "other_digest", "flipped_bit", "high_s", "v_flipped"])
async def test_a_bad_message_or_typed_data_signature_is_caught(lie: str) -> None:
    signer = VerifyingSigner(Backend(lie))
    with pytest.raises(SignerMismatchError):
        await signer.sign_message(SENDER, b"hi", personal_message_digest(b"hi"))
    with pytest.raises(SignerMismatchError):
        await signer.sign_typed_data(SENDER, TYPED, typed_data_digest(TYPED))


async def test_local_signer_signs_the_digest_it_is_given() -> None:
    signer = VerifyingSigner(LocalSigner(KEY))
    digest = personal_message_digest(b"judged")
    sig = await signer.sign_message(SENDER, b"judged", digest)
    assert Account.recover_message(encode_defunct(b"judged"), signature=sig).lower() == SENDER
    typed = await signer.sign_typed_data(SENDER, TYPED, typed_data_digest(TYPED))
    assert bytes.fromhex(typed[2:]) == KEY.sign_digest(typed_data_digest(TYPED))
