"""The ReplayStore contract suite on a real redis-server, plus native TTLs and failure mapping."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import ModuleType

import pytest
import redis.asyncio as aioredis

from policy.errors import StoreUnavailableError
from policy.replay import Claim
from proxy.stores.replay_redis import RedisReplayStore

pytestmark = pytest.mark.redis


def _load_contract() -> ModuleType:
    name = "replay_contract"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[2] / "policy" / "replay_contract.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


contract = _load_contract()
NOW = contract.NOW


@pytest.fixture
def prefix() -> str:
    return f"wcproxy-test:{{{uuid.uuid4().hex}}}:"


class TestRedisReplayStore(contract.ReplayStoreContract):
    @pytest.fixture
    async def store(self, redis_url: str, prefix: str) -> AsyncIterator[RedisReplayStore]:
        store = await RedisReplayStore.open(redis_url, prefix=prefix)
        yield store
        await store.close()

    @pytest.fixture
    async def peer(
        self, redis_url: str, prefix: str, store: RedisReplayStore
    ) -> AsyncIterator[RedisReplayStore]:
        peer = await RedisReplayStore.open(redis_url, prefix=prefix)
        yield peer
        await peer.close()


class TestRedisRevocation(contract.RevocationContract):
    @pytest.fixture
    async def store(self, redis_url: str, prefix: str) -> AsyncIterator[RedisReplayStore]:
        store = await RedisReplayStore.open(redis_url, prefix=prefix)
        yield store
        await store.close()

    @pytest.fixture
    async def peer(
        self, redis_url: str, prefix: str, store: RedisReplayStore
    ) -> AsyncIterator[RedisReplayStore]:
        peer = await RedisReplayStore.open(redis_url, prefix=prefix)
        yield peer
        await peer.close()

    @pytest.fixture
    def reopen(self, redis_url: str, prefix: str) -> Callable[[], Awaitable[RedisReplayStore]]:
        return lambda: RedisReplayStore.open(redis_url, prefix=prefix)


async def test_every_entry_has_a_native_ttl(redis_url: str, prefix: str) -> None:
    store = await RedisReplayStore.open(redis_url, prefix=prefix)
    raw = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        keys = [contract.rpc(1, ttl_s=60), contract.payload(1, ttl_s=600)]
        won = await store.claim(
            keys, owner=contract.owner(1), budget=contract.charge("1", period_s=120), now=NOW
        )
        assert isinstance(won, Claim)
        assert await store.complete(won, '"ok"', NOW)
        names = [k async for k in raw.scan_iter(match=prefix.replace("{", "\\{") + "*")]
        assert len(names) == 5  # two keys, the claim, the budget set and its total
        ttls = {name.removeprefix(prefix).split(":")[0]: await raw.pttl(name) for name in names}
        assert all(ttl > 0 for ttl in ttls.values()), ttls
        assert 590_000 < await raw.pttl(prefix + "c:" + won.claim_id) <= 600_000
        assert 110_000 < await raw.pttl(prefix + "b:env-1") <= 120_000
        assert 50_000 < await raw.pttl(prefix + "k:" + keys[0].storage_key) <= 60_000
    finally:
        await raw.aclose()
        await store.close()


async def test_native_expiry_evicts_without_purge(redis_url: str, prefix: str) -> None:
    store = await RedisReplayStore.open(redis_url, prefix=prefix)
    raw = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        await store.claim([contract.rpc(1, ttl_s=1)], owner=contract.owner(1), budget=None, now=NOW)
        assert await store.size() == 2
        # shorten the real TTLs instead of sleeping a second
        async for name in raw.scan_iter(match=prefix.replace("{", "\\{") + "*"):
            await raw.pexpire(name, 1)
        for _ in range(100):
            if await store.size() == 0:
                break
            await asyncio.sleep(0.01)
        assert await store.size() == 0
    finally:
        await raw.aclose()
        await store.close()


async def test_unreachable_redis_is_store_unavailable() -> None:
    from redis_server import free_port

    with pytest.raises(StoreUnavailableError, match="unreachable"):
        await RedisReplayStore.open(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.5)


async def test_errors_after_close_fail_closed(redis_url: str, prefix: str) -> None:
    store = await RedisReplayStore.open(redis_url, prefix=prefix)
    await store.close()
    await store.close()
    with pytest.raises(StoreUnavailableError):
        await store.claim([contract.rpc(1)], owner=contract.owner(1), budget=None, now=NOW)


async def test_open_replay_store_by_url(redis_url: str, prefix: str) -> None:
    from proxy.stores import open_replay_store

    store = await open_replay_store(f"{redis_url}#prefix={prefix}")
    raw = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        assert isinstance(store, RedisReplayStore)
        won = await store.claim([contract.rpc(1)], owner=contract.owner(1), budget=None, now=NOW)
        assert isinstance(won, Claim)
        assert await raw.exists(prefix + "c:" + won.claim_id) == 1
    finally:
        await raw.aclose()
        await store.close()
