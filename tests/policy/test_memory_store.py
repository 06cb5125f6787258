"""The ReplayStore contract suite on the in-memory reference store (policy.memory)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal

import pytest
from contracts import replay_contract
from hypothesis import given, settings
from hypothesis import strategies as st

from policy.memory import MemoryReplayStore
from policy.replay import BudgetCharge, Claim

contract = replay_contract()


class TestMemoryReplayStore(contract.ReplayStoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[MemoryReplayStore]:
        store = MemoryReplayStore()
        yield store
        await store.close()

    @pytest.fixture
    async def peer(self, store: MemoryReplayStore) -> MemoryReplayStore:
        return store


class TestMemoryRevocation(contract.RevocationContract):
    @pytest.fixture
    async def store(self) -> MemoryReplayStore:
        return MemoryReplayStore()

    @pytest.fixture
    async def peer(self, store: MemoryReplayStore) -> MemoryReplayStore:
        return store

    @pytest.fixture
    def reopen(self, store: MemoryReplayStore) -> Callable[[], Awaitable[MemoryReplayStore]]:
        async def again() -> MemoryReplayStore:
            return store  # one process: the same object is the "restarted" store

        return again


async def test_injected_claim_ids_are_used() -> None:
    ids = iter(["claim-a", "claim-b"])
    store = MemoryReplayStore(claim_ids=lambda: next(ids))
    out = await store.claim(
        [contract.rpc(1)], owner=contract.owner(1), budget=None, now=contract.NOW
    )
    assert out.claim_id == "claim-a"


@settings(max_examples=100, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["claim", "abort", "usage", "purge"]),
            st.integers(0, 30),  # seconds forward (or back, for usage)
            st.integers(1, 20),  # USD
            st.integers(1, 40),  # period
        ),
        max_size=60,
    )
)
def test_budget_running_totals_equal_a_full_count(steps: list[tuple[str, int, int, int]]) -> None:
    """The running totals agree with summing every live charge, whatever the order of events."""

    async def run() -> None:
        store = MemoryReplayStore()
        now = 1_000.0
        claims: list[Claim] = []
        charges: list[tuple[Claim, int, float]] = []  # claim, usd, expires_at
        for n, (op, dt, usd, period) in enumerate(steps):
            if op == "usage":
                at = now - dt if dt % 3 == 0 else now + dt  # sometimes ask about the past
                live = [(u, e) for c, u, e in charges if e > at]
                usage = await store.usage("env", at)
                assert (usage.spent_usd, usage.calls) == (sum(u for u, _ in live), len(live))
                continue
            now += dt
            if op == "claim":
                budget = BudgetCharge("env", Decimal(usd), period, Decimal(10_000_000))
                claim = await store.claim(
                    [contract.rpc(n)], owner=contract.owner(n), budget=budget, now=now
                )
                assert isinstance(claim, Claim)
                claims.append(claim)
                charges.append((claim, usd, now + period))
            elif op == "abort" and claims:
                claim = claims.pop(0)
                await store.abort(claim, now)
                charges = [c for c in charges if c[0] is not claim]
            elif op == "purge":  # deletes what expired: later questions about the past miss it too
                await store.purge(now)
                charges = [c for c in charges if c[2] > now]

    asyncio.run(run())
