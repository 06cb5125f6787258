"""The report's figures equal what the fixture log fed in (compute called directly), plus edge cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from report_expected import (
    DAILY_FIRST_FOUR,
    DAPP_REQUESTS,
    LONG_LIVED,
    OVERALL,
    RECORDS,
    SLOWEST,
    WEEK_OTHER,
    WEEK_REQUESTS,
)
from report_fixtures import FIXTURE, NOW, SINCE, session, write_log

from policy.errors import DenyReason
from proxy.audit.record import format_time
from proxy.report.compute import (
    NON_POLICY_REASONS,
    POLICY_DENY_REASONS,
    ReportBuilder,
    compute,
    iso_week,
    nearest_rank,
)
from proxy.report.source import read_audit_log


@pytest.fixture(scope="module")
def log_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audit") / "audit.jsonl"
    write_log(path)
    return path


@pytest.fixture(scope="module")
def document(log_path: Path) -> dict[str, Any]:
    records = [json.loads(line) for line in log_path.read_text().splitlines()]
    return compute(records, since=SINCE, now=NOW).document


def test_records_accounted(document: dict[str, Any]) -> None:
    assert document["records"] == RECORDS
    assert document["window"] == {
        "since": "2025-01-06T00:00:00Z",
        "since_unix": SINCE,
        "now": "2025-01-20T00:00:00Z",
        "now_unix": NOW,
    }


def test_overall_figures_exact(document: dict[str, Any]) -> None:
    overall = document["overall"]
    for key, expected in OVERALL.items():
        assert overall[key] == expected, key
    assert set(overall) == set(OVERALL)


@pytest.mark.parametrize("week", sorted(WEEK_REQUESTS))
def test_week_figures(document: dict[str, Any], week: str) -> None:
    assert sorted(document["weeks"]) == ["2025-W02", "2025-W03"]
    figures = document["weeks"][week]
    requests = dict(figures["requests"])
    requests.pop("by_reason")
    assert requests == WEEK_REQUESTS[week]
    approved, ended, revocations, post, replays = WEEK_OTHER[week]
    assert figures["sessions"] == {"approved": approved, "ended": ended}
    assert {path: e["revocations"] for path, e in figures["time_to_revoke"].items()} == revocations
    assert figures["post_revocation_attempts"] == post
    assert figures["replay_refusals"] == replays


def test_week_sums_equal_overall(document: dict[str, Any]) -> None:
    for key in ("total", "allowed", "denied", "errors", "delegated", "policy_denied"):
        weeks = sum(figures["requests"][key] for figures in document["weeks"].values())
        assert weeks == document["overall"]["requests"][key], key


@pytest.mark.parametrize("dapp", sorted(DAPP_REQUESTS))
def test_dapp_figures(document: dict[str, Any], dapp: str) -> None:
    assert sorted(document["dapps"]) == sorted(DAPP_REQUESTS)
    requests = dict(document["dapps"][dapp]["requests"])
    requests.pop("by_reason")
    assert requests == DAPP_REQUESTS[dapp]


def test_dapp_details(document: dict[str, Any]) -> None:
    a = document["dapps"]["https://a.example"]
    assert a["post_revocation_attempts"] == 1
    assert a["context_mismatch"]["by_kind"] == {
        "account": {"count": 1, "rate": 1 / 17},
        "chain": {"count": 1, "rate": 1 / 17},
    }
    assert a["time_to_revoke"]["policy"]["p50"] == 0.012
    c = document["dapps"]["https://c.example"]
    assert c["replay_refusals"] == {"chain_nonce": 2}
    assert c["sessions"] == {"approved": 3, "ended": {"revocation": 3}}  # c1, c2, old
    assert set(c["time_to_revoke"]) == {"policy", "user"}  # the emergency revocation has no dApp


def test_slowest_revocations(document: dict[str, Any]) -> None:
    assert document["slowest_revocations"] == SLOWEST


def test_long_lived_sessions(document: dict[str, Any]) -> None:
    assert document["long_lived_sessions"] == LONG_LIVED


def test_long_lived_threshold(log_path: Path) -> None:
    records = [json.loads(line) for line in log_path.read_text().splitlines()]
    document = compute(records, since=SINCE, now=NOW, long_lived_hours=2).document
    sessions = document["long_lived_sessions"]["sessions"]
    assert [entry["session"] for entry in sessions] == [session("a2"), session("b3")]
    assert sessions[1]["age_hours"] == 4.0


def test_daily_series(document: dict[str, Any]) -> None:
    daily = document["daily"]
    assert next(day["date"] for day in daily) == "2025-01-06"
    assert len(daily) == 15  # 2025-01-06 .. 2025-01-20 inclusive, empty days included
    assert daily[:4] == DAILY_FIRST_FOUR
    assert daily[-1]["requests"] == 0
    assert daily[-1]["denial_rate"] is None
    assert sum(day["requests"] for day in daily) == OVERALL["requests"]["total"]


def test_emergencies(document: dict[str, Any]) -> None:
    assert document["emergencies"] == [
        {
            "time": "2025-01-16T10:00:00Z",
            "event": "emergency_stop",
            "actor": "ops@example",
            "reason": "key compromise suspected",
        },
        {
            "time": "2025-01-16T11:00:00Z",
            "event": "emergency_resume",
            "actor": "ops@example",
            "reason": "false alarm",
        },
    ]


def test_document_is_json(document: dict[str, Any]) -> None:
    assert json.loads(json.dumps(document, allow_nan=False)) == document


def test_reader_feeds_the_same_records(log_path: Path, document: dict[str, Any]) -> None:
    builder = ReportBuilder(since=SINCE, now=NOW)
    verification = read_audit_log(log_path, builder)
    assert verification.result.ok
    assert verification.result.count == RECORDS["read"]
    assert builder.finish().document == document


def test_committed_fixture_is_current(tmp_path: Path) -> None:
    fresh = tmp_path / "weekly.jsonl"
    write_log(fresh)
    assert FIXTURE.read_bytes() == fresh.read_bytes(), (
        "regenerate with: .venv/bin/python tests/proxy/report/report_fixtures.py"
    )


def test_samples_for_charts(log_path: Path) -> None:
    records = [json.loads(line) for line in log_path.read_text().splitlines()]
    report = compute(records, since=SINCE, now=NOW)
    assert report.ttr_samples == {"emergency": [0.25], "policy": [0.012, 0.03, 1.5]}
    assert report.lifetime_samples["native.transfer"] == [
        3602.0,
        86400.0,
        169201.0,
        183601.0,
        1123201.0,
    ]


# --- definitions and edge cases -------------------------------------------------------------------


def test_every_deny_reason_is_classified() -> None:
    every = {reason.value for reason in DenyReason}
    assert every == POLICY_DENY_REASONS | NON_POLICY_REASONS
    assert not POLICY_DENY_REASONS & NON_POLICY_REASONS
    assert "value_cap_exceeded" in POLICY_DENY_REASONS
    assert "undecodable" in NON_POLICY_REASONS


def test_nearest_rank() -> None:
    assert nearest_rank([], 50) is None
    assert nearest_rank([1.0], 99) == 1.0
    assert nearest_rank([1.0, 2.0], 50) == 1.0
    values = [float(i) for i in range(1, 101)]
    assert nearest_rank(values, 50) == 50.0
    assert nearest_rank(values, 99) == 99.0
    assert nearest_rank(values, 100) == 100.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1e9), min_size=1, max_size=50), st.integers(1, 100))
def test_nearest_rank_is_an_observed_value(values: list[float], percent: int) -> None:
    ordered = sorted(values)
    result = nearest_rank(ordered, percent)
    assert result in ordered
    below = sum(1 for value in ordered if value <= result)
    assert below * 100 >= percent * len(ordered)


def test_iso_week_at_year_boundary() -> None:
    from datetime import UTC, datetime

    assert iso_week(datetime(2024, 12, 30, tzinfo=UTC)) == "2025-W01"
    assert iso_week(datetime(2025, 1, 5, 23, 59, tzinfo=UTC)) == "2025-W01"
    assert iso_week(datetime(2025, 1, 6, tzinfo=UTC)) == "2025-W02"


def _record(at: float, event: str, **fields: Any) -> dict[str, Any]:
    return {"time": format_time(at), "event": event, **fields}


def test_emergency_stop_ends_sessions_without_end_records() -> None:
    start = 1_700_000_000.0
    records = [
        _record(start, "session_approved", session="s1", dapp="https://x", details={}),
        _record(start, "session_approved", session="s2", dapp="https://y", details={}),
        _record(start + 10, "revocation", session=None, dapp="https://y", details={"path": "user"}),
        _record(start + 20, "session_approved", session="s3", dapp="https://x", details={}),
    ]
    report = compute(records, since=start, now=start + 86400 * 3, long_lived_hours=1)
    live = report.document["long_lived_sessions"]
    assert [entry["session"] for entry in live["sessions"]] == ["s1", "s3"]
    records.append(_record(start + 30, "emergency_stop", details={"actor": "me"}))
    report = compute(records, since=start, now=start + 86400 * 3, long_lived_hours=1)
    assert report.document["long_lived_sessions"]["alive"] == 0


def test_hostile_records_are_skipped_not_raised() -> None:
    start = 1_700_000_000.0
    records: list[Any] = [
        "not a dict",
        {"event": "request"},
        {"time": 12, "event": "request"},
        {"time": "yesterday", "event": "request"},
        _record(start, "request", decision="allow", reasons="nope", details=[1, 2]),
        _record(
            start,
            "request",
            decision=None,
            reasons=[1, None, "scope_denied"],
            details={"delegated": "yes"},
        ),
        _record(start, "session_ended", details={"lifetime_s": "NaN", "end": 5}),
        _record(start, "session_ended", details={"lifetime_s": "12.5", "action_classes": "x"}),
        _record(start, "revocation", details={"time_to_revoke_s": True, "path": None}),
        _record(start, "session_approved", session="s", details={"expires_at": "soon"}),
    ]
    document = compute(records, since=start - 1, now=start + 1).document
    assert document["records"]["skipped"] == 4
    requests = document["overall"]["requests"]
    assert (requests["total"], requests["allowed"], requests["errors"]) == (2, 1, 1)
    assert requests["delegated"] == 0  # only a JSON true counts
    assert requests["by_reason"] == {"scope_denied": 1}
    assert document["overall"]["session_lifetime"] == {
        "(none)": {
            "count": 1,
            "p50": 12.5,
            "p90": 12.5,
            "max": 12.5,
            "by_end": {"unknown": {"count": 1, "p50": 12.5, "p90": 12.5, "max": 12.5}},
        }
    }
    assert document["overall"]["time_to_revoke"]["unknown"]["count"] == 0
    assert document["long_lived_sessions"]["alive"] == 1


def test_window_bounds_validated() -> None:
    with pytest.raises(ValueError, match="since <= now"):
        compute([], since=2.0, now=1.0)
    with pytest.raises(ValueError, match="long_lived_hours"):
        compute([], since=1.0, now=2.0, long_lived_hours=float("nan"))


def test_empty_log() -> None:
    document = compute([], since=0.0, now=86400.0 * 2).document
    assert document["overall"]["requests"]["total"] == 0
    assert document["overall"]["requests"]["denial_rate"] is None
    assert document["overall"]["context_mismatch"]["rate"] is None
    assert len(document["daily"]) == 3
    assert document["weeks"] == {}
    assert document["dapps"] == {}


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_KEYS = st.sampled_from(
    ["event", "decision", "reasons", "session", "dapp", "action_class", "replay_layer", "details"]
)
_DETAILS = st.dictionaries(
    st.sampled_from(
        [
            "delegated",
            "context_mismatch",
            "post_revocation",
            "action_classes",
            "expires_at",
            "end",
            "lifetime_s",
            "path",
            "rule",
            "time_to_revoke_s",
            "actor",
        ]
    ),
    _JSON | st.sampled_from(["1.5", "inf", "-0", "1e400", True]),
    max_size=6,
)
_EVENTS = st.sampled_from(
    ["request", "session_approved", "session_ended", "revocation", "alert", "emergency_stop"]
)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.builds(
            lambda event, fields, details, offset: {
                **fields,
                "details": details,
                "event": event,
                "time": format_time(1_700_000_000 + offset),
            },
            _EVENTS,
            st.dictionaries(_KEYS, _JSON, max_size=6),
            _DETAILS | _JSON,
            st.integers(-86400, 86400),
        )
        | _JSON,
        max_size=15,
    )
)
def test_any_json_records_never_raise(records: list[Any]) -> None:
    report = compute(records, since=1_700_000_000 - 3600, now=1_700_000_000 + 3600)
    document = report.document
    accounted = document["records"]
    assert accounted["read"] == len(records)
    assert accounted["in_window"] + accounted["before_window"] + accounted["after_now"] + accounted[
        "skipped"
    ] == len(records)
    json.dumps(document, allow_nan=False)  # always serialisable, no NaN/inf leaks
