"""Render bench results: the text table, JSON and JUnit XML (pure, no I/O).

Exit status (:func:`exit_status`): 0 only when every scenario that ran was blocked as expected
(``skipped`` scenarios — self-only ones against a foreign wallet — do not count), 1 otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any
from xml.etree import ElementTree as ET

from proxy.attack.runner import ScenarioResult

__all__ = ["exit_status", "format_table", "summary", "to_json", "to_junit"]

_REASON_WIDTH = 70


def exit_status(results: Sequence[ScenarioResult]) -> int:
    """0 when every scenario that ran was blocked (with its expected reason class), else 1."""
    ran = [r for r in results if r.outcome != "skipped"]
    return 0 if ran and all(r.ok for r in ran) else 1


def summary(results: Sequence[ScenarioResult]) -> str:
    """One line: counts per outcome."""
    counts: dict[str, int] = {}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    unexpected = sum(1 for r in results if r.outcome == "blocked" and not r.ok)
    parts = [
        f"{counts.get(k, 0)} {k}"
        for k in ("blocked", "SIGNED", "ACCEPTED", "error", "skipped")
        if counts.get(k)
    ]
    text = f"{len(results)} scenarios: " + ", ".join(parts)
    if unexpected:
        text += f" ({unexpected} blocked for an unexpected reason)"
    return text


def format_table(results: Sequence[ScenarioResult]) -> str:
    """The outcome table: scenario, category, outcome, reason, latency."""
    headers = ("scenario", "category", "outcome", "reason", "ms")
    rows = []
    for r in results:
        outcome = r.outcome if r.ok or r.outcome != "blocked" else "blocked!"
        reason = (
            f"[{r.reason_class}] " if r.reason_class and r.outcome == "blocked" else ""
        ) + r.reason
        if len(reason) > _REASON_WIDTH:
            reason = reason[: _REASON_WIDTH - 3] + "..."
        rows.append((r.name, r.category, outcome, reason, f"{r.latency_ms:.0f}"))
    widths = [
        max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
        for i, h in enumerate(headers)
    ]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def to_json(results: Sequence[ScenarioResult], *, target: str) -> str:
    """Machine-readable results."""
    doc: dict[str, Any] = {
        "target": target,
        "summary": summary(results),
        "exit_status": exit_status(results),
        "scenarios": [
            {**asdict(r), "expected": list(r.expected), "steps": [asdict(s) for s in r.steps]}
            for r in results
        ],
    }
    return json.dumps(doc, indent=2)


def to_junit(results: Sequence[ScenarioResult], *, target: str) -> str:
    """JUnit XML: one testcase per scenario (SIGNED / ACCEPTED / unexpected reason = failure)."""
    failures = sum(
        1 for r in results if r.outcome != "skipped" and not r.ok and r.outcome != "error"
    )
    errors = sum(1 for r in results if r.outcome == "error")
    skipped = sum(1 for r in results if r.outcome == "skipped")
    suite = ET.Element(
        "testsuite",
        name=f"wcproxy attack: {target}",
        tests=str(len(results)),
        failures=str(failures),
        errors=str(errors),
        skipped=str(skipped),
        time=f"{sum(r.latency_ms for r in results) / 1000:.3f}",
    )
    for r in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"attack.{r.category}",
            name=r.name,
            time=f"{r.latency_ms / 1000:.3f}",
        )
        if r.outcome == "skipped":
            ET.SubElement(case, "skipped", message=r.reason)
        elif r.outcome == "error":
            ET.SubElement(case, "error", message=r.reason)
        elif not r.ok:
            node = ET.SubElement(case, "failure", message=f"{r.outcome}: {r.reason}")
            node.text = r.proves
        out = ET.SubElement(case, "system-out")
        out.text = "\n".join(
            f"step {s.index} {s.kind} {s.role}: {s.outcome} [{s.reason_class}] {s.detail}"
            for s in r.steps
        )
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)
