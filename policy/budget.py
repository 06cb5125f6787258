"""Rolling-window budget arithmetic: an envelope's usage, spend entries and what remains (pure, no I/O).

The decision engine never reads a store: the caller hands it an :class:`EnvelopeUsage` (the replay /
budget store computes it, e.g. ``EnvelopeUsage(u.spent_usd, u.calls)`` from
``ReplayStore.usage(envelope_id, now)``). A store that keeps individual charges can use
:func:`rolling_spent` / :func:`usage_from_entries`; a store that keeps one fixed window passes
``window_started_at`` and :func:`effective_spent` treats the window as empty once it has rolled over.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "EnvelopeUsage",
    "SpendEntry",
    "budget_period_s",
    "effective_spent",
    "prune",
    "remaining_budget",
    "rolling_spent",
    "usage_from_entries",
]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class EnvelopeUsage:
    """What an envelope has used so far, as seen by the caller's store.

    ``spent_usd``: USD charged within the current rolling window (or over the envelope's life when it
    has no ``periodSeconds``). ``calls``: allowed requests counted so far (for ``maxCalls``).
    ``window_started_at``: start of a *fixed* window, or None when ``spent_usd`` is already exact.
    """

    spent_usd: Decimal = _ZERO
    calls: int = 0
    window_started_at: int | None = None

    def __post_init__(self) -> None:
        if not self.spent_usd.is_finite() or self.spent_usd < 0:
            raise ValueError("spent_usd must be finite and >= 0")
        if self.calls < 0:
            raise ValueError("calls must be >= 0")


@dataclass(frozen=True, slots=True)
class SpendEntry:
    """One charge: ``usd`` spent at Unix time ``at``."""

    at: int
    usd: Decimal


def effective_spent(usage: EnvelopeUsage, period_s: int | None, now: int) -> Decimal:
    """Spend that still counts at ``now``: zero once a fixed window (``window_started_at``) rolled over."""
    if (
        period_s is not None
        and usage.window_started_at is not None
        and now >= usage.window_started_at + period_s
    ):
        return _ZERO
    return usage.spent_usd


def remaining_budget(
    budget_usd: Decimal | None, period_s: int | None, usage: EnvelopeUsage, now: int
) -> Decimal | None:
    """USD still available in the window (never negative), or None when there is no budget."""
    if budget_usd is None:
        return None
    return max(_ZERO, budget_usd - effective_spent(usage, period_s, now))


def rolling_spent(entries: Iterable[SpendEntry], now: int, period_s: int | None) -> Decimal:
    """Sum of charges in the window ``(now - period_s, now]`` (all charges up to now if no period)."""
    start = None if period_s is None else now - period_s
    return sum(
        (e.usd for e in entries if e.at <= now and (start is None or e.at > start)),
        _ZERO,
    )


def prune(entries: Iterable[SpendEntry], now: int, period_s: int) -> tuple[SpendEntry, ...]:
    """The entries that still count at ``now`` or later (drops those older than the window)."""
    return tuple(e for e in entries if e.at > now - period_s)


def usage_from_entries(
    entries: Iterable[SpendEntry], *, calls: int, now: int, period_s: int | None
) -> EnvelopeUsage:
    """An exact :class:`EnvelopeUsage` from individual charges."""
    return EnvelopeUsage(spent_usd=rolling_spent(entries, now, period_s), calls=calls)


def budget_period_s(period_s: int | None, expires_at: int, now: int) -> int:
    """How long a charge made at ``now`` counts: the rolling period, or the envelope's remaining life.

    Use it for a store charge (e.g. ``policy.replay.BudgetCharge.period_s``); always >= 1.
    """
    if period_s is not None:
        return period_s
    return max(1, expires_at - now)
