"""CapabilityEnvelope: the seed JSON verbatim, extensions, strictness, time templates, canonical id."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from engine_builders import NOW, SEED, USDC, envelope
from pydantic import ValidationError

from policy.actions import ActionClass
from policy.envelope import (
    CapabilityEnvelope,
    DestinationRule,
    load_envelope,
    normalize_address,
    parse_envelope,
)
from policy.errors import EnvelopeError, UnresolvedEnvelopeError

ROOT = Path(__file__).resolve().parents[2]


def test_seed_json_is_accepted_verbatim() -> None:
    env = load_envelope(SEED)
    assert env.session_key == "example"
    assert env.capabilities == {
        ActionClass.MESSAGE_SIGN,
        ActionClass.SIWE_LOGIN,
        ActionClass.NATIVE_TRANSFER,
        ActionClass.ERC20_TRANSFER,
        ActionClass.SWAP_EXECUTE,
    }
    assert env.max_value_usd == Decimal(100)
    assert USDC in env.allowed_destinations  # checksummed input, stored lowercase
    assert env.chain_id == 1
    assert env.expires_at == NOW + 3600
    assert env.is_resolved


def test_example_file_is_a_template_that_resolves() -> None:
    text = (ROOT / "config/envelopes/example.json").read_text()
    env = parse_envelope(text)
    assert not env.is_resolved
    assert env.expires_at == "+3600s"
    assert set(json.loads(text)) == {
        "sessionKey",
        "capabilities",
        "maxValueUsd",
        "allowedDestinations",
        "chainId",
        "expiresAt",
    }
    resolved = env.resolve(NOW)
    assert resolved.expires_at == NOW + 3600
    assert resolved.is_resolved
    assert resolved.resolve(NOW + 5) is resolved  # absolute stays put


@pytest.mark.parametrize(
    "extra",
    [
        {"foo": 1},
        {"maxvalueusd": 5},
        {"max_value_usd_typo": 1},
        {"destinationRules": {USDC: {"x": 1}}},
    ],
)
def test_unknown_fields_are_an_error(extra: dict[str, Any]) -> None:
    with pytest.raises(EnvelopeError) as err:
        load_envelope({**SEED, **extra})
    assert "Extra inputs are not permitted" in str(err.value)


def test_snake_case_names_also_accepted_for_python_callers() -> None:
    env = CapabilityEnvelope(
        session_key="k",
        capabilities=frozenset({ActionClass.MESSAGE_SIGN}),
        max_value_usd=Decimal(1),
        allowed_destinations=frozenset(),
        chain_id=1,
        expires_at=NOW,
    )
    assert env.to_json()["maxValueUsd"] == "1"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, 1), ("eip155:1", 1), ("eip155:8453", 8453), (137, 137)],
)
def test_chain_id_int_or_caip2(value: object, expected: int) -> None:
    assert envelope(chainId=value).chain_id == expected


@pytest.mark.parametrize("value", ["1", "solana:1", "eip155:", 0, -1, True, 2**64, 1.0])
def test_chain_id_rejects(value: object) -> None:
    with pytest.raises(EnvelopeError, match="chainId"):
        envelope(chainId=value)


def test_addresses_case_insensitive_with_checksum_validation() -> None:
    mixed = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
    assert normalize_address(mixed) == USDC
    assert normalize_address(USDC.upper().replace("0X", "0x")) == USDC
    bad = "0xa0B86991c6218b36c1d19D4a2e9Eb0cE3606eB48"  # one letter's case flipped
    with pytest.raises(ValueError, match="checksum"):
        normalize_address(bad)
    with pytest.raises(EnvelopeError, match="allowedDestinations"):
        envelope(allowedDestinations=[bad])
    for junk in ["0x1234", "a0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", 5, None]:
        with pytest.raises(ValueError, match="address"):
            normalize_address(junk)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("+1h", 3600), ("+3600s", 3600), ("+30m", 1800), ("+2d", 172800), ("+1s", 1)],
)
def test_relative_expiry_resolves_from_now(value: str, seconds: int) -> None:
    env = envelope(expiresAt=value)
    assert env.expires_at == f"+{seconds}s"
    assert not env.is_resolved
    with pytest.raises(UnresolvedEnvelopeError):
        _ = env.expires_at_s
    assert env.resolve(NOW).expires_at_s == NOW + seconds


def test_relative_not_before_resolves_too() -> None:
    env = envelope(expiresAt="+2h", notBefore="+10m")
    with pytest.raises(UnresolvedEnvelopeError):
        _ = env.not_before_s
    resolved = env.resolve(NOW)
    assert (resolved.not_before_s, resolved.expires_at_s) == (NOW + 600, NOW + 7200)


@pytest.mark.parametrize(
    ("value", "unix"),
    [
        ("2024-01-01T00:00:00Z", 1704067200),
        ("2024-01-01T01:00:00+01:00", 1704067200),
        (1704067200, 1704067200),
    ],
)
def test_absolute_expiry_forms(value: object, unix: int) -> None:
    assert envelope(expiresAt=value).expires_at_s == unix


@pytest.mark.parametrize(
    "value",
    ["2024-01-01T00:00:00", "+0s", "+1w", "+400d", "-1h", "tomorrow", True, -5, 10**13, 1.5],
)
def test_bad_times_rejected(value: object) -> None:
    with pytest.raises(EnvelopeError, match="expiresAt"):
        envelope(expiresAt=value)


def test_not_before_must_precede_expiry() -> None:
    with pytest.raises(EnvelopeError, match="notBefore"):
        envelope(notBefore=NOW + 3600)


def test_extensions_parse() -> None:
    env = envelope(
        notBefore=NOW - 10,
        budgetUsd="250.50",
        periodSeconds=86400,
        maxCalls=10,
        destinationRules={
            "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48": {
                "selectors": ["transfer(address, uint256)"],
                "args": {"to": ["0x1111111111111111111111111111111111111111"]},
                "maxAmount": "100000000",
            }
        },
        typedDataDomains=[{"verifyingContract": USDC, "primaryType": "Permit"}],
        maxApprovalUsd=50,
        maxDeadlineSeconds=1800,
        labels={"team": "ops"},
    )
    rule = env.destination_rules[USDC]
    assert rule.max_amount == 100_000_000
    assert rule.selectors == ("transfer(address,uint256)",)
    assert rule.allows_function("0xa9059cbb", "transfer(address,uint256)")
    assert not rule.allows_function("0xa9059cbb", "approve(address,uint256)")  # selector alone: no
    assert not rule.allows_function("0x095ea7b3", "transfer(address,uint256)")
    assert not rule.allows_function("0xa9059cbb", None)
    assert env.budget_usd == Decimal("250.50")
    assert env.typed_data_domains is not None
    assert env.typed_data_domains[0].primary_type == "Permit"
    assert env.to_json()["destinationRules"][USDC]["maxAmount"] == "100000000"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"periodSeconds": 60}, "periodSeconds needs budgetUsd"),
        ({"destinationRules": {USDC: {"selectors": ["0xa9059cbb"]}}}, "selectors"),
        ({"maxValueUsd": -1}, "maxValueUsd"),
        ({"maxValueUsd": "NaN"}, "maxValueUsd"),
        ({"maxValueUsd": True}, "maxValueUsd"),
        ({"capabilities": ["not.a.class"]}, "capabilities"),
        ({"sessionKey": ""}, "sessionKey"),
        ({"maxCalls": -1}, "maxCalls"),
        ({"labels": {f"k{i}": "v" for i in range(33)}}, "labels"),
    ],
)
def test_invalid_envelopes(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(EnvelopeError) as err:
        envelope(**overrides)
    assert field in str(err.value)


def test_error_messages_do_not_echo_values() -> None:
    secret = "s3cr3t-session-key-material"
    with pytest.raises(EnvelopeError) as err:
        load_envelope({**SEED, "sessionKey": secret, "maxValueUsd": "x" + secret})
    assert secret not in str(err.value)


def test_frozen() -> None:
    env = envelope()
    with pytest.raises(ValidationError):
        env.max_value_usd = Decimal(10**6)  # type: ignore[misc]


def test_canonical_id_is_stable_and_content_sensitive() -> None:
    a = envelope()
    shuffled = dict(reversed(list(SEED.items())))
    shuffled["allowedDestinations"] = [d.lower() for d in reversed(SEED["allowedDestinations"])]
    shuffled["capabilities"] = list(reversed(SEED["capabilities"]))
    shuffled["chainId"] = "eip155:1"
    b = load_envelope(shuffled)
    assert a.envelope_id == b.envelope_id
    assert a.envelope_id.startswith("sha256:")
    assert len(a.envelope_id) == 71
    assert envelope(maxValueUsd=101).envelope_id != a.envelope_id
    assert load_envelope(a.to_json()).envelope_id == a.envelope_id  # round trip


def test_parse_envelope_limits_and_errors() -> None:
    with pytest.raises(EnvelopeError, match="larger than"):
        parse_envelope(" " * 100 + json.dumps(SEED), max_bytes=100)
    with pytest.raises(EnvelopeError, match="not valid JSON"):
        parse_envelope("{")
    with pytest.raises(EnvelopeError, match="JSON object"):
        parse_envelope("[1]")
    with pytest.raises(EnvelopeError, match="nested deeper than 16"):
        parse_envelope("[" * 100_000, max_bytes=200_000)  # never reaches json's C recursion
    with pytest.raises(EnvelopeError, match="not valid UTF-8"):
        parse_envelope(b"\xff{}")
    brackets = {**SEED, "labels": {"note": '[[[[{{{{[[[[{{{{[[[[ \\" ]]'}}
    assert parse_envelope(json.dumps(brackets)).labels["note"].startswith("[[[[")
    assert parse_envelope(json.dumps(SEED).encode()).chain_id == 1


def test_destination_rule_arg_values_normalized() -> None:
    rule = DestinationRule.model_validate(
        {"args": {"to": ["0xABCDEFabcdefABCDEFabcdefABCDEFabcdefABCD"], "n": [5]}}
    )
    assert rule.args == {"to": {"0x" + "abcdef" * 6 + "abcd"}, "n": {"5"}}


@pytest.mark.parametrize(
    ("extra", "limits"),
    [({}, False), ({"budgetUsd": 50}, True), ({"maxCalls": 3}, True), ({"maxCalls": 0}, True)],
)
def test_limits_usage_says_when_decisions_depend_on_usage(
    extra: dict[str, Any], limits: bool
) -> None:
    assert load_envelope({**SEED, **extra}).limits_usage is limits
