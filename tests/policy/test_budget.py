"""Rolling-window budget arithmetic."""

from __future__ import annotations

from decimal import Decimal

import pytest

from policy.budget import (
    EnvelopeUsage,
    SpendEntry,
    budget_period_s,
    effective_spent,
    prune,
    remaining_budget,
    rolling_spent,
    usage_from_entries,
)

D = Decimal


def test_usage_validation() -> None:
    assert EnvelopeUsage() == EnvelopeUsage(D(0), 0, None)
    with pytest.raises(ValueError, match="spent_usd"):
        EnvelopeUsage(spent_usd=D(-1))
    with pytest.raises(ValueError, match="spent_usd"):
        EnvelopeUsage(spent_usd=D("NaN"))
    with pytest.raises(ValueError, match="calls"):
        EnvelopeUsage(calls=-1)


def test_fixed_window_rolls_over() -> None:
    u = EnvelopeUsage(spent_usd=D(80), calls=3, window_started_at=1000)
    assert effective_spent(u, 100, 1099) == 80
    assert effective_spent(u, 100, 1100) == 0
    assert effective_spent(u, None, 10**9) == 80  # lifetime budget never rolls
    exact = EnvelopeUsage(spent_usd=D(80))
    assert effective_spent(exact, 100, 10**9) == 80  # the store already computed the window


def test_remaining_budget() -> None:
    u = EnvelopeUsage(spent_usd=D(80), window_started_at=0)
    assert remaining_budget(None, 100, u, 50) is None
    assert remaining_budget(D(100), 100, u, 50) == 20
    assert remaining_budget(D(50), 100, u, 50) == 0  # never negative
    assert remaining_budget(D(100), 100, u, 100) == 100


def test_rolling_spent_window_bounds() -> None:
    entries = [
        SpendEntry(100, D(1)),
        SpendEntry(150, D(2)),
        SpendEntry(200, D(4)),
        SpendEntry(250, D(8)),
    ]
    assert rolling_spent(entries, 200, 100) == 6  # (100, 200]: 150 and 200, not 100, not future 250
    assert rolling_spent(entries, 199, 100) == 3  # (99, 199]: 100 and 150
    assert rolling_spent(entries, 300, None) == 15
    assert rolling_spent([], 300, 10) == 0
    assert prune(entries, 200, 100) == tuple(entries[1:])
    assert usage_from_entries(entries, calls=4, now=250, period_s=100) == EnvelopeUsage(D(12), 4)


def test_budget_period() -> None:
    assert budget_period_s(3600, 10_000, 0) == 3600
    assert budget_period_s(None, 10_000, 4_000) == 6_000
    assert budget_period_s(None, 10_000, 20_000) == 1
