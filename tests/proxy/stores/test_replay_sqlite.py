"""The ReplayStore contract suite on SQLite, plus durability, locking and loop-friendliness."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import pytest
from contracts import replay_contract

from policy.errors import StoreUnavailableError
from policy.replay import Claim, Duplicate, Replay, ReplayLayer
from proxy.stores.replay_sqlite import SqliteReplayStore

contract = replay_contract()
NOW = contract.NOW


class TestSqliteReplayStore(contract.ReplayStoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SqliteReplayStore]:
        store = await SqliteReplayStore.open(tmp_path / "replay.db")
        yield store
        await store.close()

    @pytest.fixture
    async def peer(
        self, tmp_path: Path, store: SqliteReplayStore
    ) -> AsyncIterator[SqliteReplayStore]:
        peer = await SqliteReplayStore.open(tmp_path / "replay.db")
        yield peer
        await peer.close()


class TestSqliteRevocation(contract.RevocationContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SqliteReplayStore]:
        store = await SqliteReplayStore.open(tmp_path / "replay.db")
        yield store
        await store.close()

    @pytest.fixture
    async def peer(
        self, tmp_path: Path, store: SqliteReplayStore
    ) -> AsyncIterator[SqliteReplayStore]:
        peer = await SqliteReplayStore.open(tmp_path / "replay.db")
        yield peer
        await peer.close()

    @pytest.fixture
    def reopen(self, tmp_path: Path) -> Callable[[], Awaitable[SqliteReplayStore]]:
        return lambda: SqliteReplayStore.open(tmp_path / "replay.db")


async def test_wal_and_full_sync_are_on(tmp_path: Path) -> None:
    store = await SqliteReplayStore.open(tmp_path / "r.db")
    await store.close()
    conn = sqlite3.connect(tmp_path / "r.db")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 4
        pk = conn.execute("PRAGMA table_info(replay_keys)").fetchall()
        assert {row[1] for row in pk if row[5]} == {"layer", "key"}  # uniqueness is the primary key
    finally:
        conn.close()


async def test_a_new_file_gets_small_pages_and_an_existing_file_keeps_its_own(
    tmp_path: Path,
) -> None:
    from proxy.stores.sqlite_batch import PAGE_SIZE
    from proxy.stores.wc_sqlite import SqliteWalletConnectStore

    def page_size(path: Path) -> int:
        with sqlite3.connect(path) as conn:
            return int(conn.execute("PRAGMA page_size").fetchone()[0])

    store = await SqliteReplayStore.open(tmp_path / "r.db")
    wc = await SqliteWalletConnectStore.open(tmp_path / "r.db", batcher=store.batcher)
    await wc.close()
    await store.close()
    own = await SqliteWalletConnectStore.open(tmp_path / "wc.db")
    await own.close()
    assert PAGE_SIZE == 1024
    assert page_size(tmp_path / "r.db") == page_size(tmp_path / "wc.db") == PAGE_SIZE

    with sqlite3.connect(tmp_path / "old.db") as conn:  # a file made with SQLite's default
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE unrelated (x)")
    assert page_size(tmp_path / "old.db") == 4096
    old = await SqliteReplayStore.open(tmp_path / "old.db")
    try:
        won = await old.claim([contract.rpc(1)], owner=contract.owner(1), budget=None, now=NOW)
        assert isinstance(won, Claim)
    finally:
        await old.close()
    assert page_size(tmp_path / "old.db") == 4096


async def test_claim_ids_sort_in_the_order_claims_were_made(tmp_path: Path) -> None:
    from proxy.stores.replay_sqlite import ordered_claim_id

    ids = [ordered_claim_id() for _ in range(2000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    store = await SqliteReplayStore.open(tmp_path / "r.db")
    try:
        claims = [
            await store.claim([contract.rpc(n)], owner=contract.owner(n), budget=None, now=NOW)
            for n in range(20)
        ]
    finally:
        await store.close()
    made = [c.claim_id for c in claims if isinstance(c, Claim)]
    assert len(made) == 20
    assert made == sorted(made)


async def test_claims_survive_a_restart(tmp_path: Path) -> None:
    keys = [contract.rpc(1), contract.payload(1)]
    store = await SqliteReplayStore.open(tmp_path / "r.db")
    won = await store.claim(keys, owner=contract.owner(1), budget=contract.charge("5"), now=NOW)
    assert isinstance(won, Claim)
    await store.close()
    again = await SqliteReplayStore.open(tmp_path / "r.db")
    try:
        dup = await again.claim(keys, owner=contract.owner(1), budget=None, now=NOW + 1)
        assert isinstance(dup, Duplicate)
        assert dup.in_flight
        replay = await again.claim(
            [contract.payload(1)], owner=contract.owner(2), budget=None, now=NOW + 1
        )
        assert isinstance(replay, Replay)
        assert replay.layer is ReplayLayer.PAYLOAD
        assert (await again.usage("env-1", NOW + 1)).calls == 1
    finally:
        await again.close()


async def test_a_locked_database_does_not_block_the_event_loop(tmp_path: Path) -> None:
    store = await SqliteReplayStore.open(tmp_path / "r.db")
    blocker = sqlite3.connect(tmp_path / "r.db", isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        task = asyncio.create_task(
            store.claim([contract.rpc(1)], owner=contract.owner(1), budget=None, now=NOW)
        )
        ticks = 0
        for _ in range(30):
            await asyncio.sleep(0.01)
            ticks += 1
        assert not task.done()  # waiting for the write lock, in its own thread
        blocker.execute("ROLLBACK")
        assert isinstance(await asyncio.wait_for(task, 10), Claim)
        assert ticks == 30
    finally:
        blocker.close()
        await store.close()


async def test_lock_timeout_and_closed_store_fail_closed(tmp_path: Path) -> None:
    store = await SqliteReplayStore.open(tmp_path / "r.db", busy_timeout_s=0.1)
    blocker = sqlite3.connect(tmp_path / "r.db", isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreUnavailableError, match="locked"):
            await store.claim([contract.rpc(1)], owner=contract.owner(1), budget=None, now=NOW)
        blocker.execute("ROLLBACK")
        # the failed claim left nothing behind and the connection is still usable
        assert isinstance(
            await store.claim([contract.rpc(1)], owner=contract.owner(1), budget=None, now=NOW),
            Claim,
        )
    finally:
        blocker.close()
        await store.close()
    await store.close()  # idempotent
    with pytest.raises(StoreUnavailableError, match="closed"):
        await store.size()


async def test_unopenable_path_is_store_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailableError):
        await SqliteReplayStore.open(tmp_path / "missing-dir" / "r.db")


async def test_open_replay_store_by_url(tmp_path: Path) -> None:
    from policy.memory import MemoryReplayStore
    from proxy.stores import open_replay_store

    memory = await open_replay_store("memory:")
    assert isinstance(memory, MemoryReplayStore)
    for url in (f"sqlite:{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"):
        store = await open_replay_store(url)
        try:
            assert isinstance(store, SqliteReplayStore)
            assert isinstance(
                await store.claim([contract.rpc(1)], owner=contract.owner(1), budget=None, now=NOW),
                Claim,
            )
        finally:
            await store.close()
    assert (tmp_path / "a.db").exists()
    assert (tmp_path / "b.db").exists()
    for bad in ("sqlite:", "postgres://x", "nonsense"):
        with pytest.raises(StoreUnavailableError):
            await open_replay_store(bad)


async def test_budget_totals_match_the_charges_exactly(tmp_path: Path) -> None:
    """usage() from the bucketed totals equals a brute-force sum of live charges at every instant."""
    rng = random.Random(7)
    store = await SqliteReplayStore.open(tmp_path / "r.db")
    live: list[tuple[float, int, Claim]] = []  # (expires_at, micro_usd, claim)
    try:
        for n in range(300):
            now = NOW + n * 0.37
            period = rng.choice([1, 2, 63, 64, 65, 130, 3600])
            usd = Decimal(rng.randint(0, 300)) / 100
            won = await store.claim(
                [contract.rpc(n)],
                owner=contract.owner(n),
                budget=contract.charge(str(usd), cap="1000000", period_s=period),
                now=now,
            )
            assert isinstance(won, Claim)
            live.append((now + period, int(usd * 1_000_000), won))
            if n % 17 == 0:  # refund one still in flight
                _expires, _micro, claim = live.pop(rng.randrange(len(live)))
                await store.abort(claim, now)
            if n % 50 == 49:
                await store.purge(now)
            for probe in (now, now + 0.5, now + 1, now + 63.9, now + 64, now + 200):
                usage = await store.usage("env-1", probe)
                expect = [(e, m) for e, m, _c in live if e > probe]
                assert usage.calls == len(expect), (n, probe)
                assert int(usage.spent_usd * 1_000_000) == sum(m for _e, m in expect), (n, probe)
    finally:
        await store.close()


async def test_schema_2_file_gets_its_budget_totals_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    store = await SqliteReplayStore.open(path)
    for n in range(3):
        await store.claim(
            [contract.rpc(n)], owner=contract.owner(n), budget=contract.charge("2"), now=NOW
        )
    await store.close()
    conn = sqlite3.connect(path)  # as a schema-2 file: charges without totals
    conn.execute("DELETE FROM replay_budget_fine")
    conn.execute("DELETE FROM replay_budget_coarse")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    again = await SqliteReplayStore.open(path)
    try:
        usage = await again.usage("env-1", NOW + 1)
        assert (usage.spent_usd, usage.calls) == (Decimal(6), 3)
    finally:
        await again.close()


def raw_keys(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM replay_keys").fetchone()[0])
    finally:
        conn.close()


def _indexes(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
    finally:
        conn.close()


async def test_schema_3_file_loses_its_index_of_keys_by_claim_and_abort_still_releases(
    tmp_path: Path,
) -> None:
    """Schema 4 writes one B-tree fewer per key: ``abort`` deletes the keys its claim carries."""
    path = tmp_path / "r.db"
    store = await SqliteReplayStore.open(path)
    won = await store.claim(
        [contract.rpc(1), contract.payload(1)],
        owner=contract.owner(1),
        budget=contract.charge("2"),
        now=NOW,
    )
    assert isinstance(won, Claim)
    await store.close()
    assert "replay_keys_claim" not in _indexes(path)  # a new file never had it
    conn = sqlite3.connect(path)  # as a schema-3 file
    conn.execute("CREATE INDEX replay_keys_claim ON replay_keys (claim_id)")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    again = await SqliteReplayStore.open(path)
    try:
        assert "replay_keys_claim" not in _indexes(path)
        assert await again.abort(won, NOW + 1)
        assert raw_keys(path) == 0
        assert (await again.usage("env-1", NOW + 1)).calls == 0  # refunded
        retry = await again.claim(
            [contract.rpc(1), contract.payload(1)],
            owner=contract.owner(2),
            budget=None,
            now=NOW + 1,
        )
        assert isinstance(retry, Claim)  # the keys were released
    finally:
        await again.close()


async def test_abort_leaves_a_key_another_claim_took_over_after_it_expired(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    store = await SqliteReplayStore.open(path)
    short, long = contract.rpc(1, ttl_s=1), contract.payload(1, ttl_s=100)
    try:
        won = await store.claim([short, long], owner=contract.owner(1), budget=None, now=NOW)
        assert isinstance(won, Claim)
        # the short key expired; another request takes it while the first is still in flight
        took = await store.claim([short], owner=contract.owner(2), budget=None, now=NOW + 2)
        assert isinstance(took, Claim)
        assert await store.abort(won, NOW + 2)
        replay = await store.claim([short], owner=contract.owner(3), budget=None, now=NOW + 2)
        assert isinstance(replay, Replay)  # still held by the claim that took it over
        free = await store.claim([long], owner=contract.owner(4), budget=None, now=NOW + 2)
        assert isinstance(free, Claim)  # the aborted claim's own key was released
    finally:
        await store.close()


async def test_a_claim_is_answered_after_the_wal_fsync_and_complete_survives_a_restart(
    tmp_path: Path,
) -> None:
    store = await SqliteReplayStore.open(tmp_path / "r.db")
    synced = store.batcher.fsyncs
    won = await store.claim([contract.rpc(1)], owner=contract.owner(1), budget=None, now=NOW)
    assert isinstance(won, Claim)
    assert store.batcher.fsyncs > synced  # the claim was on disk before it was answered
    synced = store.batcher.fsyncs
    assert await store.complete(won, '{"result":"0xsig"}', NOW)
    assert store.batcher.fsyncs == synced  # a lazy write alone is answered at its COMMIT
    await store.close()
    again = await SqliteReplayStore.open(tmp_path / "r.db")
    try:
        dup = await again.claim([contract.rpc(1)], owner=contract.owner(1), budget=None, now=NOW)
        assert isinstance(dup, Duplicate)
        assert not dup.in_flight
        assert dup.stored_result == '{"result":"0xsig"}'
    finally:
        await again.close()


async def test_purge_deletes_in_bounded_transactions_until_nothing_expired_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("proxy.stores.replay_sqlite.PURGE_CHUNK", 10)
    store = await SqliteReplayStore.open(tmp_path / "r.db")
    try:
        for n in range(35):
            claim = await store.claim(
                [contract.rpc(n, ttl_s=5)],
                owner=contract.owner(n),
                budget=contract.charge("1", period_s=5),
                now=NOW,
            )
            assert isinstance(claim, Claim)
        live = await store.claim(
            [contract.rpc(99, ttl_s=600)], owner=contract.owner(99), budget=None, now=NOW
        )
        assert isinstance(live, Claim)
        commits = store.commits
        assert await store.purge(NOW + 10) == 35 * 3  # keys, claims and charges
        assert store.commits - commits == 4  # 10 + 10 + 10 + 5 rows per table
        assert await store.size() == 2  # the live claim and its key
        assert await store.purge(NOW + 10) == 0
    finally:
        await store.close()
