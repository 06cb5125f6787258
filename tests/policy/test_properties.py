"""Property tests of the decision engine: narrowing never allows more; foreign chains always denied.

And every never-delegable selector of selectors.json, encoded with eth-abi, is denied through decide()
even by an envelope listing every class and destination: directly, inside multicall, inside
wallet_sendCalls.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from engine_builders import (
    ACCOUNT,
    DAI,
    NOW,
    RECIPIENT,
    ROUTER,
    STRANGER,
    USDC,
    WETH,
    calldata,
    default_args,
    pricer,
    request,
    send,
    tx,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from policy.actions import Action, ActionClass, Approval, Call, TokenAmount
from policy.budget import EnvelopeUsage
from policy.decode.abi import split_signature
from policy.engine import decide, evaluate
from policy.envelope import load_envelope
from policy.errors import DenyReason
from policy.request import SigningRequest

OTHER = "0x2222222222222222222222222222222222222222"
UNKNOWN = "0x7777777777777777777777777777777777777777"
ADDRESSES = [RECIPIENT, USDC, WETH, DAI, ROUTER, OTHER, ACCOUNT]
TOKENS = [USDC, USDC, WETH, DAI, DAI, WETH, UNKNOWN]
FUNCTIONS = [
    ("0xa9059cbb", "transfer(address,uint256)"),
    ("0x095ea7b3", "approve(address,uint256)"),
    ("0x04e45aaf", "exactInputSingle((address,address,uint24,address,uint256,uint256,uint160))"),
    (None, None),
]
PRICES = pricer()
CAPS = [0, 1, 20, 60, 100, 300, 1000, 10**6]

amounts = st.sampled_from([0, 1, 10**6, 5 * 10**7, 2 * 10**8, 10**18, 10**21])
classes = st.sampled_from(list(ActionClass))


@st.composite
def calls(draw: st.DrawFn) -> Call:
    selector, function = draw(st.sampled_from(FUNCTIONS))
    args = ()
    if function is not None:
        args = (("to", draw(st.sampled_from(ADDRESSES))), ("amount", str(draw(amounts))))
    return Call(
        chain_id=draw(st.sampled_from([1, 1, 1, 10])),
        target=draw(st.sampled_from(ADDRESSES)),
        value=0,
        selector=selector,
        function=function,
        action_class=draw(classes),
        args=args,
        depth=draw(st.integers(0, 2)),
    )


@st.composite
def actions(draw: st.DrawFn, chain_ids: st.SearchStrategy[frozenset[int]] | None = None) -> Action:
    main = draw(classes)
    token_amounts = draw(
        st.lists(st.builds(TokenAmount, st.just(1), st.sampled_from(TOKENS), amounts), max_size=2)
    )
    approvals = draw(
        st.lists(
            st.builds(
                Approval,
                st.just(1),
                st.sampled_from(TOKENS),
                st.sampled_from(ADDRESSES),
                st.one_of(amounts, amounts, st.none()),
                st.booleans(),
                st.one_of(st.none(), st.integers(NOW - 10, NOW + 8000)),
            ),
            max_size=2,
        )
    )
    typed = draw(
        st.one_of(
            st.none(), st.tuples(st.sampled_from(ADDRESSES), st.sampled_from(["Permit", "Order"]))
        )
    )
    return Action(
        method="eth_sendTransaction",
        action_class=main,
        classes=frozenset({main, *draw(st.lists(classes, max_size=2))}),
        payload_hash="0x",
        chain_ids=draw(
            chain_ids
            if chain_ids is not None
            else st.frozensets(st.sampled_from([0, 1, 1, 10]), max_size=2)
        ),
        chain_unbound=draw(st.booleans()),
        accounts=draw(st.frozensets(st.sampled_from([ACCOUNT, ACCOUNT, OTHER]), max_size=1)),
        destinations=draw(st.frozensets(st.sampled_from(ADDRESSES), max_size=3)),
        native_value=draw(st.sampled_from([0, 0, 10**15, 10**17])),
        token_amounts=tuple(token_amounts),
        approvals=tuple(approvals),
        deadlines=tuple(draw(st.lists(st.integers(NOW - 10, NOW + 8000), max_size=2))),
        calls=tuple(draw(st.lists(calls(), max_size=3))),
        non_delegable=tuple(draw(st.lists(st.just("flagged by the decoder"), max_size=1))),
        domain=draw(st.sampled_from([None, "app.example.com", "evil.example"])),
        typed_data=typed,
        expires_at=draw(st.one_of(st.none(), st.integers(NOW, NOW + 8000))),
    )


def _subset(draw: st.DrawFn, items: list[Any]) -> list[Any]:
    return [x for x in items if draw(st.booleans())]


def _lower(draw: st.DrawFn, value: int | None, floor: int = 0) -> int:
    if value is None:
        return draw(st.sampled_from([c for c in CAPS if c >= floor]))
    return draw(st.sampled_from([c for c in CAPS if floor <= c <= value] or [value]))


@st.composite
def envelope_pairs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A wide envelope and a narrowing of it (fewer grants, lower caps, tighter times)."""
    caps = draw(st.lists(st.sampled_from([c.value for c in ActionClass]), min_size=1, unique=True))
    dests = draw(st.lists(st.sampled_from(ADDRESSES), unique=True))
    expires = draw(st.integers(NOW - 100, NOW + 7200))
    opt = st.one_of(st.none(), st.sampled_from(CAPS))
    wide: dict[str, Any] = {
        "sessionKey": "k",
        "capabilities": caps,
        "maxValueUsd": draw(st.sampled_from(CAPS)),
        "allowedDestinations": dests,
        "chainId": 1,
        "expiresAt": expires,
    }
    for key, value in {
        "notBefore": draw(
            st.one_of(st.none(), st.integers(NOW - 200, min(NOW + 100, expires - 1)))
        ),
        "budgetUsd": draw(opt),
        "maxCalls": draw(st.one_of(st.none(), st.integers(0, 5))),
        "maxApprovalUsd": draw(opt),
        "maxDeadlineSeconds": draw(st.one_of(st.none(), st.integers(1, 9000))),
    }.items():
        if value is not None:
            wide[key] = value
    if draw(st.booleans()):
        wide["typedDataDomains"] = [
            {"verifyingContract": a, "primaryType": p}
            for a in draw(st.lists(st.sampled_from(ADDRESSES), max_size=2, unique=True))
            for p in ("Permit", "Order")
        ]
    rules: dict[str, Any] = {}
    for token in draw(st.lists(st.sampled_from(ADDRESSES), max_size=2, unique=True)):
        rule: dict[str, Any] = {}
        if draw(st.booleans()):
            rule["selectors"] = _subset(draw, [f for _, f in FUNCTIONS if f])
        if draw(st.booleans()):
            rule["args"] = {"to": _subset(draw, ADDRESSES)}
        if draw(st.booleans()):
            rule["maxAmount"] = draw(amounts)
        rules[token] = rule
    if rules:
        wide["destinationRules"] = rules

    narrow = dict(wide)
    narrow["capabilities"] = _subset(draw, caps)
    narrow["allowedDestinations"] = _subset(draw, dests)
    narrow["maxValueUsd"] = draw(st.sampled_from([c for c in CAPS if c <= wide["maxValueUsd"]]))
    narrow["expiresAt"] = draw(st.integers(NOW - 150, expires))
    nb = wide.get("notBefore")
    if nb is not None or draw(st.booleans()):
        lo = NOW - 300 if nb is None else nb
        narrow["notBefore"] = draw(st.integers(lo, max(lo, NOW + 100)))
    for key in ("budgetUsd", "maxCalls", "maxApprovalUsd", "maxDeadlineSeconds"):
        if key in wide or draw(st.booleans()):
            narrow[key] = _lower(draw, wide.get(key), floor=1 if key == "maxDeadlineSeconds" else 0)
    if "typedDataDomains" in wide:
        narrow["typedDataDomains"] = _subset(draw, wide["typedDataDomains"])
    elif draw(st.booleans()):
        narrow["typedDataDomains"] = []
    narrow_rules: dict[str, Any] = {}
    for token, rule in rules.items():
        tighter = dict(rule)
        if "selectors" in rule:
            tighter["selectors"] = _subset(draw, rule["selectors"])
        if "args" in rule:
            tighter["args"] = {"to": _subset(draw, rule["args"]["to"])}
        if "maxAmount" in rule:
            tighter["maxAmount"] = _lower(draw, rule["maxAmount"])
        narrow_rules[token] = tighter
    if draw(st.booleans()):
        narrow_rules.setdefault(draw(st.sampled_from(ADDRESSES)), {"maxAmount": draw(amounts)})
    if narrow_rules:
        narrow["destinationRules"] = narrow_rules
    if isinstance(narrow.get("notBefore"), int) and narrow["notBefore"] >= narrow["expiresAt"]:
        narrow["expiresAt"] = narrow["notBefore"] + 1
        if narrow["expiresAt"] > wide["expiresAt"]:  # cannot narrow time further: empty window
            narrow["notBefore"] = wide["expiresAt"] - 1
            narrow["expiresAt"] = wide["expiresAt"]
    return wide, narrow


