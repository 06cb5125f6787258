from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.errors import SignerInputError, SignerMismatchError
from proxy.signers.base import decode_signed_transaction, normalize_signature, normalize_transaction

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.binary(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
tx_keys = st.sampled_from(
    [
        "from",
        "to",
        "value",
        "data",
        "input",
        "gas",
        "gasLimit",
        "nonce",
        "gasPrice",
        "maxFeePerGas",
        "maxPriorityFeePerGas",
        "chainId",
        "type",
        "accessList",
    ]
)


@settings(max_examples=200)
@given(
    st.dictionaries(tx_keys, json_values | st.sampled_from(["0x1", "0x", "0xzz", "0x" + "ab" * 20]))
)
def test_normalize_transaction_raises_only_signer_input_error(tx: dict[str, Any]) -> None:
    try:
        sender, fields = normalize_transaction(tx, 1)
    except SignerInputError:
        return
    assert sender.startswith("0x")
    assert fields.chain_id == 1
    assert fields.type in (0, 1, 2)


@settings(max_examples=200)
@given(
    st.binary(max_size=300)
    | st.binary(max_size=60).map(lambda b: b"\x02" + b)
    | st.binary(max_size=60).map(lambda b: b"\xf8" + b)
)
def test_decode_signed_transaction_raises_only_mismatch(raw: bytes) -> None:
    with pytest.raises(SignerMismatchError):
        decode_signed_transaction(raw)


@settings(max_examples=100)
@given(st.binary(max_size=70) | st.text(max_size=140))
def test_normalize_signature_raises_only_mismatch(sig: bytes | str) -> None:
    try:
        out = normalize_signature(sig)
    except SignerMismatchError:
        return
    assert len(out) == 65
    assert out[-1] in (27, 28)
