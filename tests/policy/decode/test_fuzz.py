"""Property tests: hostile calldata, typed data and JSON params raise only DecodeError; chain ids are collected."""

from __future__ import annotations

import copy
import json
from typing import Any

from builders import (
    ALICE,
    ALICE_KEY,
    BOB,
    PERMIT2,
    SAFE,
    SEAPORT,
    SEAPORT_DOMAIN,
    SWAP_ROUTER02,
    UNIVERSAL_ROUTER,
    USDC,
    eip712,
    json_tx,
    permit2_single,
    permit_2612,
    req,
    safe_tx,
    seaport_order,
    seaport_types,
    siwe_text,
    tx_request,
    typed_request,
)
from eth_account import Account
from eth_utils.address import to_checksum_address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy.actions import Action
from policy.decode import METHODS, decode
from policy.decode.calldata import HANDLERS, TABLE
from policy.errors import DecodeError

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SELECTORS = sorted(set(HANDLERS) | set(TABLE))
TARGETS = [USDC, PERMIT2, SEAPORT, SWAP_ROUTER02, UNIVERSAL_ROUTER, SAFE, ALICE, "0x" + "7a" * 20]


def decode_or_reject(request: Any) -> Action | None:
    try:
        return decode(request)
    except DecodeError as exc:
        # "undecodable" is the boundary's safety net for foreign exceptions: hitting it means a
        # decoder let a KeyError/TypeError/... through, which is a bug even if it fails closed.
        assert exc.reason != "undecodable", exc.detail  # noqa: PT017
        return None


words = st.one_of(
    st.integers(0, 2**256 - 1),
    st.sampled_from([0, 1, 32, 64, 96, 2**255, 2**256 - 1]),
).map(lambda n: n.to_bytes(32, "big"))


@SETTINGS
@given(
    selector=st.sampled_from(SELECTORS),
    body=st.lists(words, max_size=12).map(b"".join),
    tail=st.binary(max_size=40),
    target=st.sampled_from(TARGETS),
)
def test_random_calldata_only_decode_error(
    selector: bytes, body: bytes, tail: bytes, target: str
) -> None:
    tx = json_tx(frm=ALICE, to=target, chain_id=1, data=selector + body + tail)
    decode_or_reject(tx_request(tx))


@SETTINGS
@given(
    data=st.binary(max_size=300), target=st.sampled_from(TARGETS), value=st.integers(0, 2**256 - 1)
)
def test_random_bytes_only_decode_error(data: bytes, target: str, value: int) -> None:
    decode_or_reject(tx_request(json_tx(frm=ALICE, to=target, chain_id=1, data=data, value=value)))
    decode_or_reject(req("eth_signTransaction", ["0x" + data.hex()]))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**300), 2**300)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["0x", "0x00", "0x" + "11" * 20, "0x" + "ff" * 32, "1e3", ALICE, "-1"]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@SETTINGS
@given(method=st.sampled_from(sorted(METHODS)), params=json_values)
def test_random_params_only_decode_error(method: str, params: Any) -> None:
    decode_or_reject(req(method, params))
    decode_or_reject(req(method, [params]))
    decode_or_reject(req(method, [ALICE, params]))


BASES = [
    permit_2612(value=5),
    permit2_single(amount=5),
    eip712("OrderComponents", seaport_types(), SEAPORT_DOMAIN, seaport_order()),
    safe_tx(BOB, b"\xa9\x05\x9c\xbb"),
]


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


@SETTINGS
@given(base=st.sampled_from(range(len(BASES))), pick=st.integers(0, 10_000), value=json_values)
def test_mutated_typed_data_only_decode_error(base: int, pick: int, value: Any) -> None:
    full = copy.deepcopy(BASES[base])
    paths = _paths(full)[1:]
    path = paths[pick % len(paths)]
    node = full
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    decode_or_reject(typed_request(full))
    decode_or_reject(req("eth_signTypedData_v4", [ALICE, json.dumps(full)[: pick % 400]]))


@SETTINGS
@given(text=st.text(max_size=200), hexmode=st.booleans())
def test_random_messages_only_decode_error(text: str, hexmode: bool) -> None:
    msg = "0x" + text.encode("utf-8", "surrogatepass").hex() if hexmode else text
    decode_or_reject(req("personal_sign", [msg, ALICE]))
    decode_or_reject(req("personal_sign", [siwe_text()[: len(text)] + text, ALICE]))


chains = st.integers(1, 2**32)


@settings(max_examples=40, deadline=None)
@given(
    tx_chain=chains,
    auth_chain=st.integers(0, 2**32),
    domain_chain=chains,
    siwe_chain=chains,
    batch_chain=chains,
)
def test_chain_ids_are_collected_everywhere(
    tx_chain: int, auth_chain: int, domain_chain: int, siwe_chain: int, batch_chain: int
) -> None:
    acct = Account.from_key(ALICE_KEY)
    auth = acct.sign_authorization(
        {"chainId": auth_chain, "address": to_checksum_address(BOB), "nonce": 1}
    )
    tx = json_tx(
        frm=ALICE,
        to=ALICE,
        nonce=1,
        gas=50000,
        max_fee=2,
        max_priority=1,
        chain_id=tx_chain,
        authorizationList=[
            {
                "chainId": hex(auth_chain),
                "address": BOB,
                "nonce": "0x1",
                "yParity": hex(auth.y_parity),
                "r": hex(auth.r),
                "s": hex(auth.s),
            }
        ],
    )
    assert decode(tx_request(tx)).chain_ids == {tx_chain, auth_chain}
    assert decode(typed_request(permit_2612(value=1, chain_id=domain_chain))).chain_ids == {
        domain_chain
    }
    siwe = decode(req("personal_sign", [siwe_text(chain_id=siwe_chain), ALICE]))
    assert siwe.chain_ids == {siwe_chain}
    batch = {"from": ALICE, "chainId": hex(batch_chain), "calls": [{"to": BOB, "value": "0x1"}]}
    assert decode(req("wallet_sendCalls", [batch])).chain_ids == {batch_chain}
    switch = decode(req("wallet_switchEthereumChain", [{"chainId": hex(batch_chain)}]))
    assert switch.chain_ids == {batch_chain}
    grant = decode(req("wallet_grantPermissions", [{"chainId": hex(siwe_chain), "expiry": 1}]))
    assert grant.chain_ids == {siwe_chain}
