"""Value formatting shared by the text and HTML renderers: durations, rates, counts, ids (pure)."""

from __future__ import annotations

from typing import Any

__all__ = ["duration", "rate", "short_id", "verification_line"]


def duration(seconds: float | None) -> str:
    """Seconds in the unit a human reads best: ``850 µs``, ``12.3 ms``, ``4.2 s``, ``3.5 min``, ``2.0 h``, ``3.1 d``."""
    if seconds is None:
        return "-"
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def rate(value: float | None) -> str:
    """A share as a percentage with one decimal (``-`` when undefined)."""
    return "-" if value is None else f"{value * 100:.1f}%"


def short_id(value: str | None, keep: int = 12) -> str:
    """A long id (session topic) cut for a table cell."""
    if value is None:
        return "-"
    return value if len(value) <= keep + 1 else value[:keep] + "…"


def verification_line(verification: dict[str, Any] | None) -> tuple[bool, str]:
    """(ok, one sentence) describing the chain verification stored in a report document."""
    if verification is None:
        return False, "AUDIT CHAIN NOT CHECKED"
    if verification.get("ok"):
        head = verification.get("head")
        anchored = (
            f", anchored to {head}" if head else " (links only: no external chain head given)"
        )
        extra = verification.get("unanchored") or 0
        tail = f"; {extra} record(s) after the external head" if extra else ""
        return True, f"Audit chain verified: {verification.get('records')} records{anchored}{tail}"
    return False, (
        f"AUDIT LOG DID NOT VERIFY at line {verification.get('line')}: {verification.get('reason')}. "
        f"Only the first {verification.get('records')} records are vouched for; "
        "the figures below may come from an altered log."
    )
