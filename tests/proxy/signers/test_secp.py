"""proxy.signers.secp and proxy.signers.digests against eth-account / eth-keys."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_defunct, encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.errors import SignerInputError, SignerMismatchError
from proxy.signers.digests import keccak256, personal_message_digest, typed_data_digest
from proxy.signers.secp import SECP256K1_N, SigningKey, recover_address

N = SECP256K1_N
DEV_KEY = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
TYPED = {
    "types": {
        "EIP712Domain": [
            {"name": "name", "type": "string"},
            {"name": "chainId", "type": "uint256"},
        ],
        "Mail": [{"name": "body", "type": "string"}],
    },
    "primaryType": "Mail",
    "domain": {"name": "wcproxy", "chainId": 1},
    "message": {"body": "hi"},
}

secrets = st.integers(1, N - 1).map(lambda k: k.to_bytes(32, "big"))
digests = st.binary(min_size=32, max_size=32)


def test_keccak_known_answers() -> None:
    assert keccak256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )
    assert keccak256(b"abc").hex() == (
        "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    )


def test_dev_key_known_answer() -> None:
    key = SigningKey(DEV_KEY)
    assert key.address == "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
    digest = personal_message_digest(b"hello")
    assert digest.hex() == "50b2c43fd39106bafbba0da34fc430e1f91e3c96ea2acee2bc34119f92b37750"
    signature = key.sign_digest(digest)
    assert signature == bytes(
        Account.from_key(DEV_KEY).sign_message(encode_defunct(b"hello")).signature
    )
    assert recover_address(digest, signature) == key.address


@settings(max_examples=60, deadline=None)
@given(secrets, digests)
def test_signatures_are_eth_accounts_and_recover_both_ways(secret: bytes, digest: bytes) -> None:
    key = SigningKey(secret)
    account = Account.from_key(secret)
    assert key.address == account.address.lower()
    signature = key.sign_digest(digest)
    # RFC 6979 on both sides: the very same bytes
    assert signature == bytes(Account.unsafe_sign_hash(digest, secret).signature)
    assert signature[64] in (27, 28)
    assert int.from_bytes(signature[32:64], "big") <= N // 2
    assert recover_address(digest, signature) == key.address
    assert Account._recover_hash(digest, signature=signature).lower() == key.address


@settings(max_examples=60, deadline=None)
@given(secrets, digests)
def test_malleated_high_s_signature_is_refused(secret: bytes, digest: bytes) -> None:
    signature = SigningKey(secret).sign_digest(digest)
    s = int.from_bytes(signature[32:64], "big")
    high = signature[:32] + (N - s).to_bytes(32, "big") + bytes((55 - signature[64],))
    # mathematically valid for the same key (eth-keys still recovers it) ...
    assert Account._recover_hash(digest, signature=high).lower() == SigningKey(secret).address
    # ... but not accepted here (EIP-2)
    with pytest.raises(SignerMismatchError, match="high"):
        recover_address(digest, high)


_DIGEST = b"\x01" * 32
_GOOD = SigningKey(DEV_KEY).sign_digest(_DIGEST)
_R, _S, _V = _GOOD[:32], _GOOD[32:64], _GOOD[64:]


@pytest.mark.parametrize(
    ("digest", "signature"),
    [
        (_DIGEST, _GOOD[:64]),
        (_DIGEST, _GOOD + b"\x00"),
        (_DIGEST, _R + _S + b"\x00"),
        (_DIGEST, _R + _S + b"\x1d"),
        (_DIGEST, b"\x00" * 32 + _S + _V),
        (_DIGEST, _R + b"\x00" * 32 + _V),
        (_DIGEST, N.to_bytes(32, "big") + _S + _V),
        (_DIGEST, b"\xff" * 32 + _S + _V),
        (_DIGEST[:31], _GOOD),
    ],
    ids=["short", "long", "v0", "v29", "r0", "s0", "r=n", "r-max", "digest31"],
)
def test_malformed_signatures_are_refused(digest: bytes, signature: bytes) -> None:
    assert recover_address(_DIGEST, _GOOD) == SigningKey(DEV_KEY).address
    with pytest.raises(SignerMismatchError):
        recover_address(digest, signature)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=70), st.binary(max_size=33))
def test_random_signatures_raise_only_signer_mismatch(signature: bytes, digest: bytes) -> None:
    try:
        address = recover_address(digest, signature)
    except SignerMismatchError:
        return
    assert len(address) == 42


def test_signing_key_never_shows_the_secret() -> None:
    key = SigningKey(DEV_KEY)
    assert DEV_KEY.hex() not in repr(key)
    assert key.address in repr(key)
    for bad in (b"\x00" * 32, N.to_bytes(32, "big"), b"\x01" * 31):
        with pytest.raises(ValueError, match="private key") as info:
            SigningKey(bad)
        assert bad.hex() not in str(info.value)
    with pytest.raises(ValueError, match="32 bytes"):
        key.sign_digest(b"\x01" * 31)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_personal_message_digest_is_eth_accounts(message: bytes) -> None:
    assert personal_message_digest(message) == bytes(
        _hash_eip191_message(encode_defunct(primitive=message))
    )


def test_typed_data_digest_is_eth_accounts_and_refuses_garbage() -> None:
    digest = typed_data_digest(TYPED)
    assert digest == bytes(_hash_eip191_message(encode_typed_data(full_message=TYPED)))
    signature = SigningKey(DEV_KEY).sign_digest(digest)
    signed = Account.from_key(DEV_KEY).sign_message(encode_typed_data(full_message=TYPED))
    assert signature == bytes(signed.signature)
    for garbage in ({"types": 5}, {}, {**TYPED, "primaryType": "Nope"}):
        with pytest.raises(SignerInputError):
            typed_data_digest(garbage)
