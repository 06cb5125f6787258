"""The ReplayStore contract suite on a real redis-server, plus native TTLs and failure mapping."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as aioredis
from contracts import replay_contract

from policy.errors import StoreUnavailableError
from policy.replay import Claim
from proxy.stores.replay_redis import RedisReplayStore

pytestmark = pytest.mark.redis


contract = replay_contract()
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


async def test_revocations_have_native_ttls_past_the_session_expiry(
    redis_url: str, prefix: str
) -> None:
    from policy.revocation import BINDING_RETENTION_S, REVOCATION_MARGIN_S, Freeze

    store = await RedisReplayStore.open(redis_url, prefix=prefix)
    raw = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        expires = int(NOW) + 3600
        await store.bind(contract.binding("s1", approved_at=NOW, expires_at=expires))
        await store.revoke(contract.revocation("s1", at=NOW))
        await store.revoke(contract.revocation("unbound", at=NOW))
        await store.freeze(Freeze("ops", "stop", NOW))
        # TTLs count from the record's own time: the session's remaining life + the margin
        ttl = await raw.pttl(prefix + "r:s1")
        assert (3600 + REVOCATION_MARGIN_S - 5) * 1000 < ttl <= (3600 + REVOCATION_MARGIN_S) * 1000
        assert await raw.pttl(prefix + "r:unbound") > 30 * 86_400 * 1000
        binding_ttl = await raw.pttl(prefix + "s:s1")
        assert binding_ttl > (3600 + BINDING_RETENTION_S - 5) * 1000
        assert await raw.pttl(prefix + "fz") == -1  # a freeze lasts until unfreeze
    finally:
        await raw.aclose()
        await store.close()


async def test_every_event_is_published_on_the_channel(redis_url: str, prefix: str) -> None:
    store = await RedisReplayStore.open(redis_url, prefix=prefix)
    raw = aioredis.Redis.from_url(redis_url, decode_responses=True)
    pubsub = raw.pubsub()
    try:
        assert store.channel == prefix + "events"
        await pubsub.subscribe(store.channel)
        confirmed = await pubsub.get_message(timeout=5)
        assert confirmed is not None
        assert confirmed["type"] == "subscribe"
        await store.revoke(contract.revocation('s/1"x', at=NOW))  # JSON-escaped in the script
        message = None
        for _ in range(50):
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if message is not None:
                break
        assert message is not None
        event = json.loads(message["data"])
        assert event["kind"] == "revoke"
        assert event["session"] == 's/1"x'
        assert event["revocation"]["reason"] == "user asked"
        events, _head = await store.events_since(event["seq"] - 1)
        assert events[0]["revocation"] == contract.revocation('s/1"x', at=NOW).to_dict()
    finally:
        await pubsub.aclose()
        await raw.aclose()
        await store.close()


async def test_watch_survives_a_dropped_connection(redis_url: str, prefix: str) -> None:
    store = await RedisReplayStore.open(redis_url, prefix=prefix)
    peer = await RedisReplayStore.open(redis_url, prefix=prefix)
    raw = aioredis.Redis.from_url(redis_url, decode_responses=True)
    _events, cursor = await peer.events_since(None)
    stream = peer.watch(cursor=cursor)
    seen: list[dict[str, object]] = []

    async def follow() -> None:
        async for event in stream:
            seen.append(event)

    task = asyncio.create_task(follow())
    try:
        await store.revoke(contract.revocation("before", at=NOW))
        await contract.wait_until(lambda: len(seen) == 1, 5)
        await raw.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
        await store.revoke(contract.revocation("after", at=NOW))  # maybe while disconnected
        await contract.wait_until(lambda: len(seen) == 2, 10)
        sessions = [e["revocation"]["session"] for e in seen]  # type: ignore[index]
        assert sessions == ["before", "after"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await raw.aclose()
        await peer.close()
        await store.close()
