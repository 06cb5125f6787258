"""A two-week audit log with known figures, written by the real AuditLog writer (valid chain).

Window: ``SINCE`` = 2025-01-06T00:00Z (Monday, ISO week 2025-W02) to ``NOW`` = 2025-01-20T00:00Z (the
Monday after 2025-W03), i.e. ``--since 14d --now NOW``. Three dApps (A, B, C), every event kind, one
session approval and one request before the window, one request after ``NOW``. The expected figures are
written out by hand in test_compute.py; do not derive them from this file.

Run ``python tests/proxy/report/report_fixtures.py`` to regenerate tests/fixtures/audit/weekly.jsonl (a test
checks that the committed copy is byte-identical to a fresh one).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from proxy.audit.log import AuditLog, FileChainHeadStore, MemoryChainHeadStore
from proxy.audit.record import AuditEntry

__all__ = [
    "FIXTURE",
    "NOW",
    "SINCE",
    "A",
    "B",
    "C",
    "at",
    "scenario",
    "session",
    "write_entries",
    "write_log",
]

A = "https://a.example"
B = "https://b.example"
C = "https://c.example"
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "audit" / "weekly.jsonl"


def at(text: str) -> float:
    """``2025-01-06T10:00:00`` (UTC) -> unix seconds."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


SINCE = at("2025-01-06T00:00:00")
NOW = at("2025-01-20T00:00:00")


def session(name: str) -> str:
    """A 64-hex topic for a readable name (deterministic)."""
    return name.encode().hex().ljust(64, "0")[:64]


