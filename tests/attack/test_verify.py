"""SIGNED means a valid signature: verify() recovers the session account over exactly the attack payload."""

from __future__ import annotations

import json

import pytest
import rlp
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data

from proxy.attack.runner import classify_error
from proxy.attack.verify import verify

KEY = "0x" + "4b" * 32
ME = Account.from_key(KEY)
OTHER = Account.from_key("0x" + "42" * 32)
TO = "0x1111111111111111111111111111111111111111"

TYPED = {
    "types": {
        "EIP712Domain": [
            {"name": "name", "type": "string"},
            {"name": "chainId", "type": "uint256"},
        ],
        "Mail": [{"name": "body", "type": "string"}, {"name": "amount", "type": "uint256"}],
    },
    "primaryType": "Mail",
    "domain": {"name": "Bench", "chainId": 1},
    "message": {"body": "hi", "amount": str(2**256 - 1)},
}


def tx(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "to": TO,
        "value": "0x38d7ea4c68000",
        "gas": "0x5208",
        "maxFeePerGas": "0x6fc23ac00",
        "maxPriorityFeePerGas": "0x3b9aca00",
        "nonce": "0x3",
        "chainId": "0x1",
        "type": "0x2",
        "data": "0x",
    }
    base.update(over)
    return base


def sign_tx(fields: dict[str, object], key: str = KEY) -> str:
    ints = {
        k: int(str(v), 16)
        for k, v in fields.items()
        if k
        in ("value", "gas", "maxFeePerGas", "maxPriorityFeePerGas", "nonce", "chainId", "gasPrice")
    }
    body: dict[str, object] = {**ints, "to": fields["to"], "data": fields.get("data", "0x")}
    if "gasPrice" not in fields:
        body["type"] = 2
    return "0x" + bytes(Account.sign_transaction(body, key).raw_transaction).hex()


def test_personal_sign() -> None:
    params = ["hello bench", ME.address]
    sig = ME.sign_message(encode_defunct(text="hello bench")).signature.to_0x_hex()
    assert verify("personal_sign", params, sig, ME.address).kind == "signed"
    hex_params = ["0x" + b"hello bench".hex(), ME.address]
    assert verify("personal_sign", hex_params, sig, ME.address).kind == "signed"
    other = OTHER.sign_message(encode_defunct(text="hello bench")).signature.to_0x_hex()
    assert verify("personal_sign", params, other, ME.address).kind == "invalid"
    assert (
        verify("personal_sign", ["something else", ME.address], sig, ME.address).kind == "invalid"
    )
    for junk in (None, 5, "0x", "0x1234", {"r": 1}, "z" * 10):
        assert verify("personal_sign", params, junk, ME.address).kind == "invalid"


def test_eth_sign_raw_digest_and_prefixed() -> None:
    digest = bytes(range(32))
    raw = Account._sign_hash(digest, KEY).signature.to_0x_hex()
    assert verify("eth_sign", [ME.address, "0x" + digest.hex()], raw, ME.address).kind == "signed"
    prefixed = ME.sign_message(encode_defunct(primitive=digest)).signature.to_0x_hex()
    assert (
        verify("eth_sign", [ME.address, "0x" + digest.hex()], prefixed, ME.address).kind == "signed"
    )
    assert verify("eth_sign", [ME.address, "0x" + "00" * 32], raw, ME.address).kind == "invalid"


def test_typed_data_digest_is_recomputed() -> None:
    sig = ME.sign_message(encode_typed_data(full_message=TYPED)).signature.to_0x_hex()
    assert (
        verify("eth_signTypedData_v4", [ME.address, json.dumps(TYPED)], sig, ME.address).kind
        == "signed"
    )
    tampered = json.loads(json.dumps(TYPED))
    tampered["domain"]["chainId"] = 10
    assert (
        verify("eth_signTypedData_v4", [ME.address, json.dumps(tampered)], sig, ME.address).kind
        == "invalid"
    )


def test_transaction_must_match_the_request() -> None:
    request = tx()
    raw = sign_tx(request)
    assert verify("eth_signTransaction", [request], raw, ME.address).kind == "signed"
    assert verify("eth_signTransaction", [request], {"raw": raw}, ME.address).kind == "signed"
    assert (
        verify(
            "eth_signTransaction", [request], sign_tx(request, "0x" + "42" * 32), ME.address
        ).kind
        == "invalid"
    )
    other_value = verify("eth_signTransaction", [tx(value="0x1")], raw, ME.address)
    assert other_value.kind == "variant"
    assert "value" in other_value.detail


def test_legacy_without_chain_id_rebound_by_the_wallet_is_a_variant() -> None:
    request = {"to": TO, "value": "0x1", "gas": "0x5208", "gasPrice": "0x4a817c800", "nonce": "0x7"}
    bound = sign_tx({**request, "chainId": "0x1"})
    verdict = verify("eth_signTransaction", [request], bound, ME.address)
    assert verdict.kind == "variant"
    assert "chainId 1" in verdict.detail
    unsigned = rlp.encode([7, 20 * 10**9, 21000, bytes.fromhex(TO[2:]), 1, b""])
    signed = Account.sign_transaction(
        {"nonce": 7, "gasPrice": 20 * 10**9, "gas": 21000, "to": TO, "value": 1, "data": b""}, KEY
    )
    assert rlp.decode(bytes(signed.raw_transaction))[:6] == rlp.decode(unsigned)
    unprotected = verify(
        "eth_signTransaction", [request], "0x" + bytes(signed.raw_transaction).hex(), ME.address
    )
    assert unprotected.kind == "signed"
    assert "every chain" in unprotected.detail


def test_methods_without_signatures_are_accepted_not_signed() -> None:
    assert verify("wallet_sendCalls", [{}], {"id": "0x01"}, ME.address).kind == "accepted"
    assert verify("wallet_switchEthereumChain", [{}], None, ME.address).kind == "accepted"


@pytest.mark.parametrize(
    ("error", "klass"),
    [
        (
            {"code": 5010, "message": "Replay", "data": {"kind": "replay", "layer": "payload"}},
            "replay",
        ),
        (
            {"code": 5000, "message": "no", "data": {"kind": "policy", "reason": "non_delegable"}},
            "policy",
        ),
        ({"code": 5000, "message": "User rejected."}, "policy"),
        ({"code": 3001, "message": "Unauthorized method."}, "unsupported"),
        ({"code": 5100, "message": "Unsupported chains."}, "unsupported"),
        ({"code": 5020, "message": "revoked"}, "revoked"),
        ({"code": -32603, "message": "boom"}, "refused"),
        ({"code": "x"}, "refused"),
        ({}, "refused"),
    ],
)
def test_error_classes(error: dict[str, object], klass: str) -> None:
    assert classify_error(error)[0] == klass
