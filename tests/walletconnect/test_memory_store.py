"""The store contract on the in-memory reference store."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from walletconnect.memory_store import MemoryStore
from walletconnect.storage import WalletConnectStore


def _contract() -> type:
    name = "wc_storage_contract"
    if name not in sys.modules:
        path = Path(__file__).resolve().parent / "storage_contract.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name].StoreContract  # type: ignore[no-any-return]


StoreContract = _contract()


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def make_store(self):  # type: ignore[no-untyped-def]
        backing: dict[tuple[str, str, str], str] = {}

        async def factory(namespace: str) -> WalletConnectStore:
            return MemoryStore(namespace, backing=backing)

        return factory
