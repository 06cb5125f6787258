"""Decision engine: one table row per reason code (exact reasons tuple), plus multi-reason denials.

The first table uses hand-made Actions through evaluate(); the second runs real encoded
transactions, typed data and messages (eth-abi / eth-account) through decide().
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from engine_builders import (
    ACCOUNT,
    DAI,
    MAIL,
    NOW,
    RECIPIENT,
    ROUTER,
    SEED,
    STRANGER,
    USDC,
    WETH,
    action,
    calldata,
    envelope,
    erc20_approve,
    erc20_transfer,
    permit_typed_data,
    personal,
    pricer,
    request,
    send,
    siwe_text,
    transfer_call,
    tx,
    typed,
)

from policy.actions import Action, ActionClass, Approval, Call, TokenAmount
from policy.budget import EnvelopeUsage
from policy.engine import decide, evaluate, origin_authority, siwe_domain_matches
from policy.errors import DenyReason, UnresolvedEnvelopeError
from policy.request import SigningRequest

R = DenyReason
OTHER = STRANGER


@dataclass
class Case:
    action: Action = field(default_factory=action)
    env: dict[str, Any] = field(default_factory=dict)
    state: EnvelopeUsage = field(default_factory=EnvelopeUsage)
    req: dict[str, Any] = field(default_factory=dict)
    now: int = NOW
    stale: bool = False


def _usdc_transfer(amount: int, to: str = RECIPIENT) -> Action:
    return action(
        calls=(transfer_call(USDC, to, amount),),
        token_amounts=(TokenAmount(1, USDC, amount),),
        destinations=frozenset({to}),
    )


def _approve(amount: int | None, spender: str = ROUTER, token: str = USDC) -> Action:
    call = Call(1, token, 0, "0x095ea7b3", "approve(address,uint256)", ActionClass.ERC20_APPROVE)
    return action(
        ActionClass.ERC20_APPROVE,
        calls=(call,),
        approvals=(Approval(1, token, spender, amount),),
        destinations=frozenset({spender}),
    )


def _swap(deadline: int) -> Action:
    call = Call(1, ROUTER, 0, "0x04e45aaf", "exactInputSingle(...)", ActionClass.SWAP_EXECUTE)
    return action(
        ActionClass.SWAP_EXECUTE,
        calls=(call,),
        token_amounts=(TokenAmount(1, USDC, 5 * 10**6),),
        destinations=frozenset({ACCOUNT}),
        deadlines=(deadline,),
    )


def _permit(contract: str = USDC, primary: str = "Permit", value: int = 10**6) -> Action:
    return action(
        ActionClass.PERMIT_SIGN,
        method="eth_signTypedData_v4",
        approvals=(Approval(1, contract, ROUTER, value, expires_at=NOW + 600),),
        destinations=frozenset({ROUTER}),
        typed_data=(contract, primary),
        deadlines=(NOW + 600,),
    )


def _siwe(domain: str) -> Action:
    return action(ActionClass.SIWE_LOGIN, method="personal_sign", domain=domain)


def _upgrade() -> Action:
    call = Call(1, USDC, 0, "0x3659cfe6", "upgradeTo(address)", ActionClass.ADMIN_UPGRADE)
    return action(
        ActionClass.ADMIN_UPGRADE,
        calls=(call,),
        non_delegable=("selector upgradeTo(address) in call 0",),
    )


ALL = [c.value for c in ActionClass]

CASES: dict[str, tuple[Case, tuple[DenyReason, ...]]] = {
    "allow_transfer": (Case(), ()),
    "allow_siwe": (Case(_siwe("app.example.com")), ()),
    "allow_swap_to_self": (Case(_swap(NOW + 600)), ()),
    "scope_denied": (Case(env={"capabilities": ["message.sign"]}), (R.SCOPE_DENIED,)),
    "scope_denied_inner_class": (
        Case(action(classes=frozenset({ActionClass.ERC20_TRANSFER, ActionClass.NFT_TRANSFER}))),
        (R.SCOPE_DENIED,),
    ),
    "value_cap_exceeded": (Case(_usdc_transfer(101 * 10**6)), (R.VALUE_CAP_EXCEEDED,)),
    "value_cap_boundary_ok": (Case(_usdc_transfer(100 * 10**6)), ()),
    "budget_exhausted": (
        Case(env={"budgetUsd": 10}, state=EnvelopeUsage(spent_usd=Decimal("9.5"))),
        (R.BUDGET_EXHAUSTED,),
    ),
    "budget_window_rolled": (
        Case(
            env={"budgetUsd": 10, "periodSeconds": 60},
            state=EnvelopeUsage(spent_usd=Decimal(10), window_started_at=NOW - 60),
        ),
        (),
    ),
    "destination_not_allowed": (Case(_usdc_transfer(10**6, OTHER)), (R.DESTINATION_NOT_ALLOWED,)),
    "destination_spender": (
        Case(_approve(10**6, OTHER), env={"capabilities": ALL}),
        (R.DESTINATION_NOT_ALLOWED,),
    ),
    "chain_mismatch_request": (Case(env={"chainId": 10}, req={"chain_id": 1}), (R.CHAIN_MISMATCH,)),
    "chain_mismatch_payload_and_context": (
        Case(action(chain_ids=frozenset({1, 10}))),
        (R.CHAIN_MISMATCH, R.CONTEXT_MISMATCH),
    ),
    "chain_zero_authorization": (
        Case(action(chain_ids=frozenset({0, 1}))),
        (R.CHAIN_MISMATCH, R.CONTEXT_MISMATCH),
    ),
    "chain_unbound": (
        Case(action(ActionClass.MESSAGE_SIGN, chain_ids=frozenset(), chain_unbound=True)),
        (R.CHAIN_UNBOUND,),
    ),
    "context_account": (Case(action(accounts=frozenset({OTHER}))), (R.CONTEXT_MISMATCH,)),
    "context_siwe_domain": (Case(_siwe("evil.example.com")), (R.CONTEXT_MISMATCH,)),
    "context_siwe_port": (Case(_siwe("app.example.com:8443")), (R.CONTEXT_MISMATCH,)),
    "context_siwe_no_origin": (
        Case(_siwe("app.example.com"), req={"origin": None}),
        (R.CONTEXT_MISMATCH,),
    ),
    "expired": (Case(now=SEED["expiresAt"]), (R.EXPIRED,)),
    "not_yet_valid": (Case(env={"notBefore": NOW + 1}), (R.NOT_YET_VALID,)),
    "request_expired": (Case(req={"expires_at": NOW - 1}), (R.REQUEST_EXPIRED,)),
    "non_delegable_upgrade_even_if_listed": (
        Case(_upgrade(), env={"capabilities": ALL}),
        (R.NON_DELEGABLE,),
    ),
    "non_delegable_not_also_scope": (Case(_upgrade()), (R.NON_DELEGABLE,)),
    "non_delegable_unlimited_approval": (
        Case(_approve(None), env={"capabilities": ALL}),
        (R.NON_DELEGABLE,),
    ),
    "non_delegable_inner_call_class": (
        Case(
            action(
                calls=(
                    transfer_call(),
                    Call(
                        1,
                        USDC,
                        0,
                        "0xf2fde38b",
                        "transferOwnership(address)",
                        ActionClass.ADMIN_AUTHORITY,
                        depth=1,
                    ),
                )
            )
        ),
        (R.NON_DELEGABLE,),
    ),
    "price_unknown_stale": (
        Case(
            action(
                ActionClass.NATIVE_TRANSFER,
                native_value=10**15,
                destinations=frozenset({RECIPIENT}),
            ),
            stale=True,
        ),
        (R.PRICE_UNKNOWN,),
    ),
    "price_unknown_token": (
        Case(
            action(
                calls=(transfer_call(USDC),),
                token_amounts=(TokenAmount(1, "0x" + "77" * 20, 1),),
            )
        ),
        (R.PRICE_UNKNOWN,),
    ),
    "max_calls_exceeded": (
        Case(env={"maxCalls": 3}, state=EnvelopeUsage(calls=3)),
        (R.MAX_CALLS_EXCEEDED,),
    ),
    "approval_cap_exceeded": (
        Case(_approve(50 * 10**6), env={"capabilities": ALL, "maxApprovalUsd": 20}),
        (R.APPROVAL_CAP_EXCEEDED,),
    ),
    "approval_counts_as_exposure": (
        Case(_approve(150 * 10**6), env={"capabilities": ALL}),
        (R.VALUE_CAP_EXCEEDED,),
    ),
    "deadline_after_envelope_expiry": (Case(_swap(SEED["expiresAt"] + 1)), (R.DEADLINE_TOO_LONG,)),
    "deadline_max_seconds": (
        Case(_swap(NOW + 601), env={"maxDeadlineSeconds": 600}),
        (R.DEADLINE_TOO_LONG,),
    ),
    "domain_allowed": (
        Case(
            _permit(),
            env={
                "capabilities": ALL,
                "typedDataDomains": [{"verifyingContract": USDC, "primaryType": "Permit"}],
                "allowedDestinations": [*SEED["allowedDestinations"]],
            },
        ),
        (),
    ),
    "domain_not_allowed": (
        Case(
            _permit(primary="PermitSingle"),
            env={
                "capabilities": ALL,
                "typedDataDomains": [{"verifyingContract": USDC, "primaryType": "Permit"}],
            },
        ),
        (R.DOMAIN_NOT_ALLOWED,),
    ),
    "typed_data_contract_is_a_destination": (
        Case(_permit(contract=DAI), env={"capabilities": ALL}),
        (R.DESTINATION_NOT_ALLOWED,),
    ),
    "selector_not_allowed": (
        Case(env={"destinationRules": {USDC: {"selectors": ["approve(address,uint256)"]}}}),
        (R.SELECTOR_NOT_ALLOWED,),
    ),
    "selector_needs_decoded_function": (
        Case(
            action(calls=(Call(1, USDC, 0, "0xa9059cbb", None, ActionClass.CONTRACT_CALL),)),
            env={
                "capabilities": ALL,
                "destinationRules": {USDC: {"selectors": ["transfer(address,uint256)"]}},
            },
        ),
        (R.SELECTOR_NOT_ALLOWED,),
    ),
    "rule_allows": (
        Case(
            env={
                "destinationRules": {
                    USDC: {
                        "selectors": ["transfer(address,uint256)"],
                        "args": {"to": [RECIPIENT.upper().replace("0X", "0x")]},
                        "maxAmount": "1000000",
                    }
                }
            }
        ),
        (),
    ),
    "argument_not_allowed": (
        Case(env={"destinationRules": {USDC: {"args": {"to": [OTHER]}}}}),
        (R.ARGUMENT_NOT_ALLOWED,),
    ),
    "argument_missing": (
        Case(env={"destinationRules": {USDC: {"args": {"recipient": [RECIPIENT]}}}}),
        (R.ARGUMENT_NOT_ALLOWED,),
    ),
    "amount_over_rule": (
        Case(env={"destinationRules": {USDC: {"maxAmount": 999_999}}}),
        (R.ARGUMENT_NOT_ALLOWED,),
    ),
    "everything_wrong_at_once": (
        Case(
            action(
                classes=frozenset(
                    {
                        ActionClass.ERC20_TRANSFER,
                        ActionClass.ADMIN_UPGRADE,
                        ActionClass.NFT_TRANSFER,
                    }
                ),
                calls=(transfer_call(USDC, OTHER, 500 * 10**6),),
                token_amounts=(TokenAmount(1, USDC, 500 * 10**6),),
                destinations=frozenset({OTHER}),
                chain_ids=frozenset({1, 5}),
                accounts=frozenset({OTHER}),
                deadlines=(NOW + 10**6,),
                chain_unbound=True,
            ),
            env={"notBefore": NOW + 5, "maxCalls": 1, "budgetUsd": 50},
            state=EnvelopeUsage(calls=1),
            req={"expires_at": NOW - 5},
        ),
        (
            R.BUDGET_EXHAUSTED,
            R.CHAIN_MISMATCH,
            R.CHAIN_UNBOUND,
            R.CONTEXT_MISMATCH,
            R.DEADLINE_TOO_LONG,
            R.DESTINATION_NOT_ALLOWED,
            R.MAX_CALLS_EXCEEDED,
            R.NON_DELEGABLE,
            R.NOT_YET_VALID,
            R.REQUEST_EXPIRED,
            R.SCOPE_DENIED,
            R.VALUE_CAP_EXCEEDED,
        ),
    ),
}


@pytest.mark.parametrize(("case", "expected"), CASES.values(), ids=list(CASES))
def test_reason_table(case: Case, expected: tuple[DenyReason, ...]) -> None:
    d = evaluate(
        case.action,
        envelope(**case.env),
        case.state,
        case.now,
        request=request(**case.req),
        prices=pricer(stale=case.stale),
    )
    assert d.reasons == expected, d.messages
    assert d.allowed is (expected == ())
    assert len(d.messages) == len(d.reasons)
    assert d.action is case.action


def test_every_engine_reason_has_a_row() -> None:
    covered = {r for _, reasons in CASES.values() for r in reasons}
    decide_only = {R.UNDECODABLE, R.UNSUPPORTED_METHOD, R.ENVELOPE_UNRESOLVED}
    store_only = {R.REPLAY_DETECTED, R.SESSION_REVOKED, R.STORE_UNAVAILABLE}
    assert covered | decide_only | store_only == set(DenyReason)


def test_allow_reports_value_and_charge() -> None:
    d = evaluate(
        _usdc_transfer(25 * 10**6),
        envelope(),
        EnvelopeUsage(),
        NOW,
        request=request(),
        prices=pricer(),
    )
    assert d.allowed
    assert d.usd_value == Decimal(25)
    assert d.budget_charge_usd == Decimal(25)
    assert d.envelope_id == envelope().envelope_id


def test_denial_keeps_value_but_charges_nothing() -> None:
    d = evaluate(
        _usdc_transfer(250 * 10**6),
        envelope(),
        EnvelopeUsage(),
        NOW,
        request=request(),
        prices=pricer(),
    )
    assert d.usd_value == Decimal(250)
    assert d.budget_charge_usd == 0
    assert "$250.00" in d.messages[0]


def test_zero_value_action_not_denied_by_spent_budget() -> None:
    msg = action(ActionClass.MESSAGE_SIGN, method="personal_sign", chain_ids=frozenset())
    d = evaluate(
        msg,
        envelope(budgetUsd=10),
        EnvelopeUsage(spent_usd=Decimal(11)),
        NOW,
        request=request("personal_sign"),
        prices=pricer(),
    )
    assert d.allowed


def test_session_account_is_an_implicit_destination_only_when_known() -> None:
    swap = _swap(NOW + 600)
    env = envelope()
    assert evaluate(swap, env, EnvelopeUsage(), NOW, request=request(), prices=pricer()).allowed
    d = evaluate(swap, env, EnvelopeUsage(), NOW, request=request(account=None), prices=pricer())
    assert d.reasons == (R.DESTINATION_NOT_ALLOWED,)


def test_unresolved_template_cannot_be_evaluated() -> None:
    with pytest.raises(UnresolvedEnvelopeError):
        evaluate(
            action(),
            envelope(expiresAt="+1h"),
            EnvelopeUsage(),
            NOW,
            request=request(),
            prices=pricer(),
        )


def test_messages_name_the_facts() -> None:
    d = evaluate(
        action(chain_ids=frozenset({0, 1})),
        envelope(),
        EnvelopeUsage(),
        NOW,
        request=request(),
        prices=pricer(),
    )
    assert d.messages[0] == "payload chain 0 is not the envelope chain 1"


@pytest.mark.parametrize(
    ("origin", "authority"),
    [
        ("https://App.Example.com", ("app.example.com", 443)),
        ("http://localhost:3000/path", ("localhost", 3000)),
        ("app.example.com", ("app.example.com", 443)),
        ("https://[::1]:8443", ("::1", 8443)),
        ("https://host:99999", None),
        ("", None),
    ],
)
def test_origin_authority(origin: str, authority: tuple[str, int] | None) -> None:
    assert origin_authority(origin) == authority


@pytest.mark.parametrize(
    ("domain", "origin", "ok"),
    [
        ("app.example.com", "https://app.example.com", True),
        ("APP.example.com", "https://app.example.com/", True),
        ("app.example.com:443", "https://app.example.com", True),
        ("localhost:3000", "http://localhost:3000", True),
        ("localhost", "http://localhost:3000", False),
        ("example.com", "https://app.example.com", False),
        ("app.example.com.evil.io", "https://app.example.com", False),
        ("user@app.example.com", "https://app.example.com", False),
        ("app.example.com/path", "https://app.example.com", False),
        ("app.example.com", None, False),
        ("", "https://app.example.com", False),
    ],
)
def test_siwe_domain_matches(domain: str, origin: str | None, ok: bool) -> None:
    assert siwe_domain_matches(domain, origin) is ok


def test_weth_priced_like_eth() -> None:
    a = action(
        calls=(transfer_call(WETH, RECIPIENT, 10**16),),
        token_amounts=(TokenAmount(1, WETH, 10**16),),
    )
    env = envelope(allowedDestinations=[*SEED["allowedDestinations"], WETH])
    d = evaluate(a, env, EnvelopeUsage(), NOW, request=request(), prices=pricer())
    assert d.allowed
    assert d.usd_value == Decimal(20)


# --- decide(): real encoded transactions, typed data and messages -------------------------------

UNKNOWN_TOKEN = "0x7777777777777777777777777777777777777777"
TYPED_ENV = {
    "capabilities": [*SEED["capabilities"], "permit.sign", "typed_data.sign", "erc20.approve"],
    "allowedDestinations": [*SEED["allowedDestinations"], MAIL],
}


@dataclass
class Req:
    request: SigningRequest
    env: dict[str, Any] = field(default_factory=dict)
    state: EnvelopeUsage = field(default_factory=EnvelopeUsage)
    now: int = NOW


DECIDE_CASES: dict[str, tuple[Req, tuple[DenyReason, ...]]] = {
    "allow_erc20_transfer": (Req(erc20_transfer()), ()),
    "allow_native_transfer": (Req(send(tx(RECIPIENT, value=10**16))), ()),
    "allow_siwe": (Req(personal(siwe_text())), ()),
    "allow_personal_sign": (Req(personal("hello")), ()),
    "allow_permit": (Req(typed(permit_typed_data()), env=TYPED_ENV), ()),
    "scope_denied_approve": (Req(erc20_approve()), (R.SCOPE_DENIED,)),
    "value_cap_exceeded": (Req(erc20_transfer(amount=150 * 10**6)), (R.VALUE_CAP_EXCEEDED,)),
    "budget_exhausted": (
        Req(erc20_transfer(), env={"budgetUsd": 100}, state=EnvelopeUsage(Decimal(90))),
        (R.BUDGET_EXHAUSTED,),
    ),
    "destination_not_allowed": (Req(erc20_transfer(to=STRANGER)), (R.DESTINATION_NOT_ALLOWED,)),
    "chain_mismatch_payload": (
        Req(send(tx(RECIPIENT, value=10**15, chain_id=10))),
        (R.CHAIN_MISMATCH, R.CONTEXT_MISMATCH),
    ),
    "chain_mismatch_request_and_payload": (
        Req(send(tx(RECIPIENT, value=10**15, chain_id=10), chain_id=10)),
        (R.CHAIN_MISMATCH,),
    ),
    "chain_mismatch_siwe": (
        Req(personal(siwe_text(chain_id=5))),
        (R.CHAIN_MISMATCH, R.CONTEXT_MISMATCH),
    ),
    "chain_unbound_typed_data": (
        Req(typed(permit_typed_data(chain_id=None)), env=TYPED_ENV),
        (R.CHAIN_UNBOUND,),
    ),
    "context_mismatch_sender": (
        Req(send(tx(RECIPIENT, value=10**15, sender=STRANGER))),
        (R.CONTEXT_MISMATCH,),
    ),
    "context_mismatch_siwe_domain": (
        Req(personal(siwe_text(domain="evil.example.com"))),
        (R.CONTEXT_MISMATCH,),
    ),
    "expired": (Req(erc20_transfer(), now=SEED["expiresAt"]), (R.EXPIRED,)),
    "not_yet_valid": (Req(erc20_transfer(), env={"notBefore": NOW + 60}), (R.NOT_YET_VALID,)),
    "request_expired": (
        Req(send(tx(RECIPIENT, value=10**15), expires_at=NOW - 1)),
        (R.REQUEST_EXPIRED,),
    ),
    "max_calls_exceeded": (
        Req(erc20_transfer(), env={"maxCalls": 2}, state=EnvelopeUsage(calls=2)),
        (R.MAX_CALLS_EXCEEDED,),
    ),
    "non_delegable_transfer_ownership": (
        Req(
            send(tx(USDC, data=calldata("transferOwnership(address)", ["address"], [STRANGER]))),
            env={"capabilities": ALL},
        ),
        (R.NON_DELEGABLE,),
    ),
    "non_delegable_unlimited_approve": (
        Req(erc20_approve(amount=2**256 - 1), env={"capabilities": ALL}),
        (R.NON_DELEGABLE,),
    ),
    "non_delegable_eth_sign": (
        Req(
            SigningRequest("eth_sign", [ACCOUNT, "0x" + "ab" * 32], chain_id=1, account=ACCOUNT),
            env={"capabilities": ALL},
        ),
        (R.CHAIN_UNBOUND, R.NON_DELEGABLE),  # a raw digest has no chain binding either
    ),
    "non_delegable_switch_chain": (
        Req(
            SigningRequest(
                "wallet_switchEthereumChain", [{"chainId": "0xa"}], chain_id=1, account=ACCOUNT
            ),
            env={"capabilities": ALL},
        ),
        (R.CHAIN_MISMATCH, R.CONTEXT_MISMATCH, R.NON_DELEGABLE),
    ),
    "price_unknown": (
        Req(
            erc20_transfer(token=UNKNOWN_TOKEN),
            env={"allowedDestinations": [*SEED["allowedDestinations"], UNKNOWN_TOKEN]},
        ),
        (R.PRICE_UNKNOWN,),
    ),
    "undecodable": (Req(send(tx(USDC, data="0xzz"))), (R.UNDECODABLE,)),
    "undecodable_plus_expired": (
        Req(send(tx(USDC, data="0xzz")), now=NOW + 10**6),
        (R.EXPIRED, R.UNDECODABLE),
    ),
    "unsupported_method": (
        Req(SigningRequest("eth_decrypt", ["0x00", ACCOUNT], chain_id=1)),
        (R.UNSUPPORTED_METHOD,),
    ),
    "envelope_unresolved": (
        Req(erc20_transfer(), env={"expiresAt": "+1h"}),
        (R.ENVELOPE_UNRESOLVED,),
    ),
    "approval_cap_exceeded": (
        Req(erc20_approve(amount=50 * 10**6), env={**TYPED_ENV, "maxApprovalUsd": 20}),
        (R.APPROVAL_CAP_EXCEEDED,),
    ),
    "deadline_too_long_permit": (
        Req(typed(permit_typed_data(deadline=NOW + 10**6)), env=TYPED_ENV),
        (R.DEADLINE_TOO_LONG,),
    ),
    "domain_not_allowed": (
        Req(
            typed(permit_typed_data()),
            env={
                **TYPED_ENV,
                "typedDataDomains": [{"verifyingContract": USDC, "primaryType": "Order"}],
            },
        ),
        (R.DOMAIN_NOT_ALLOWED,),
    ),
    "selector_not_allowed": (
        Req(
            erc20_transfer(),
            env={"destinationRules": {USDC: {"selectors": ["approve(address,uint256)"]}}},
        ),
        (R.SELECTOR_NOT_ALLOWED,),
    ),
    "argument_not_allowed": (
        Req(
            erc20_transfer(),
            env={
                "destinationRules": {
                    USDC: {"selectors": ["transfer(address,uint256)"], "args": {"to": [STRANGER]}}
                }
            },
        ),
        (R.ARGUMENT_NOT_ALLOWED,),
    ),
    "rule_allows_decoded_transfer": (
        Req(
            erc20_transfer(),
            env={
                "destinationRules": {
                    USDC: {
                        "selectors": ["transfer(address,uint256)"],
                        "args": {"to": [RECIPIENT]},
                        "maxAmount": 25 * 10**6,
                    }
                }
            },
        ),
        (),
    ),
}


@pytest.mark.parametrize(("case", "expected"), DECIDE_CASES.values(), ids=list(DECIDE_CASES))
def test_decide_table(case: Req, expected: tuple[DenyReason, ...]) -> None:
    d = decide(case.request, envelope(**case.env), case.state, case.now, prices=pricer())
    assert d.reasons == expected, d.messages
    assert d.allowed is (expected == ())
    assert d.budget_charge_usd == (d.usd_value or 0 if d.allowed else 0)


def test_decide_covers_every_engine_reason() -> None:
    covered = {r for _, reasons in DECIDE_CASES.values() for r in reasons}
    assert covered | {R.REPLAY_DETECTED, R.SESSION_REVOKED, R.STORE_UNAVAILABLE} == set(DenyReason)


def test_decide_reports_value_of_allowed_transfer() -> None:
    d = decide(erc20_transfer(), envelope(), EnvelopeUsage(), NOW, prices=pricer())
    assert d.allowed
    assert d.usd_value == Decimal(25)
    assert d.budget_charge_usd == Decimal(25)
    assert d.action is not None
    assert d.action.calls[0].args[0] == ("to", RECIPIENT)


def test_decode_failure_message_names_the_decoder_reason() -> None:
    d = decide(send(tx(USDC, data="0xzz")), envelope(), EnvelopeUsage(), NOW, prices=pricer())
    assert d.messages[0].split(":")[0] in {"bad_hex", "undecodable"} or "hex" in d.messages[0]
    assert d.action is None
    assert d.usd_value is None


def test_benchmark_mix_decides_as_labelled() -> None:
    from proxy.bench import policy_decision as bench

    env, prices = bench.bench_envelope(), bench.bench_pricer()
    usage = EnvelopeUsage(spent_usd=Decimal(120), calls=10)
    outcomes = {
        sc.name: decide(sc.request, env, usage, bench.NOW, prices=prices).allowed
        for sc in bench.scenarios()
    }
    assert outcomes == {sc.name: sc.allowed for sc in bench.scenarios()}
    assert sum(outcomes.values()) == 9