def scenario() -> list[tuple[float, AuditEntry]]:
    """(record time, entry) in log order."""
    out: list[tuple[float, AuditEntry]] = []
    counter = iter(range(1_000_000))

    def add(when: str | float, entry: AuditEntry) -> None:
        moment = at(when) if isinstance(when, str) else when
        out.append((moment, entry))

    def request(
        when: str,
        dapp: str,
        sess: str,
        decision: str,
        reasons: tuple[str, ...] = (),
        *,
        action_class: str | None = "native.transfer",
        method: str = "eth_sendTransaction",
        layer: str | None = None,
        delegated: bool = True,
        count: int = 1,
        **details: Any,
    ) -> None:
        for _ in range(count):
            extra: dict[str, Any] = dict(details)
            if delegated:
                extra["delegated"] = True
            add(
                when,
                AuditEntry(
                    event="request",
                    decision_id=f"d{next(counter):04d}",
                    decision=decision,
                    reasons=reasons,
                    session=session(sess),
                    dapp=dapp,
                    method=method,
                    action_class=action_class,
                    chain="eip155:1",
                    replay_layer=layer,
                    usd_value="10.00",
                    latency_us=400,
                    details=extra,
                ),
            )

    def approved(
        when: str, dapp: str, sess: str, classes: list[str], expires: float, rule: str
    ) -> None:
        add(
            when,
            AuditEntry(
                event="session_approved",
                decision_id=f"d{next(counter):04d}",
                session=session(sess),
                dapp=dapp,
                envelope_id=f"env-{sess}",
                details={"action_classes": classes, "expires_at": expires, "rule": rule},
            ),
        )

    def ended(
        when: str, dapp: str, sess: str, end: str, lifetime: float, classes: list[str]
    ) -> None:
        add(
            when,
            AuditEntry(
                event="session_ended",
                decision_id=f"d{next(counter):04d}",
                session=session(sess),
                dapp=dapp,
                details={"end": end, "lifetime_s": lifetime, "action_classes": classes},
            ),
        )

    def alert(when: str, dapp: str, sess: str, rule: str) -> None:
        add(
            when,
            AuditEntry(
                event="alert",
                decision_id=f"d{next(counter):04d}",
                session=session(sess),
                dapp=dapp,
                details={"rule": rule, "severity": "critical", "alert_at": at(when)},
            ),
        )

    def revoked(
        when: str,
        dapp: str | None,
        sess: str | None,
        path: str,
        rule: str | None,
        actor: str,
        ttr: float | None,
    ) -> None:
        effective = at(when)
        add(
            effective,
            AuditEntry(
                event="revocation",
                decision_id=f"d{next(counter):04d}",
                session=None if sess is None else session(sess),
                dapp=dapp,
                details={
                    "path": path,
                    "rule": rule,
                    "actor": actor,
                    "reason": f"{path} revocation",
                    "alert_at": None if ttr is None else effective - ttr,
                    "effective_at": effective,
                    "time_to_revoke_s": ttr,
                },
            ),
        )

    def emergency(when: str, event: str, reason: str) -> None:
        add(
            when,
            AuditEntry(
                event=event,
                decision_id=f"d{next(counter):04d}",
                details={"actor": "ops@example", "reason": reason},
            ),
        )

    add(0.0 + at("2025-01-02T00:00:00"), AuditEntry(event="startup", decision_id="start"))
    # --- before the window --------------------------------------------------------------------
    approved("2025-01-03T10:00:00", C, "old", ["native.transfer"], NOW + 30 * 86400, "trusted")
    request("2025-01-03T11:00:00", C, "old", "allow")
    # --- 2025-W02 -----------------------------------------------------------------------------
    approved(
        "2025-01-06T09:00:00",
        A,
        "a1",
        ["erc20.transfer", "native.transfer"],
        NOW + 10 * 86400,
        "default",
    )
    approved("2025-01-06T09:00:00", B, "b1", ["permit"], at("2025-01-07T09:00:00"), "short")
    request("2025-01-06T10:00:00", A, "a1", "allow", count=4)
    request(
        "2025-01-06T10:30:00",
        B,
        "b1",
        "allow",
        action_class="permit",
        method="eth_signTypedData_v4",
        count=3,
    )
    request("2025-01-06T11:00:00", A, "a1", "deny", ("value_cap_exceeded",), count=2)
    request(
        "2025-01-06T11:30:00",
        B,
        "b1",
        "deny",
        ("replay_detected",),
        action_class="permit",
        method="eth_signTypedData_v4",
        layer="permit_nonce",
    )
    request(
        "2025-01-06T12:00:00",
        A,
        "a1",
        "deny",
        ("value_cap_exceeded", "destination_not_allowed"),
        action_class="erc20.transfer",
    )
    ended("2025-01-07T09:00:00", B, "b1", "expiry", 86400.0, ["permit"])
    request("2025-01-07T10:00:00", A, "a1", "error", ("undecodable",), action_class=None)
    request("2025-01-07T11:00:00", A, "a1", "deny", ("undecodable",), action_class=None)
    request(
        "2025-01-07T12:00:00",
        A,
        "a1",
        "deny",
        ("context_mismatch",),
        context_mismatch=["chain", "account"],
    )
    request(
        "2025-01-08T10:00:00",
        B,
        "b1",
        "deny",
        ("session_revoked",),
        action_class="permit",
        method="eth_signTypedData_v4",
        post_revocation=True,
    )
    request(
        "2025-01-08T12:00:00",
        A,
        "a1",
        "deny",
        ("non_delegable",),
        action_class="eip7702.authorization",
        method="eth_signAuthorization",
    )
    alert("2025-01-08T12:00:00.500000", A, "a1", "non_delegable_attempt")
    revoked(
        "2025-01-08T12:00:00.512000", A, "a1", "policy", "non_delegable_attempt", "policy", 0.012
    )
    ended(
        "2025-01-08T12:00:01",
        A,
        "a1",
        "revocation",
        183601.0,
        ["erc20.transfer", "native.transfer"],
    )
    request("2025-01-08T13:00:00", A, "a1", "deny", ("session_revoked",), post_revocation=True)
    request(
        "2025-01-09T10:00:00",
        A,
        "a1",
        "allow",
        action_class=None,
        method="wallet_getCapabilities",
        delegated=False,
    )
    # --- 2025-W03 -----------------------------------------------------------------------------
    approved("2025-01-13T09:00:00", C, "c1", ["swap"], NOW + 5 * 86400, "default")
    approved("2025-01-13T09:00:00", B, "b2", ["permit", "native.transfer"], NOW + 86400, "default")
    request("2025-01-13T10:00:00", C, "c1", "allow", action_class="swap", count=5)
    request(
        "2025-01-13T10:30:00", C, "c1", "deny", ("budget_exhausted",), action_class="swap", count=2
    )
    request(
        "2025-01-13T11:00:00",
        C,
        "c1",
        "deny",
        ("replay_detected",),
        action_class="swap",
        layer="chain_nonce",
        count=2,
    )
    request(
        "2025-01-14T10:00:00",
        C,
        "c1",
        "deny",
        ("context_mismatch",),
        action_class="swap",
        context_mismatch=["origin"],
    )
    revoked("2025-01-14T12:00:00", C, "c1", "user", None, "admin", None)
    ended("2025-01-14T12:00:01", C, "c1", "revocation", 97201.0, ["swap"])
    request(
        "2025-01-15T08:00:00",
        B,
        "b2",
        "deny",
        ("replay_detected",),
        action_class="permit",
        method="eth_signTypedData_v4",
        layer="rpc_id",
    )
    alert("2025-01-15T08:00:00", B, "b2", "replay_attempt")
    revoked("2025-01-15T08:00:00.030000", B, "b2", "policy", "replay_attempt", "policy", 0.030)
    ended("2025-01-15T08:00:01", B, "b2", "revocation", 169201.0, ["permit", "native.transfer"])
    emergency("2025-01-16T10:00:00", "emergency_stop", "key compromise suspected")
    revoked("2025-01-16T10:00:00.250000", None, None, "emergency", None, "ops@example", 0.25)
    ended("2025-01-16T10:00:01", C, "old", "revocation", 1123201.0, ["native.transfer"])
    emergency("2025-01-16T11:00:00", "emergency_resume", "false alarm")
    approved("2025-01-16T12:00:00", A, "a2", ["native.transfer"], NOW + 7 * 86400, "default")
    approved("2025-01-17T08:00:00", C, "c2", ["native.transfer"], NOW + 86400, "default")
    request(
        "2025-01-17T09:00:00", C, "c2", "deny", ("context_mismatch",), context_mismatch=["chain"]
    )
    alert("2025-01-17T09:00:00", C, "c2", "context_mismatch")
    revoked("2025-01-17T09:00:01.500000", C, "c2", "policy", "context_mismatch", "policy", 1.5)
    ended("2025-01-17T09:00:02", C, "c2", "revocation", 3602.0, ["native.transfer"])
    approved("2025-01-17T10:00:00", A, "a3", ["native.transfer"], NOW + 86400, "default")
    request("2025-01-17T12:00:00", A, "a2", "allow", count=2)
    request("2025-01-17T12:30:00", A, "a2", "deny", ("scope_denied",), action_class="erc20.approve")
    request("2025-01-17T13:00:00", A, "a2", "error", ("store_unavailable",))
    approved("2025-01-18T00:00:00", C, "c3", ["swap"], at("2025-01-19T00:00:00"), "short")
    ended("2025-01-18T10:00:00", A, "a3", "disconnect", 86400.0, ["native.transfer"])
    approved("2025-01-19T20:00:00", B, "b3", ["permit"], NOW + 86400, "default")
    # --- after NOW (a copy taken later): ignored ----------------------------------------------
    request("2025-01-21T10:00:00", A, "a2", "deny", ("value_cap_exceeded",))
    return out


async def write_entries(
    path: Path, entries: list[tuple[float, AuditEntry]], *, head_file: bool = False
) -> None:
    """Write ``entries`` with the real writer, its clock returning each entry's time."""
    current = [0.0]

    def clock() -> float:
        return current[0]

    heads = (
        FileChainHeadStore(path.with_name(path.name + ".head"))
        if head_file
        else MemoryChainHeadStore()
    )
    log = await AuditLog.open(path, heads, fsync="never", clock=clock)
    try:
        for moment, entry in entries:
            current[0] = moment
            await log.append(entry)
    finally:
        await log.close()


def write_log(path: Path, *, head_file: bool = False) -> int:
    """Write the scenario to ``path``; returns the number of records."""
    entries = scenario()
    asyncio.run(write_entries(path, entries, head_file=head_file))
    return len(entries)


if __name__ == "__main__":
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.unlink(missing_ok=True)
    count = write_log(FIXTURE)
    sys.stdout.write(f"wrote {count} records to {FIXTURE}\n")
