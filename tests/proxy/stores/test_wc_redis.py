"""The WalletConnect store contract on a real redis-server (marker ``redis``)."""

from __future__ import annotations

import uuid

import pytest
from contracts import storage_contract

from proxy.stores.wc_redis import RedisWalletConnectStore
from walletconnect.storage import WalletConnectStore

pytestmark = pytest.mark.redis


class TestRedisStore(storage_contract().StoreContract):  # type: ignore[misc]
    @pytest.fixture
    def make_store(self, redis_url: str):  # type: ignore[no-untyped-def]
        prefix = f"test:{uuid.uuid4().hex}"

        async def factory(namespace: str) -> WalletConnectStore:
            return RedisWalletConnectStore.from_url(redis_url, namespace, prefix=prefix)

        return factory
