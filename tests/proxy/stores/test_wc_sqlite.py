"""The WalletConnect store contract on SQLite (a real file per test)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from proxy.stores.wc_sqlite import SqliteWalletConnectStore
from walletconnect.storage import WalletConnectStore


def _contract() -> type:
    name = "wc_storage_contract"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[2] / "walletconnect" / "storage_contract.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name].StoreContract  # type: ignore[no-any-return]


class TestSqliteStore(_contract()):  # type: ignore[misc]
    @pytest.fixture
    def make_store(self, tmp_path: Path):  # type: ignore[no-untyped-def]
        async def factory(namespace: str) -> WalletConnectStore:
            return await SqliteWalletConnectStore.open(tmp_path / "wc.sqlite", namespace)

        return factory


async def test_wal_mode(tmp_path: Path) -> None:
    import sqlite3

    store = await SqliteWalletConnectStore.open(tmp_path / "wal.sqlite")
    await store.close()
    with sqlite3.connect(tmp_path / "wal.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
