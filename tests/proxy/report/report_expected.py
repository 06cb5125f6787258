"""The figures of the fixture log (tests/proxy/report/report_fixtures.py), counted by hand from the scenario.

Request ids below refer to the scenario in order of appearance (r1-r4 = the four allows on A on
2025-01-06 10:00, ...). Written out literally so a wrong computation cannot also be the expectation.
"""

from __future__ import annotations

from typing import Any

from report_fixtures import session

__all__ = [
    "DAILY_FIRST_FOUR",
    "DAPP_REQUESTS",
    "LONG_LIVED",
    "OVERALL",
    "RECORDS",
    "SLOWEST",
    "WEEK_REQUESTS",
]

_POLICY_RULES = {"context_mismatch": 1, "non_delegable_attempt": 1, "replay_attempt": 1}


def _stats(count: int, p50: float, p90: float, top: float) -> dict[str, Any]:
    return {"count": count, "p50": p50, "p90": p90, "max": top}


RECORDS = {"read": 64, "in_window": 60, "before_window": 3, "after_now": 1, "skipped": 0}

OVERALL: dict[str, Any] = {
    "requests": {
        "total": 34,
        "allowed": 15,
        "denied": 17,
        "errors": 2,
        "delegated": 33,  # the wallet_getCapabilities allow is not delegated
        "policy_denied": 16,  # the deny for "undecodable" alone is not a policy denial
        "denial_rate": 16 / 33,
        "by_reason": {
            "budget_exhausted": 2,
            "context_mismatch": 3,
            "destination_not_allowed": 1,
            "non_delegable": 1,
            "replay_detected": 4,
            "scope_denied": 1,
            "session_revoked": 2,
            "store_unavailable": 1,
            "undecodable": 2,
            "value_cap_exceeded": 3,
        },
    },
    "sessions": {"approved": 9, "ended": {"disconnect": 1, "expiry": 1, "revocation": 5}},
    "session_lifetime": {
        "erc20.transfer": {
            **_stats(1, 183601.0, 183601.0, 183601.0),
            "by_end": {"revocation": _stats(1, 183601.0, 183601.0, 183601.0)},
        },
        # [3602, 86400, 169201, 183601, 1123201]: p50 = rank 3, p90 = rank 5
        "native.transfer": {
            **_stats(5, 169201.0, 1123201.0, 1123201.0),
            "by_end": {
                "disconnect": _stats(1, 86400.0, 86400.0, 86400.0),
                "revocation": _stats(4, 169201.0, 1123201.0, 1123201.0),
            },
        },
        "permit": {
            **_stats(2, 86400.0, 169201.0, 169201.0),
            "by_end": {
                "expiry": _stats(1, 86400.0, 86400.0, 86400.0),
                "revocation": _stats(1, 169201.0, 169201.0, 169201.0),
            },
        },
        "swap": {
            **_stats(1, 97201.0, 97201.0, 97201.0),
            "by_end": {"revocation": _stats(1, 97201.0, 97201.0, 97201.0)},
        },
    },
    "time_to_revoke": {
        "emergency": {
            "revocations": 1,
            "count": 1,
            "p50": 0.25,
            "p99": 0.25,
            "max": 0.25,
            "rules": {"(none)": 1},
        },
        # [0.012, 0.03, 1.5]: p50 = rank 2, p99 = rank 3
        "policy": {
            "revocations": 3,
            "count": 3,
            "p50": 0.03,
            "p99": 1.5,
            "max": 1.5,
            "rules": _POLICY_RULES,
        },
        "user": {
            "revocations": 1,
            "count": 0,
            "p50": None,
            "p99": None,
            "max": None,
            "rules": {"(none)": 1},
        },
    },
    "alerts": {"context_mismatch": 1, "non_delegable_attempt": 1, "replay_attempt": 1},
    "context_mismatch": {
        "requests": 3,
        "rate": 3 / 34,
        "by_kind": {
            "account": {"count": 1, "rate": 1 / 34},
            "chain": {"count": 2, "rate": 2 / 34},
            "origin": {"count": 1, "rate": 1 / 34},
        },
    },
    "post_revocation_attempts": 2,
    "boundary_hits": [
        {"action_class": "native.transfer", "reason": "context_mismatch", "count": 2},
        {"action_class": "native.transfer", "reason": "value_cap_exceeded", "count": 2},
        {"action_class": "permit", "reason": "replay_detected", "count": 2},
        {"action_class": "swap", "reason": "budget_exhausted", "count": 2},
        {"action_class": "swap", "reason": "replay_detected", "count": 2},
        {"action_class": "eip7702.authorization", "reason": "non_delegable", "count": 1},
        {"action_class": "erc20.approve", "reason": "scope_denied", "count": 1},
        {"action_class": "erc20.transfer", "reason": "destination_not_allowed", "count": 1},
        {"action_class": "erc20.transfer", "reason": "value_cap_exceeded", "count": 1},
        {"action_class": "native.transfer", "reason": "session_revoked", "count": 1},
        {"action_class": "permit", "reason": "session_revoked", "count": 1},
        {"action_class": "swap", "reason": "context_mismatch", "count": 1},
    ],
    "replay_refusals": {"chain_nonce": 2, "permit_nonce": 1, "rpc_id": 1},
    "emergency": {"stops": 1, "resumes": 1},
}