usages = st.builds(
    EnvelopeUsage,
    spent_usd=st.sampled_from([Decimal(0), Decimal(5), Decimal(99), Decimal(600)]),
    calls=st.integers(0, 6),
)


@settings(max_examples=300)
@given(
    pair=envelope_pairs(), action=actions(), usage=usages, now=st.integers(NOW - 250, NOW + 7300)
)
def test_narrowing_never_allows_more(
    pair: tuple[dict[str, Any], dict[str, Any]], action: Action, usage: EnvelopeUsage, now: int
) -> None:
    wide, narrow = (load_envelope(e) for e in pair)
    req = request()
    a = evaluate(action, wide, usage, now, request=req, prices=PRICES)
    b = evaluate(action, narrow, usage, now, request=req, prices=PRICES)
    assert set(a.reasons) <= set(b.reasons), (a.messages, b.messages)
    if b.allowed:
        assert a.allowed


@settings(max_examples=200)
@given(
    bound=st.sampled_from([1, 10, 137, 8453]),
    foreign=st.integers(0, 2**64 - 1),
    action=actions(chain_ids=st.just(frozenset())),
    request_chain=st.sampled_from([1, 10, 137, 8453]),
)
def test_any_foreign_chain_id_is_denied(
    bound: int, foreign: int, action: Action, request_chain: int
) -> None:
    from dataclasses import replace

    env = load_envelope(
        {
            "sessionKey": "k",
            "capabilities": [c.value for c in ActionClass],
            "maxValueUsd": 10**9,
            "allowedDestinations": ADDRESSES,
            "chainId": bound,
            "expiresAt": NOW + 10**5,
        }
    )
    chains = frozenset({bound, foreign})
    d = evaluate(
        replace(action, chain_ids=chains),
        env,
        EnvelopeUsage(),
        NOW,
        request=request(chain_id=request_chain),
        prices=PRICES,
    )
    if foreign != bound or request_chain != bound:
        assert DenyReason.CHAIN_MISMATCH in d.reasons
        assert not d.allowed
    if foreign != request_chain:
        assert DenyReason.CONTEXT_MISMATCH in d.reasons


