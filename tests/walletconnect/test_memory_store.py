"""The store contract on the in-memory reference store."""

from __future__ import annotations

import pytest
from contracts import storage_contract

from walletconnect.memory_store import MemoryStore
from walletconnect.storage import WalletConnectStore

StoreContract = storage_contract().StoreContract


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def make_store(self):  # type: ignore[no-untyped-def]
        backing: dict[tuple[str, str, str], str] = {}

        async def factory(namespace: str) -> WalletConnectStore:
            return MemoryStore(namespace, backing=backing)

        return factory