def _requests(
    total: int, allowed: int, denied: int, errors: int, delegated: int, policy: int
) -> dict[str, Any]:
    return {
        "total": total,
        "allowed": allowed,
        "denied": denied,
        "errors": errors,
        "delegated": delegated,
        "policy_denied": policy,
        "denial_rate": policy / delegated,
    }


WEEK_REQUESTS = {
    "2025-W02": _requests(18, 8, 9, 1, 17, 8),
    "2025-W03": _requests(16, 7, 8, 1, 16, 8),
}
#: week -> (sessions approved, ended by kind, revocations by path, post-revocation, replay refusals)
WEEK_OTHER = {
    "2025-W02": (
        2,
        {"expiry": 1, "revocation": 1},
        {"policy": 1},
        2,
        {"permit_nonce": 1},
    ),
    "2025-W03": (
        7,
        {"disconnect": 1, "revocation": 4},
        {"emergency": 1, "policy": 2, "user": 1},
        0,
        {"chain_nonce": 2, "rpc_id": 1},
    ),
}
__all__ += ["WEEK_OTHER"]

DAPP_REQUESTS = {
    "https://a.example": _requests(17, 7, 8, 2, 16, 7),
    "https://b.example": _requests(6, 3, 3, 0, 6, 3),
    "https://c.example": _requests(11, 5, 6, 0, 11, 6),
}

SLOWEST = [
    {
        "time": "2025-01-17T09:00:01Z",
        "session": session("c2"),
        "dapp": "https://c.example",
        "path": "policy",
        "rule": "context_mismatch",
        "actor": "policy",
        "seconds": 1.5,
    },
    {
        "time": "2025-01-16T10:00:00Z",
        "session": None,
        "dapp": None,
        "path": "emergency",
        "rule": None,
        "actor": "ops@example",
        "seconds": 0.25,
    },
    {
        "time": "2025-01-15T08:00:00Z",
        "session": session("b2"),
        "dapp": "https://b.example",
        "path": "policy",
        "rule": "replay_attempt",
        "actor": "policy",
        "seconds": 0.03,
    },
    {
        "time": "2025-01-08T12:00:00Z",
        "session": session("a1"),
        "dapp": "https://a.example",
        "path": "policy",
        "rule": "non_delegable_attempt",
        "actor": "policy",
        "seconds": 0.012,
    },
]

LONG_LIVED = {
    "threshold_hours": 24.0,
    "alive": 2,  # a2 and b3 (c3 expired without an end record; old was ended by the emergency stop)
    "count": 1,
    "sessions": [
        {
            "session": session("a2"),
            "dapp": "https://a.example",
            "approved_at": "2025-01-16T12:00:00Z",
            "age_hours": 84.0,
            "action_classes": ["native.transfer"],
            "rule": "default",
            "expires_at": "2025-01-27T00:00:00Z",
        }
    ],
}


def _day(
    date: str, total: int, allowed: int, denied: int, errors: int, delegated: int, policy: int
) -> dict[str, Any]:
    return {
        "date": date,
        "requests": total,
        "allowed": allowed,
        "denied": denied,
        "errors": errors,
        "delegated": delegated,
        "policy_denied": policy,
        "denial_rate": policy / delegated if delegated else None,
    }


DAILY_FIRST_FOUR = [
    _day("2025-01-06", 11, 7, 4, 0, 11, 4),
    _day("2025-01-07", 3, 0, 2, 1, 3, 1),
    _day("2025-01-08", 3, 0, 3, 0, 3, 3),
    _day("2025-01-09", 1, 1, 0, 0, 0, 0),
]