@settings(max_examples=100)
@given(action=actions(), usage=usages)
def test_deterministic_and_sorted(action: Action, usage: EnvelopeUsage) -> None:
    env = load_envelope(
        {
            "sessionKey": "k",
            "capabilities": ["erc20.transfer", "swap.execute"],
            "maxValueUsd": 100,
            "allowedDestinations": [USDC, RECIPIENT],
            "chainId": 1,
            "expiresAt": NOW + 3600,
        }
    )
    first = evaluate(action, env, usage, NOW, request=request(), prices=PRICES)
    second = evaluate(action, env, usage, NOW, request=request(), prices=PRICES)
    assert first == second
    assert first.messages == second.messages
    assert list(first.reasons) == sorted(first.reasons, key=str)
    assert len(set(first.reasons)) == len(first.reasons)
    if action.non_delegable or action.classes & {ActionClass.ADMIN_UPGRADE, ActionClass.RAW_SIGN}:
        assert DenyReason.NON_DELEGABLE in first.reasons


# --- every never-delegable selector is denied, directly and wrapped (through decide) ---------------

_ROOT = Path(__file__).resolve().parents[2]
_SELECTORS = _ROOT / "policy/data/selectors.json"
if not _SELECTORS.exists():  # pragma: no cover - before the decoder ships its copy
    _SELECTORS = Path("/work/shared/reference/selectors.json")
NEVER = [e for e in json.loads(_SELECTORS.read_text()) if e["delegable"] == "never"]
EVERYTHING = load_envelope(
    {
        "sessionKey": "k",
        "capabilities": [c.value for c in ActionClass],
        "maxValueUsd": 10**9,
        "allowedDestinations": [*ADDRESSES, STRANGER],
        "chainId": 1,
        "expiresAt": NOW + 3600,
    }
)


def _never_call(entry: dict[str, str]) -> str:
    _, types = split_signature(entry["signature"])
    data = calldata(entry["signature"], list(types), default_args(types))
    assert data[:10] == entry["selector"]
    return data


def _wrapped(form: str, data: str) -> SigningRequest:
    if form == "direct":
        return send(tx(USDC, data=data))
    if form == "multicall":
        return send(
            tx(
                ROUTER,
                data=calldata("multicall(bytes[])", ["bytes[]"], [[bytes.fromhex(data[2:])]]),
            )
        )
    batch = {
        "version": "2.0.0",
        "from": ACCOUNT,
        "chainId": "0x1",
        "atomicRequired": True,
        "calls": [
            {"to": RECIPIENT, "value": "0x1", "data": "0x"},
            {"to": USDC, "data": data, "value": "0x0"},
        ],
    }
    return request("wallet_sendCalls", [batch])


def test_never_list_is_the_reference_list() -> None:
    assert len(NEVER) >= 60
    assert {e["selector"] for e in NEVER} >= {
        "0x3659cfe6",
        "0xf2fde38b",
        "0xa22cb465",
        "0x610b5925",
    }


@pytest.mark.parametrize("form", ["direct", "multicall", "send_calls"])
@pytest.mark.parametrize("entry", NEVER, ids=[f"{e['name']}-{e['selector']}" for e in NEVER])
def test_never_delegable_selectors_denied_even_when_listed(
    entry: dict[str, str], form: str
) -> None:
    d = decide(_wrapped(form, _never_call(entry)), EVERYTHING, EnvelopeUsage(), NOW, prices=PRICES)
    assert not d.allowed
    assert DenyReason.NON_DELEGABLE in d.reasons, (d.reasons, d.messages)
    why = d.messages[d.reasons.index(DenyReason.NON_DELEGABLE)]
    assert entry["selector"] in why or entry["signature"] in why  # the inner call, not the wrapper
