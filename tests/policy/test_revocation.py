"""policy.revocation: records round-trip through plain JSON, hostile input fails with RecordError."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy.errors import RecordError
from policy.replay import ClaimOutcome, Frozen, Revoked
from policy.revocation import (
    BINDING_RETENTION_S,
    MAX_SESSION_CHARS,
    REVOCATION_MARGIN_S,
    UNBOUND_SESSION_TTL_S,
    EventKind,
    Freeze,
    Revocation,
    RevocationPath,
    SessionBinding,
    binding_purge_at,
    freeze_event,
    revocation_keep_until,
    revoke_event,
    unfreeze_event,
)

NOW = 1_700_000_000.5


def _binding(**changes: Any) -> SessionBinding:
    data: dict[str, Any] = {
        "session": "ab" * 32,
        "envelope": {"version": 1, "limits": [{"usd": "10.25"}], "nested": {"x": None}},
        "envelope_id": "env-1",
        "rule": None,
        "dapp": "https://app.example",
        "dapp_name": "App",
        "approved_at": NOW,
        "expires_at": int(NOW) + 604_800,
        "action_classes": ["swap"],
        "accounts": ["eip155:1:0xacc"],
        "chain": "eip155:1",
        "ended_at": None,
        "end": None,
    }
    data.update(changes)
    return SessionBinding.from_dict(data)


def test_revocation_round_trips_through_json() -> None:
    revocation = Revocation(
        "s1", RevocationPath.POLICY, "n_denials", "policy", "5 denials in 60 s", NOW, NOW - 0.012
    )
    text = json.dumps(revocation.to_dict())
    assert Revocation.from_dict(json.loads(text)) == revocation
    everyone = Revocation(None, RevocationPath.EMERGENCY, None, "ops", "stop", NOW)
    assert Revocation.from_dict(everyone.to_dict()) == everyone
    assert everyone.for_session("s2") == Revocation(
        "s2", RevocationPath.EMERGENCY, None, "ops", "stop", NOW
    )


def test_freeze_and_binding_round_trip() -> None:
    freeze = Freeze("ops", "incident #4", NOW)
    assert Freeze.from_dict(json.loads(json.dumps(freeze.to_dict()))) == freeze
    binding = _binding(ended_at=NOW + 5, end="revoked")
    again = SessionBinding.from_dict(json.loads(json.dumps(binding.to_dict())))
    assert again == binding
    assert again.action_classes == ("swap",)
    assert again.purge_at == binding.expires_at + BINDING_RETENTION_S


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"path": "admin"}, "path"),
        ({"path": 3}, "path"),
        ({"session": ""}, "session"),
        ({"session": "x" * (MAX_SESSION_CHARS + 1)}, "session"),
        ({"at": "now"}, "at"),
        ({"at": math.inf}, "at"),
        ({"at": True}, "at"),
        ({"alert_at": math.nan}, "alert_at"),
        ({"actor": None}, "actor"),
        ({"reason": "r" * 5000}, "reason"),
        ({"rule": 7}, "rule"),
    ],
)
def test_bad_revocations_raise_record_error(changes: dict[str, Any], field: str) -> None:
    data: dict[str, Any] = Revocation(
        "s1", RevocationPath.USER, None, "alice", "why", NOW
    ).to_dict()
    data.update(changes)
    with pytest.raises(RecordError, match=field):
        Revocation.from_dict(data)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"envelope": []}, "envelope"),
        ({"expires_at": 1.5}, "expires_at"),
        ({"expires_at": True}, "expires_at"),
        ({"action_classes": "swap"}, "action_classes"),
        ({"accounts": [1]}, "accounts"),
        ({"accounts": ["a"] * 600}, "accounts"),
        ({"approved_at": None}, "approved_at"),
        ({"session": None}, "session"),
        ({"end": 3}, "end"),
    ],
)
def test_bad_bindings_raise_record_error(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(RecordError, match=field):
        _binding(**changes)


@pytest.mark.parametrize("bad", [None, [], "x", 3])
def test_non_objects_raise_record_error(bad: Any) -> None:
    for kind in (Revocation, Freeze, SessionBinding):
        with pytest.raises(RecordError):
            kind.from_dict(bad)


@settings(max_examples=60)
@given(
    st.dictionaries(
        st.sampled_from(["session", "path", "rule", "actor", "reason", "at", "alert_at", "x"]),
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    )
)
def test_hostile_revocation_dicts_only_raise_record_error(data: dict[str, Any]) -> None:
    try:
        parsed = Revocation.from_dict(data)
    except RecordError:
        return
    assert Revocation.from_dict(parsed.to_dict()) == parsed


def test_retention_never_ends_before_the_session_would_have_expired() -> None:
    expiry = NOW + 10_000
    assert revocation_keep_until(NOW, expiry) == expiry + REVOCATION_MARGIN_S
    assert revocation_keep_until(NOW, None) == NOW + UNBOUND_SESSION_TTL_S + REVOCATION_MARGIN_S
    # a revocation after the session expired is still kept a margin past the revocation
    assert revocation_keep_until(NOW, NOW - 50) == NOW + REVOCATION_MARGIN_S
    assert binding_purge_at(expiry, None) == expiry + BINDING_RETENTION_S
    assert binding_purge_at(expiry, expiry + 7) == expiry + 7 + BINDING_RETENTION_S
    assert binding_purge_at(expiry, NOW) == expiry + BINDING_RETENTION_S


def test_events_are_plain_json() -> None:
    revocation = Revocation("s1", RevocationPath.USER, None, "alice", "why", NOW)
    freeze, by = Freeze("ops", "incident", NOW), Freeze("ops", "resolved", NOW + 60)
    events = [revoke_event(revocation), freeze_event(freeze), unfreeze_event(freeze, by)]
    assert [EventKind(e["kind"]) for e in events] == list(EventKind)
    assert json.loads(json.dumps(events)) == events
    assert Revocation.from_dict(events[0]["revocation"]) == revocation
    assert Freeze.from_dict(events[2]["by"]) == by


def test_new_outcomes_are_claim_outcomes() -> None:
    revoked: ClaimOutcome = Revoked(Revocation("s", RevocationPath.USER, None, "a", "r", NOW))
    frozen: ClaimOutcome = Frozen(Freeze("a", "r", NOW))
    assert isinstance(revoked, Revoked)
    assert isinstance(frozen, Frozen)
