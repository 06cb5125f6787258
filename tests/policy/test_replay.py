"""policy.replay: key derivation, canonical keys, TTLs, id freshness, budget charges (pure)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy.actions import Action, ActionClass, NonceKind, ProtocolNonce
from policy.replay import (
    MAX_KEY_CHARS,
    BudgetCharge,
    ReplayKey,
    ReplayLayer,
    ReplayPolicy,
    RequestIdentity,
    check_request_id,
    derive_keys,
    method_family,
    micro_to_usd,
    request_id_time,
    rpc_id_key,
    usd_to_micro,
)
from policy.request import SigningRequest

NOW = 1_700_000_000.0
ID = int(NOW * 1000) * 1000 + 123
TOPIC = "ab" * 32
POLICY = ReplayPolicy()


def _action(**kw: object) -> Action:
    base: dict[str, object] = {
        "method": "eth_sendTransaction",
        "action_class": ActionClass.NATIVE_TRANSFER,
        "classes": frozenset({ActionClass.NATIVE_TRANSFER}),
        "payload_hash": "0x" + "AB" * 32,
    }
    base.update(kw)
    return Action(**base)  # type: ignore[arg-type]


def _request(**kw: object) -> SigningRequest:
    base: dict[str, object] = {
        "method": "eth_sendTransaction",
        "params": [],
        "chain_id": 1,
        "account": "0xacc",
        "request_id": ID,
    }
    base.update(kw)
    return SigningRequest(**base)  # type: ignore[arg-type]


def test_layers_align_with_nonce_kinds() -> None:
    for kind in NonceKind:
        assert ReplayLayer(kind.value).value == kind.value
    assert {"relay_delivery", "rpc_id", "payload"} <= {layer.value for layer in ReplayLayer}


def test_derive_keys_covers_every_layer_in_order() -> None:
    nonces = (
        ProtocolNonce(NonceKind.CHAIN, ("1", "0xACC", "7")),
        ProtocolNonce(NonceKind.SIWE, ("App.Example", "NoNcE1234")),
        ProtocolNonce(NonceKind.PERMIT2_UNORDERED, ("1", "0xacc", "3", "255")),
    )
    keys = derive_keys(
        _request(),
        _action(nonces=nonces),
        topic=TOPIC,
        relay_message_hash="F" * 64,
        now=NOW,
        policy=POLICY,
    )
    assert [(k.layer, k.key) for k in keys] == [
        (ReplayLayer.RELAY_DELIVERY, f"{TOPIC}|{'f' * 64}"),
        (ReplayLayer.RPC_ID, f"{TOPIC}|{ID}"),
        (ReplayLayer.PAYLOAD, "0xacc|transaction|0x" + "ab" * 32),
        (ReplayLayer.CHAIN_NONCE, "1|0xacc|7"),
        (ReplayLayer.SIWE_NONCE, "app.example|nonce1234"),
        (ReplayLayer.PERMIT2_BIT, "1|0xacc|3|255"),
    ]
    assert keys[1].storage_key == rpc_id_key(TOPIC, ID).storage_key


def test_transport_keys_live_for_the_id_window_and_others_for_the_horizon() -> None:
    keys = derive_keys(
        _request(),
        _action(deadlines=(int(NOW) + 30 * 86_400,)),
        topic=TOPIC,
        relay_message_hash="ff",
        now=NOW,
        policy=POLICY,
        envelope_expires_at=int(NOW) + 3600,
    )
    ttl = {k.layer: k.ttl_s for k in keys}
    assert ttl[ReplayLayer.RELAY_DELIVERY] == ttl[ReplayLayer.RPC_ID] == 960
    assert ttl[ReplayLayer.PAYLOAD] == 30 * 86_400 + 1  # the permit deadline is the latest end


def test_horizon_defaults_and_cap() -> None:
    def payload_ttl(**kw: object) -> int:
        keys = derive_keys(
            _request(), _action(**kw), topic=TOPIC, relay_message_hash=None, now=NOW, policy=POLICY
        )
        return next(k.ttl_s for k in keys if k.layer is ReplayLayer.PAYLOAD)

    assert payload_ttl() == POLICY.default_ttl_s + 1
    assert payload_ttl(deadlines=(2**256 - 1,)) == POLICY.max_ttl_s + 1  # "never" is capped
    assert payload_ttl(expires_at=int(NOW) + 10 * 86_400) == 10 * 86_400 + 1


def test_replacement_allowed_drops_only_the_chain_nonce() -> None:
    nonces = (
        ProtocolNonce(NonceKind.CHAIN, ("1", "0xacc", "7")),
        ProtocolNonce(NonceKind.AUTHORIZATION, ("1", "0xacc", "8")),
    )
    keys = derive_keys(
        _request(),
        _action(nonces=nonces),
        topic=TOPIC,
        relay_message_hash=None,
        now=NOW,
        policy=POLICY,
        allow_replacement=True,
    )
    layers = [k.layer for k in keys]
    assert ReplayLayer.CHAIN_NONCE not in layers
    assert ReplayLayer.AUTHORIZATION_NONCE in layers
    assert ReplayLayer.PAYLOAD in layers


def test_missing_ids_skip_their_layers_and_duplicates_collapse() -> None:
    nonce = ProtocolNonce(NonceKind.EIP2612, ("1", "0xt", "0xacc", "0"))
    keys = derive_keys(
        _request(request_id=None, account=None),
        _action(nonces=(nonce, nonce), accounts=frozenset({"0xB", "0xA"})),
        topic=TOPIC,
        relay_message_hash=None,
        now=NOW,
        policy=POLICY,
    )
    assert [k.layer for k in keys] == [ReplayLayer.PAYLOAD, ReplayLayer.PERMIT_NONCE]
    assert keys[0].key.startswith("0xa,0xb|transaction|")


def test_sibling_methods_share_a_payload_family() -> None:
    assert method_family("eth_signTransaction") == method_family("eth_sendTransaction")
    assert method_family("eth_signTypedData_v3") == method_family("eth_signTypedData_v4")
    assert method_family("personal_sign") != method_family("eth_signTypedData_v4")


def test_long_keys_are_hashed_and_separators_escaped() -> None:
    long = ReplayKey.of(ReplayLayer.BATCH_ID, ("0xacc", "https://app", "x" * 1000), 10)
    assert long.key.startswith("sha256:")
    assert len(long.key) == 71
    a = ReplayKey.of(ReplayLayer.BATCH_ID, ("a|b", "c"), 10)
    b = ReplayKey.of(ReplayLayer.BATCH_ID, ("a", "b|c"), 10)
    assert a.key != b.key
    assert ReplayKey.of(ReplayLayer.RPC_ID, ("t", 1), 0).ttl_s == 1


@settings(max_examples=60)
@given(
    st.lists(st.text(max_size=40), min_size=1, max_size=4),
    st.lists(st.text(max_size=40), min_size=1, max_size=4),
)
def test_canonical_keys_are_injective_modulo_case(left: list[str], right: list[str]) -> None:
    a = ReplayKey.of(ReplayLayer.BATCH_ID, tuple(left), 1)
    b = ReplayKey.of(ReplayLayer.BATCH_ID, tuple(right), 1)
    assert len(a.key) <= MAX_KEY_CHARS
    assert a.key == a.key.lower()
    same = [s.strip().lower() for s in left] == [s.strip().lower() for s in right]
    assert (a.key == b.key) == same


@pytest.mark.parametrize(
    ("request_id", "reason"),
    [
        (ID, None),
        (int((NOW - 899) * 1000) * 1000, None),
        (int((NOW + 59) * 1000) * 1000, None),
        (int((NOW - 901) * 1000) * 1000, "id_too_old"),
        (int((NOW + 61) * 1000) * 1000, "id_in_future"),
        (1, "id_too_old"),
        (1795489770550840064, "id_in_future"),  # a 19-digit relay-style id is not a payloadId
        (None, "id_missing"),
        (True, "id_invalid"),
        (-5, "id_invalid"),
        ("1700000000000000123", "id_invalid"),
    ],
)
def test_id_freshness(request_id: object, reason: str | None) -> None:
    refusal = check_request_id(request_id, now=NOW, policy=POLICY)
    if reason is None:
        assert refusal is None
    else:
        assert refusal is not None
        assert refusal.layer is ReplayLayer.RPC_ID
        assert refusal.reason == reason


def test_request_id_time() -> None:
    assert request_id_time(ID) == pytest.approx(NOW)


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="positive"):
        ReplayPolicy(id_window_s=0)
    with pytest.raises(ValueError, match="max_ttl_s"):
        ReplayPolicy(max_ttl_s=10)


def test_budget_charge_rounding_and_validation() -> None:
    charge = BudgetCharge("env", Decimal("0.0000001"), 60, Decimal("1.0000009"))
    assert charge.micro_usd == 1  # charges round up
    assert charge.cap_micro_usd == 1_000_000  # caps round down
    assert micro_to_usd(usd_to_micro(Decimal("12.345678"), up=True)) == Decimal("12.345678")
    for bad in (
        {"usd": Decimal(-1)},
        {"usd": Decimal("NaN")},
        {"cap_usd": Decimal("1e12")},
        {"period_s": 0},
        {"envelope_id": ""},
    ):
        kwargs: dict[str, object] = {
            "envelope_id": "env",
            "usd": Decimal(1),
            "period_s": 60,
            "cap_usd": Decimal(10),
        }
        kwargs.update(bad)
        with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
            BudgetCharge(**kwargs)  # type: ignore[arg-type]


def test_same_request_needs_topic_id_and_payload() -> None:
    base = RequestIdentity(TOPIC, ID, "0xAB", "s1")
    assert base.same_request(RequestIdentity(TOPIC, ID, "0xab", "s2"))
    assert not base.same_request(RequestIdentity(TOPIC, ID, "0xac", "s1"))
    assert not base.same_request(RequestIdentity("cd" * 32, ID, "0xab", "s1"))
    assert not base.same_request(RequestIdentity(TOPIC, ID + 1, "0xab", "s1"))
    no_id = RequestIdentity(TOPIC, None, "0xab")
    assert not no_id.same_request(no_id)
