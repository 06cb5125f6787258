"""The policy-path rule evaluator: triggers, thresholds within a window, actions, bounds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy import revocation_rules
from proxy.config import RevocationRule
from proxy.revocation_rules import RequestFacts, RuleEvaluator, matches

S = "ab" * 32


def facts(
    kind: str = "policy", *reasons: str, at: float = 100.0, layer: str | None = None
) -> RequestFacts:
    return RequestFacts(session=S, at=at, kind=kind, reasons=reasons, replay_layer=layer)


@pytest.mark.parametrize(
    ("trigger", "hit", "miss"),
    [
        (
            "replay",
            facts("replay", "replay_detected", layer="payload"),
            facts("policy", "value_cap_exceeded"),
        ),
        ("non_delegable", facts("policy", "non_delegable"), facts("policy", "scope_denied")),
        ("context_mismatch", facts("policy", "chain_mismatch"), facts("policy", "non_delegable")),
        ("context_mismatch", facts("policy", "context_mismatch"), facts("allow")),
        ("denials", facts("malformed", "bad_params"), facts("unavailable", "signer_unavailable")),
        (
            "budget_exhausted",
            facts("policy", "budget_exhausted"),
            facts("policy", "value_cap_exceeded"),
        ),
        ("expired_envelope", facts("policy", "expired"), facts("expired", "request_expired")),
    ],
)
def test_each_trigger_matches_its_outcomes_only(
    trigger: str, hit: RequestFacts, miss: RequestFacts
) -> None:
    assert matches(trigger, hit)
    assert not matches(trigger, miss)
    evaluator = RuleEvaluator([RevocationRule(name=f"r-{trigger}", trigger=trigger)])  # type: ignore[arg-type]
    assert evaluator.observe(miss) == []
    [fired] = evaluator.observe(hit)
    assert (fired.rule, fired.trigger, fired.action, fired.session, fired.count) == (
        f"r-{trigger}",
        trigger,
        "revoke",
        S,
        1,
    )


def test_every_configured_trigger_name_is_known() -> None:
    from typing import get_args

    from proxy.config import RevocationTrigger

    assert set(get_args(RevocationTrigger)) == set(revocation_rules._TRIGGERS)


def test_threshold_within_window() -> None:
    rule = RevocationRule(name="burst", trigger="denials", threshold=3, window_s=10)
    ev = RuleEvaluator([rule])
    assert ev.observe(facts(at=0)) == []
    assert ev.observe(facts(at=5)) == []
    assert ev.observe(facts(at=11)) == []  # the one at 0 fell out of the window
    [fired] = ev.observe(facts(at=12))
    assert (fired.count, fired.first_at, fired.at) == (3, 5, 12)
    assert ev.observe(facts(at=13)) == []  # counting starts again after firing


def test_alert_rules_fire_after_revoke_rules_and_stopped_sessions_are_ignored() -> None:
    rules = [
        RevocationRule(name="alert-budget", trigger="denials", action="alert"),
        RevocationRule(name="no-replay", trigger="replay"),
    ]
    ev = RuleEvaluator(rules)
    fired = ev.observe(facts("replay", "replay_detected", layer="rpc_id"))
    assert [(f.rule, f.action) for f in fired] == [
        ("no-replay", "revoke"),
        ("alert-budget", "alert"),
    ]
    assert ev.observe(facts("revoked", "session_revoked")) == []
    assert ev.observe(facts("frozen", "signing_frozen")) == []


def test_forget_and_bounded_sessions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(revocation_rules, "MAX_TRACKED_SESSIONS", 3)
    ev = RuleEvaluator([RevocationRule(name="burst", trigger="denials", threshold=2, window_s=60)])
    for i in range(5):
        ev.observe(RequestFacts(session=f"s{i}", at=1, kind="policy"))
    assert ev.tracked() == 3
    ev.forget("s4")
    assert ev.tracked() == 2


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["allow", "policy", "replay", "malformed", "unavailable", "revoked"]),
            st.sampled_from(["non_delegable", "value_cap_exceeded", "replay_detected", "expired"]),
        ),
        max_size=40,
    )
)
def test_denial_rule_fires_once_per_threshold_matches(outcomes: list[tuple[str, str]]) -> None:
    ev = RuleEvaluator(
        [RevocationRule(name="burst", trigger="denials", threshold=4, window_s=10**6)]
    )
    fired = sum(
        len(ev.observe(facts(kind, reason, at=i))) for i, (kind, reason) in enumerate(outcomes)
    )
    denials = sum(kind in ("policy", "replay", "malformed") for kind, _ in outcomes)
    assert fired == denials // 4
