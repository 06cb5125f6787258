"""The WalletConnect store contract on a real redis-server (marker ``redis``)."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path

import pytest

from proxy.stores.wc_redis import RedisWalletConnectStore
from walletconnect.storage import WalletConnectStore

pytestmark = pytest.mark.redis


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


class TestRedisStore(_contract()):  # type: ignore[misc]
    @pytest.fixture
    def make_store(self, redis_url: str):  # type: ignore[no-untyped-def]
        prefix = f"test:{uuid.uuid4().hex}"

        async def factory(namespace: str) -> WalletConnectStore:
            return RedisWalletConnectStore.from_url(redis_url, namespace, prefix=prefix)

        return factory
