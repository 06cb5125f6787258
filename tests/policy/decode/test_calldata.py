"""Calldata decoding: never-delegable selectors (direct and wrapped), token ambiguity, swaps, wrappers, limits."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from typing import Any

import pytest
from builders import (
    ALICE,
    BOB,
    DAI,
    MULTISEND_CALL_ONLY,
    NFT,
    PERMIT2,
    SAFE,
    SWAP_ROUTER02,
    UNIVERSAL_ROUTER,
    USDC,
    WETH,
    calldata,
    erc7579_batch,
    erc7579_single,
    json_tx,
    multisend,
    plausible_args,
    req,
    safe_exec,
    tx_request,
    ur_execute,
    v3_path,
)
from eth_abi.abi import encode

from policy.actions import Action, ActionClass, NonceKind
from policy.decode import decode
from policy.decode.limits import DecodeLimits
from policy.errors import DecodeError
from policy.tokens import TokenInfo, TokenList

A = ActionClass
MAX = 2**256 - 1
TARGET = "0x" + "7a" * 20
TOKENS = TokenList([TokenInfo(1, USDC, "USDC", 6), TokenInfo(1, NFT, "BAYC", 0, "erc721")])
ROWS: list[dict[str, Any]] = json.loads(
    resources.files("policy").joinpath("data/selectors.json").read_text(encoding="utf-8")
)
NEVER = [r for r in ROWS if r["delegable"] == "never"]
CATEGORY_CLASS = {
    "upgrade": A.ADMIN_UPGRADE,
    "authority": A.ADMIN_AUTHORITY,
    "treasury": A.ADMIN_TREASURY,
    "admin": A.ADMIN_CONTROL,
}
#: never-selectors whose class comes from their arguments, not their category
ARG_AWARE = {
    "0xa22cb465": A.NFT_APPROVE_ALL,
    "0x33211c30": A.AUTHORITY_GRANT,
    "0x8fcbaf0c": A.ERC20_APPROVE,
}


def send(
    to: str | None, data: bytes, *, value: int = 0, frm: str = ALICE, chain: int = 1
) -> Action:
    fields: dict[str, Any] = {"frm": frm, "chain_id": chain, "data": data, "value": value}
    if to is not None:
        fields["to"] = to
    return decode(tx_request(json_tx(**fields)), tokens=TOKENS)


def never_calldata(row: dict[str, Any]) -> bytes:
    return calldata(row["signature"], *plausible_args(row["signature"]))


def expected_class(row: dict[str, Any]) -> ActionClass:
    return ARG_AWARE.get(row["selector"], CATEGORY_CLASS.get(row["category"], A.ADMIN_AUTHORITY))


def assert_never(action: Action, row: dict[str, Any], path_fragment: str) -> None:
    assert expected_class(row) in action.classes, row["name"]
    reasons = [r for r in action.non_delegable if row["selector"] in r]
    assert reasons, (row["name"], action.non_delegable)
    assert any(path_fragment in r for r in reasons), (path_fragment, reasons)


def test_selector_table_has_never_rows() -> None:
    assert len(NEVER) >= 60


@pytest.mark.parametrize("row", NEVER, ids=[r["name"] for r in NEVER])
def test_never_selector_direct(row: dict[str, Any]) -> None:
    action = send(TARGET, never_calldata(row))
    assert_never(action, row, "at tx ")
    assert action.action_class in (
        {expected_class(row)} | {A.ADMIN_UPGRADE, A.ADMIN_AUTHORITY, A.AUTHORITY_GRANT}
    )


WRAPS: dict[str, Callable[[bytes], Action]] = {
    "safe_exec": lambda inner: send(SAFE, safe_exec(TARGET, inner)),
    "multisend": lambda inner: send(
        SAFE,
        safe_exec(
            MULTISEND_CALL_ONLY,
            calldata("multiSend(bytes)", multisend([(0, TARGET, 0, inner)])),
            operation=1,
        ),
    ),
    "erc7579_single": lambda inner: send(SAFE, erc7579_single(TARGET, inner)),
    "erc7579_batch": lambda inner: send(ALICE, erc7579_batch([(BOB, 1, b""), (TARGET, 0, inner)])),
    "multicall": lambda inner: send(TARGET, calldata("multicall(bytes[])", [inner])),
    "multicall_deadline": lambda inner: send(
        SWAP_ROUTER02, calldata("multicall(uint256,bytes[])", 1, [inner])
    ),
    "simple_account_batch": lambda inner: send(
        ALICE, calldata("executeBatch(address[],uint256[],bytes[])", [TARGET], [], [inner])
    ),
    "send_calls": lambda inner: decode(
        req(
            "wallet_sendCalls",
            [
                {
                    "from": ALICE,
                    "chainId": "0x1",
                    "calls": [
                        {"to": BOB, "value": "0x1"},
                        {"to": TARGET, "data": "0x" + inner.hex()},
                    ],
                }
            ],
        )
    ),
}
PATHS = {
    "safe_exec": "tx>execTransaction",
    "multisend": "tx>execTransaction>multiSend[0]",
    "erc7579_single": "tx>execute",
    "erc7579_batch": "tx>execute[1]",
    "multicall": "tx>multicall[0]",
    "multicall_deadline": "tx>multicall[0]",
    "simple_account_batch": "tx>executeBatch[0]",
    "send_calls": "calls[1]",
}


@pytest.mark.parametrize("wrapper", sorted(WRAPS))
@pytest.mark.parametrize("row", NEVER, ids=[r["name"] for r in NEVER])
def test_never_selector_wrapped(row: dict[str, Any], wrapper: str) -> None:
    inner = never_calldata(row)
    action = WRAPS[wrapper](inner)
    assert_never(action, row, PATHS[wrapper])


def test_wrapped_twice_is_still_found() -> None:
    inner = calldata("transferOwnership(address)", BOB)
    action = send(
        SAFE, safe_exec(ALICE, erc7579_single(TARGET, calldata("multicall(bytes[])", [inner])))
    )
    assert any("tx>execTransaction>execute>multicall[0]" in r for r in action.non_delegable)


# --- argument-level meaning ----------------------------------------------------------------


def test_set_approval_for_all_false_is_narrow() -> None:
    action = send(NFT, calldata("setApprovalForAll(address,bool)", BOB, False))
    assert action.classes == {A.NFT_APPROVE}
    assert not action.non_delegable


def test_erc20_erc721_ambiguity() -> None:
    unknown = "0x" + "99" * 20
    # known ERC-20: one class, ERC-20 meaning
    a = send(USDC, calldata("approve(address,uint256)", BOB, 5))
    assert a.classes == {A.ERC20_APPROVE}
    assert a.approvals[0].amount == 5
    # known ERC-721: token id, not an amount
    n = send(NFT, calldata("approve(address,uint256)", BOB, 5))
    assert n.classes == {A.NFT_APPROVE}
    assert (n.approvals[0].amount, n.approvals[0].token_id) == (1, 5)
    # unknown token: both classes, ERC-20 exposure, flagged
    u = send(unknown, calldata("approve(address,uint256)", BOB, MAX))
    assert u.classes == {A.ERC20_APPROVE, A.NFT_APPROVE}
    assert u.approvals[0].amount is None
    assert u.non_delegable
    assert any(k == "ambiguous_token_standard" for k, _ in u.details)
    # unknown token, zero spender: an ERC-721 approval reset
    z = send(unknown, calldata("approve(address,uint256)", "0x" + "00" * 20, 5))
    assert z.classes == {A.NFT_APPROVE}
    assert not z.approvals
    # transferFrom on an unknown token: both readings recorded as outflows
    t = send(unknown, calldata("transferFrom(address,address,uint256)", ALICE, BOB, 9))
    assert t.classes == {A.ERC20_TRANSFER, A.NFT_TRANSFER}
    assert {(x.amount, x.token_id) for x in t.token_amounts} == {(9, None), (1, 9)}
    nft = send(NFT, calldata("transferFrom(address,address,uint256)", ALICE, BOB, 9))
    assert nft.classes == {A.NFT_TRANSFER}


def test_selector_collision_off_allowlist_is_contract_call() -> None:
    # Permit2.approve selector on a random contract is not a Permit2 approval
    data = calldata("approve(address,address,uint160,uint48)", USDC, BOB, 5, 0)
    assert send(TARGET, data).classes == {A.CONTRACT_CALL}
    on_permit2 = send(PERMIT2, data)
    assert on_permit2.classes == {A.ERC20_APPROVE}
    assert on_permit2.approvals[0].spender == BOB
    # a swap selector on a non-router target is a plain contract call with the target as destination
    swap = calldata(
        "exactInputSingle((address,address,uint24,address,uint256,uint256,uint160))",
        (USDC, WETH, 500, BOB, 10, 1, 0),
    )
    off = send(TARGET, swap)
    assert off.classes == {A.CONTRACT_CALL}
    assert TARGET in off.destinations


def test_unknown_selector_and_self_call() -> None:
    data = bytes.fromhex("deadbeef") + encode(["uint256"], [1])
    u = send(TARGET, data)
    assert u.classes == {A.CONTRACT_CALL}
    assert u.calls[0].selector == "0xdeadbeef"
    assert u.destinations == {TARGET}
    s = send(ALICE, data)
    assert s.action_class is A.ADMIN_AUTHORITY
    assert any("self-call" in r for r in s.non_delegable)


def test_empty_data_native_and_short_data() -> None:
    assert send(BOB, b"", value=3).classes == {A.NATIVE_TRANSFER}
    with pytest.raises(DecodeError) as exc:
        send(BOB, b"\x01\x02")
    assert exc.value.reason == "bad_calldata"


def test_noncanonical_abi_is_refused() -> None:
    data = calldata("transfer(address,uint256)", BOB, 1) + b"\x00" * 32
    with pytest.raises(DecodeError) as exc:
        send(USDC, data)
    assert exc.value.reason == "abi_noncanonical"


# --- swaps -----------------------------------------------------------------------------------


def test_swap_router02_multicall() -> None:
    inner = calldata(
        "exactInputSingle((address,address,uint24,address,uint256,uint256,uint160))",
        (USDC, WETH, 500, "0x" + "00" * 19 + "01", 10**6, 5, 0),
    )
    unwrap = calldata("unwrapWETH9(uint256,address)", 5, BOB)
    action = send(
        SWAP_ROUTER02, calldata("multicall(uint256,bytes[])", 1_700_000_100, [inner, unwrap])
    )
    assert action.classes == {A.SWAP_EXECUTE}
    assert 1_700_000_100 in action.deadlines
    assert action.token_amounts[0].token == USDC
    assert action.token_amounts[0].amount == 10**6
    assert ALICE in action.destinations  # address(1) = msg.sender
    assert BOB in action.destinations
    assert action.inflows[0].token == WETH


def test_universal_router_commands() -> None:
    permit = ((USDC, 10**6, 1_800_000_000, 0), UNIVERSAL_ROUTER, 1_700_000_500)
    data = ur_execute(
        [
            (
                0x0A,
                ["((address,uint160,uint48,uint48),address,uint256)", "bytes"],
                [permit, b"\x01" * 65],
            ),
            (
                0x00,
                ["address", "uint256", "uint256", "bytes", "bool"],
                ["0x" + "00" * 19 + "01", 10**6, 1, v3_path(USDC, 500, WETH), True],
            ),
            (0x0C, ["address", "uint256"], [BOB, 0]),
        ]
    )
    action = send(UNIVERSAL_ROUTER, data)
    assert action.classes == {A.SWAP_EXECUTE, A.ERC20_APPROVE}
    assert [c.function for c in action.calls[1:]] == [
        "UniversalRouter.PERMIT2_PERMIT",
        "UniversalRouter.V3_SWAP_EXACT_IN",
        "UniversalRouter.UNWRAP_WETH",
    ]
    assert any(n.kind is NonceKind.PERMIT2_ORDERED for n in action.nonces)
    assert {ALICE, BOB, UNIVERSAL_ROUTER} <= action.destinations
    with pytest.raises(DecodeError) as exc:
        send(UNIVERSAL_ROUTER, ur_execute([(0x10, ["bytes"], [b"\x00"])]))
    assert exc.value.reason == "unknown_uni_command"


def test_v2_swap_eth_in_counts_value_once() -> None:
    data = calldata(
        "swapExactETHForTokens(uint256,address[],address,uint256)",
        1,
        [WETH, USDC],
        ALICE,
        1_700_000_000,
    )
    action = send("0x7a250d5630b4cf539739df2c5dacb4c659f2488d", data, value=10**17)
    assert action.classes == {A.SWAP_EXECUTE}
    assert action.native_value == 10**17
    assert not action.token_amounts


# --- wrappers and limits -----------------------------------------------------------------------


def test_erc7579_delegatecall_is_never_delegable() -> None:
    action = send(ALICE, erc7579_single(BOB, b"", call_type=0xFF))
    assert any("delegatecall to non-allowlisted" in r for r in action.non_delegable)


def test_safe_operation_out_of_range() -> None:
    with pytest.raises(DecodeError) as exc:
        send(SAFE, safe_exec(BOB, b"", operation=2))
    assert exc.value.reason == "bad_operation"


def test_depth_and_call_limits() -> None:
    inner = calldata("transfer(address,uint256)", BOB, 1)
    for _ in range(8):
        inner = calldata("multicall(bytes[])", [inner])
    with pytest.raises(DecodeError) as exc:
        send(TARGET, inner)
    assert exc.value.reason == "depth_exceeded"
    many = calldata("multicall(bytes[])", [calldata("transfer(address,uint256)", BOB, 1)] * 20)
    with pytest.raises(DecodeError) as exc:
        decode(
            tx_request(json_tx(frm=ALICE, to=USDC, data=many, chain_id=1)),
            limits=DecodeLimits(max_calls=10),
        )
    assert exc.value.reason == "too_large"


def test_multisend_truncated() -> None:
    blob = multisend([(0, BOB, 0, b"\x01\x02\x03\x04")])[:-1]
    with pytest.raises(DecodeError) as exc:
        send(MULTISEND_CALL_ONLY, calldata("multiSend(bytes)", blob))
    assert exc.value.reason == "bad_multisend"


V2_ROUTER = "0x7a250d5630b4cf539739df2c5dacb4c659f2488d"


@pytest.mark.parametrize(
    ("signature", "args", "value", "spent", "guaranteed"),
    [
        (
            "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)",
            (100, 7),
            0,
            100,
            7,
        ),
        (
            "swapTokensForExactTokens(uint256,uint256,address[],address,uint256)",
            (7, 100),
            0,
            100,
            7,
        ),
        ("swapExactETHForTokens(uint256,address[],address,uint256)", (7,), 100, None, 7),
        ("swapETHForExactTokens(uint256,address[],address,uint256)", (7,), 100, None, 7),
    ],
)
def test_v2_swaps_read_input_and_guaranteed_output_by_shape(
    signature: str, args: tuple[int, ...], value: int, spent: int | None, guaranteed: int
) -> None:
    """Exact-in is (amountIn, amountOutMin), exact-out (amountOut, amountInMax); ETH-in pays with value."""
    token_in = WETH if value else USDC
    data = calldata(signature, *args, [token_in, DAI], ALICE, 1_700_000_000)
    action = send(V2_ROUTER, data, value=value)
    assert action.classes == {A.SWAP_EXECUTE}
    if spent is None:
        assert action.native_value == value
        assert not action.token_amounts
    else:
        assert [(t.token, t.amount) for t in action.token_amounts] == [(USDC.lower(), spent)]
    assert [(t.token, t.amount) for t in action.inflows] == [(DAI.lower(), guaranteed)]
