"""Render a report document as plain-text tables for a terminal or an e-mail (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from proxy.report.compute import DEFAULT_TOP
from proxy.report.format import duration, rate, short_id, verification_line

__all__ = ["render_text", "table"]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], indent: str = "  ") -> str:
    """Fixed-width table; numeric cells are right-aligned. Empty ``rows`` gives ``(none)``."""
    if not rows:
        return f"{indent}(none)"
    cells = [[str(cell) for cell in row] for row in rows]
    numeric = [all(_looks_numeric(row[i]) for row in cells) for i in range(len(headers))]
    widths = [max(len(headers[i]), *(len(row[i]) for row in cells)) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [
            value.rjust(widths[i]) if numeric[i] else value.ljust(widths[i])
            for i, value in enumerate(values)
        ]
        return (indent + "  ".join(parts)).rstrip()

    out = [line(list(headers)), indent + "  ".join("-" * width for width in widths)]
    out.extend(line(row) for row in cells)
    return "\n".join(out)


def _looks_numeric(text: str) -> bool:
    head = text.split(" ")[0].rstrip("%")
    try:
        float(head)
    except ValueError:
        return head == "-"
    return True


def _slice_rows(slices: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for name, figures in slices.items():
        req = figures["requests"]
        rows.append(
            [
                name,
                req["total"],
                req["allowed"],
                req["denied"],
                req["errors"],
                req["delegated"],
                rate(req["denial_rate"]),
                figures["context_mismatch"]["requests"],
                figures["post_revocation_attempts"],
                sum(figures["replay_refusals"].values()),
                sum(path["revocations"] for path in figures["time_to_revoke"].values()),
                figures["sessions"]["approved"],
            ]
        )
    return rows


_SLICE_HEADERS = (
    "requests",
    "allowed",
    "denied",
    "errors",
    "delegated",
    "denial rate",
    "ctx mismatch",
    "post-revoke",
    "replays",
    "revocations",
    "sessions",
)


def _section(title: str, body: str) -> str:
    return f"{title}\n{body}"


def render_text(document: dict[str, Any]) -> str:
    """The whole report as text: verification banner, then one titled table per figure."""
    overall = document["overall"]
    window = document["window"]
    ok, sentence = verification_line(document.get("verification"))
    parts: list[str] = []
    source = (document.get("source") or {}).get("audit")
    parts.append(
        f"wcproxy report  {window['since']} .. {window['now']}"
        + (f"  ({source})" if source else "")
    )
    if ok:
        parts.append(sentence)
    else:
        bar = "!" * min(max(len(sentence) + 6, 40), 100)
        parts.append(f"{bar}\n!! {sentence}\n{bar}")
    records = document["records"]
    parts.append(
        f"Records: {records['in_window']} in the window, {records['read']} read"
        + (f", {records['skipped']} unreadable (skipped)" if records["skipped"] else "")
    )
    req = overall["requests"]
    parts.append(
        _section(
            "Requests",
            table(
                (
                    "requests",
                    "allowed",
                    "denied",
                    "errors",
                    "delegated",
                    "policy-denied",
                    "denial rate",
                ),
                [
                    [
                        req["total"],
                        req["allowed"],
                        req["denied"],
                        req["errors"],
                        req["delegated"],
                        req["policy_denied"],
                        rate(req["denial_rate"]),
                    ]
                ],
            ),
        )
    )
    parts.append(
        _section("Per ISO week", table(("week", *_SLICE_HEADERS), _slice_rows(document["weeks"])))
    )
    parts.append(
        _section("Per dApp", table(("dApp", *_SLICE_HEADERS), _slice_rows(document["dapps"])))
    )
    hits = overall["boundary_hits"][:DEFAULT_TOP]
    parts.append(
        _section(
            "Top boundary hits (delegated actions hitting policy limits)",
            table(
                ("action class", "reason", "hits"),
                [[hit["action_class"], hit["reason"], hit["count"]] for hit in hits],
            ),
        )
    )
    lifetime_rows: list[list[Any]] = []
    for action_class, entry in overall["session_lifetime"].items():
        lifetime_rows.append(
            [
                action_class,
                "all",
                entry["count"],
                duration(entry["p50"]),
                duration(entry["p90"]),
                duration(entry["max"]),
            ]
        )
        for end, stats in entry["by_end"].items():
            lifetime_rows.append(
                [
                    "",
                    end,
                    stats["count"],
                    duration(stats["p50"]),
                    duration(stats["p90"]),
                    duration(stats["max"]),
                ]
            )
    parts.append(
        _section(
            "Session lifetime by action class (approval to end)",
            table(("action class", "end", "sessions", "p50", "p90", "max"), lifetime_rows),
        )
    )
    ttr_rows = [
        [
            path,
            entry["revocations"],
            entry["count"],
            duration(entry["p50"]),
            duration(entry["p99"]),
            duration(entry["max"]),
            ", ".join(f"{rule} ({count})" for rule, count in entry["rules"].items()),
        ]
        for path, entry in overall["time_to_revoke"].items()
    ]
    parts.append(
        _section(
            "Time from critical alert to effective revocation, per path",
            table(("path", "revocations", "timed", "p50", "p99", "max", "rules"), ttr_rows),
        )
    )
    parts.append(
        _section(
            "Slowest revocations",
            table(
                ("time", "session", "dApp", "path", "rule", "time to revoke"),
                [
                    [
                        entry["time"],
                        short_id(entry["session"]),
                        entry["dapp"] or "-",
                        entry["path"],
                        entry["rule"] or "-",
                        duration(entry["seconds"]),
                    ]
                    for entry in document["slowest_revocations"]
                ],
            ),
        )
    )
    mismatch = overall["context_mismatch"]
    parts.append(
        _section(
            f"Context mismatches: {mismatch['requests']} request(s), rate {rate(mismatch['rate'])}",
            table(
                ("kind", "requests", "rate"),
                [
                    [kind, entry["count"], rate(entry["rate"])]
                    for kind, entry in mismatch["by_kind"].items()
                ],
            ),
        )
    )
    parts.append(f"Post-revocation attempts: {overall['post_revocation_attempts']}")
    parts.append(
        _section(
            "Replay refusals by layer",
            table(
                ("layer", "refusals"),
                [[layer, count] for layer, count in overall["replay_refusals"].items()],
            ),
        )
    )
    parts.append(
        _section(
            "Critical alerts by rule",
            table(("rule", "alerts"), [[rule, count] for rule, count in overall["alerts"].items()]),
        )
    )
    sessions = overall["sessions"]
    ended = ", ".join(f"{end} {count}" for end, count in sessions["ended"].items()) or "none"
    parts.append(f"Sessions: {sessions['approved']} approved, ended: {ended}")
    long_lived = document["long_lived_sessions"]
    parts.append(
        _section(
            f"Sessions alive longer than {long_lived['threshold_hours']:g} h at {window['now']}: "
            f"{long_lived['count']} (of {long_lived['alive']} alive)",
            table(
                ("session", "dApp", "approved", "age", "action classes", "rule"),
                [
                    [
                        short_id(entry["session"]),
                        entry["dapp"] or "-",
                        entry["approved_at"],
                        duration(entry["age_hours"] * 3600),
                        ", ".join(entry["action_classes"]) or "-",
                        entry["rule"] or "-",
                    ]
                    for entry in long_lived["sessions"]
                ],
            ),
        )
    )
    if document["emergencies"]:
        parts.append(
            _section(
                "Emergency stops and resumes",
                table(
                    ("time", "event", "actor", "reason"),
                    [
                        [
                            entry["time"],
                            entry["event"],
                            entry["actor"] or "-",
                            entry["reason"] or "-",
                        ]
                        for entry in document["emergencies"]
                    ],
                ),
            )
        )
    return "\n\n".join(parts) + "\n"
