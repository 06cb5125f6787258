"""walletconnect.crypto against key-agreement.json and message-hashes.json, plus properties."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from vectors import load

from walletconnect.crypto import (
    KeyPair,
    derive_sym_key,
    generate_keypair,
    hash_key,
    hash_message,
    public_key_of,
    random_sym_key,
    shared_secret,
)
from walletconnect.errors import CryptoError, InvalidKeyError

KA: list[dict[str, Any]] = load("key-agreement")["cases"]
MH: list[dict[str, Any]] = load("message-hashes")["cases"]
AGREEMENT = [c for c in KA if "self_private_key_hex" in c["inputs"]]


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [c.get("name", str(i)) for i, c in enumerate(cases)]


@pytest.mark.parametrize("case", AGREEMENT, ids=_ids(AGREEMENT))
def test_key_agreement_vector(case: dict[str, Any]) -> None:
    inp, der, out = case["inputs"], case["derived_inputs"], case["outputs"]
    me = generate_keypair(bytes.fromhex(inp["self_private_key_hex"]))
    peer = generate_keypair(bytes.fromhex(der["peer_private_key_hex"]))
    assert me.public_key_hex == der["self_public_key_hex"]
    assert peer.public_key_hex == inp["peer_public_key_hex"]
    shared = shared_secret(me.private_key, peer.public_key)
    assert shared.hex() == out["x25519_shared_secret_hex"]
    if "hkdf_extract_prk_hex" in out:  # salt "none" = HashLen zero bytes (RFC 5869)
        prk = hmac.new(bytes(32), shared, hashlib.sha256).hexdigest()
        assert prk == out["hkdf_extract_prk_hex"]
    sym = derive_sym_key(me.private_key, peer.public_key)
    assert sym.hex() == out["sym_key_hex"]
    assert (
        derive_sym_key(peer.private_key, me.public_key).hex() == out["sym_key_from_other_side_hex"]
    )
    assert hash_key(sym) == out["topic_hex"]


def test_pairing_topic_from_sym_key() -> None:
    (case,) = [c for c in KA if c["name"] == "pairing_topic_from_uri_symkey"]
    assert hash_key(bytes.fromhex(case["inputs"]["sym_key_hex"])) == case["outputs"]["topic_hex"]


def test_auth_response_topic_from_public_key() -> None:
    (case,) = [c for c in KA if c["name"] == "auth_response_topic_from_public_key"]
    key = bytes.fromhex(case["inputs"]["public_key_hex"])
    assert hash_key(key) == case["outputs"]["topic_hex"]


@pytest.mark.parametrize("case", MH, ids=_ids(MH))
def test_message_hash_vector(case: dict[str, Any]) -> None:
    inp, out = case["inputs"], case["outputs"]
    if "envelope_base64" in inp:
        assert hash_message(inp["envelope_base64"]) == out["sha256_hex"]
    elif "json" in inp:
        assert hash_message(inp["json"]) == out["sha256_hex"]
    elif "hashKey_bytes" in out:
        assert hash_key(bytes.fromhex(inp["s"])) == out["hashKey_bytes"]
        assert hash_message(inp["s"]) == out["hashMessage_utf8"]
    else:
        assert hash_message(inp["s"]) == out["sha256_hex"]


def test_random_keys_are_fresh_and_sized() -> None:
    a, b = generate_keypair(), generate_keypair()
    assert a.private_key != b.private_key
    assert len(a.public_key) == 32
    assert public_key_of(a.private_key) == a.public_key
    k1, k2 = random_sym_key(), random_sym_key()
    assert len(k1) == 32
    assert k1 != k2


def test_repr_hides_private_key() -> None:
    kp = generate_keypair(bytes(range(32)))
    assert kp.private_key.hex() not in repr(kp)
    assert kp.private_key_hex == bytes(range(32)).hex()
    assert isinstance(kp, KeyPair)


@pytest.mark.parametrize("bad", [b"", bytes(31), bytes(33)])
def test_wrong_key_lengths_raise_invalid_key(bad: bytes) -> None:
    with pytest.raises(InvalidKeyError):
        generate_keypair(bad)
    with pytest.raises(InvalidKeyError):
        derive_sym_key(bytes(32), bad)
    with pytest.raises(InvalidKeyError):
        shared_secret(bad, bytes(32))


def test_low_order_peer_key_is_a_crypto_error() -> None:
    with pytest.raises(CryptoError):
        derive_sym_key(bytes.fromhex("11" * 32), bytes(32))  # the all-zero point


@given(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32))
def test_key_agreement_is_symmetric(a: bytes, b: bytes) -> None:
    ka, kb = generate_keypair(a), generate_keypair(b)
    assert derive_sym_key(ka.private_key, kb.public_key) == derive_sym_key(
        kb.private_key, ka.public_key
    )
