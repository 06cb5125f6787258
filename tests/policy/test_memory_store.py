"""The ReplayStore contract suite on the in-memory reference store (policy.memory)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from contracts import replay_contract

from policy.memory import MemoryReplayStore

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
