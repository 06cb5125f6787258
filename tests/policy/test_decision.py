"""Decision: invariants, stable ordering, JSON form."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from engine_builders import action

from policy.decision import Decision, action_to_dict
from policy.errors import DenyReason


def test_deny_sorts_reasons_and_joins_messages() -> None:
    d = Decision.deny(
        {
            DenyReason.VALUE_CAP_EXCEEDED: ["too much"],
            DenyReason.CHAIN_MISMATCH: ["chain 10", "chain 0", "chain 10"],
        }
    )
    assert d.reasons == (DenyReason.CHAIN_MISMATCH, DenyReason.VALUE_CAP_EXCEEDED)
    assert d.messages == ("chain 10; chain 0", "too much")
    assert not d.allowed
    assert d.denied
    assert d.budget_charge_usd == 0


def test_many_details_are_bounded() -> None:
    d = Decision.deny({DenyReason.DESTINATION_NOT_ALLOWED: [f"d{i}" for i in range(20)]})
    assert d.messages[0].endswith("(+12 more)")


def test_allow_charges_its_value() -> None:
    d = Decision.allow(usd_value=Decimal("1.5"), action=None)
    assert d.allowed
    assert d.reasons == ()
    assert d.budget_charge_usd == Decimal("1.5")
    assert Decision.allow(usd_value=None, action=None).budget_charge_usd == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"allowed": True, "reasons": (DenyReason.EXPIRED,), "messages": ("x",)},
        {"allowed": False},
        {"allowed": False, "reasons": (DenyReason.EXPIRED,), "messages": ()},
        {
            "allowed": False,
            "reasons": (DenyReason.EXPIRED,),
            "messages": ("x",),
            "budget_charge_usd": Decimal(1),
        },
    ],
)
def test_invariants(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"Decision|message|denial"):
        Decision(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one reason"):
        Decision.deny({})


def test_json_form() -> None:
    a = action()
    d = Decision.deny(
        {DenyReason.EXPIRED: ["gone"]},
        usd_value=Decimal("1.000000"),
        action=a,
        envelope_id="sha256:x",
    )
    doc = json.loads(d.to_json())
    assert doc["allowed"] is False
    assert doc["reasons"] == ["expired"]
    assert doc["messages"] == ["gone"]
    assert doc["usd_value"] == "1.000000"
    assert doc["budget_charge_usd"] == "0"
    assert doc["envelope_id"] == "sha256:x"
    assert doc["action"] == action_to_dict(a)
    assert doc["action"]["token_amounts"][0]["amount"] == "1000000"
    assert doc["action"]["calls"][0]["function"] == "transfer(address,uint256)"
    assert d.as_dict()["reasons"] == ["expired"]


def test_reason_codes_documented_exactly_once() -> None:
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs/reason-codes.md").read_text()
    codes = re.findall(r"^- `([a-z_]+)` —", doc, re.MULTILINE)
    assert sorted(codes) == sorted(r.value for r in DenyReason)
    assert len(codes) == len(set(codes))
