"""proxy.signing.sign_request: the digest the policy judged is the one handed down and verified.

(Lives beside the signer tests because it tests the signer interface's digest hand-off.)
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data

from policy.decode import decode
from policy.request import SigningRequest
from proxy.errors import SignerMismatchError
from proxy.signers.base import SignedTransaction, VerifyingSigner
from proxy.signers.keystore import DEV_ADDRESS, DevSigner
from proxy.signing import sign_request

TYPED: dict[str, Any] = {
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


class Recording(DevSigner):
    """The dev key, remembering what it was asked to sign."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, Any, bytes]] = []

    async def sign_message(self, account: str, message: bytes, digest: bytes) -> str:
        self.calls.append(("message", message, digest))
        return await super().sign_message(account, message, digest)

    async def sign_typed_data(
        self, account: str, typed_data: Mapping[str, Any], digest: bytes
    ) -> str:
        self.calls.append(("typed", typed_data, digest))
        return await super().sign_typed_data(account, typed_data, digest)

    async def sign_transaction(self, tx: Mapping[str, Any], chain_id: int) -> SignedTransaction:
        raise AssertionError("not used here")


def request(method: str, params: Any) -> SigningRequest:
    return SigningRequest(method=method, params=params, chain_id=1, account=DEV_ADDRESS)


async def test_personal_sign_hands_down_the_judged_digest() -> None:
    inner = Recording()
    req = request("personal_sign", ["0x" + b"hello".hex(), DEV_ADDRESS])
    action = decode(req)
    sig = await sign_request(req, action, VerifyingSigner(inner))
    assert inner.calls == [("message", b"hello", bytes.fromhex(action.payload_hash[2:]))]
    assert Account.recover_message(encode_defunct(b"hello"), signature=sig).lower() == DEV_ADDRESS


@pytest.mark.parametrize("as_json", [True, False])
async def test_typed_data_hands_down_the_judged_digest(as_json: bool) -> None:
    inner = Recording()
    data: Any = json.dumps(TYPED) if as_json else TYPED
    req = request("eth_signTypedData_v4", [DEV_ADDRESS, data])
    action = decode(req)
    sig = await sign_request(req, action, VerifyingSigner(inner))
    assert [(kind, digest) for kind, _, digest in inner.calls] == [
        ("typed", bytes.fromhex(action.payload_hash[2:]))
    ]
    signable = encode_typed_data(full_message=TYPED)
    assert Account.recover_message(signable, signature=sig).lower() == DEV_ADDRESS


async def test_a_payload_other_than_the_judged_one_is_never_signed() -> None:
    inner = Recording()
    judged = decode(request("personal_sign", ["0x" + b"judged".hex(), DEV_ADDRESS]))
    other = request("personal_sign", ["0x" + b"other".hex(), DEV_ADDRESS])
    with pytest.raises(SignerMismatchError):
        await sign_request(other, judged, VerifyingSigner(inner))
    typed = request("eth_signTypedData_v4", [DEV_ADDRESS, TYPED])
    tampered = dataclasses.replace(decode(typed), payload_hash="0x" + "00" * 32)
    with pytest.raises(SignerMismatchError):
        await sign_request(typed, tampered, VerifyingSigner(inner))
    assert inner.calls == []
