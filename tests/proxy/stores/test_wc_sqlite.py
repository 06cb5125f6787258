"""The WalletConnect store contract on SQLite (a real file per test)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from contracts import storage_contract

from proxy.stores.wc_sqlite import SqliteWalletConnectStore
from walletconnect.storage import WalletConnectStore


class TestSqliteStore(storage_contract().StoreContract):  # type: ignore[misc]
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


class TestSharedWithTheReplayStore(storage_contract().StoreContract):  # type: ignore[misc]
    """The same contract when the protocol store rides on the replay store's connection."""

    @pytest.fixture
    def make_store(self, tmp_path: Path):  # type: ignore[no-untyped-def]
        from proxy.stores.replay_sqlite import SqliteReplayStore

        replays: list[SqliteReplayStore] = []

        async def factory(namespace: str) -> WalletConnectStore:
            replay = await SqliteReplayStore.open(tmp_path / "shared.sqlite")
            replays.append(replay)
            store = await SqliteWalletConnectStore.open(
                tmp_path / "shared.sqlite", namespace, batcher=replay.batcher
            )
            await replay.close()  # the protocol store keeps the shared connection alive
            return store

        return factory


async def test_the_daemon_shares_one_connection_and_one_commit(tmp_path: Path) -> None:
    from policy.replay import RequestIdentity, rpc_id_key
    from proxy.stores.replay_sqlite import SqliteReplayStore
    from proxy.stores.sqlite_batch import OpKind
    from proxy.stores.wc import open_wc_store
    from walletconnect.storage import Put, RecordKind

    url = f"sqlite:{tmp_path / 'daemon.sqlite'}"
    replay = await SqliteReplayStore.open(tmp_path / "daemon.sqlite")
    wc = await open_wc_store(url, replay_store=replay)
    assert isinstance(wc, SqliteWalletConnectStore)
    assert wc._batcher is replay.batcher
    before = replay.commits
    hold = threading.Event()  # keep the worker busy until both calls are queued: one batch
    held = replay.batcher.submit(OpKind.SOLO, hold.wait, 5.0)
    owner = RequestIdentity("ab" * 32, 1, "0x" + "11" * 32, "ab" * 32)
    apply = asyncio.ensure_future(wc.apply([Put(RecordKind.SYM_KEY, "cd" * 32, b"\1" * 32)]))
    claim = asyncio.ensure_future(
        replay.claim((rpc_id_key("ab" * 32, 1),), owner=owner, budget=None, now=1.0e9)
    )
    await asyncio.sleep(0)  # let both submit
    hold.set()
    await asyncio.gather(held, apply, claim)
    assert replay.commits - before == 1  # the engine's write and the claim: one transaction
    await wc.close()
    assert await replay.lookup("ab" * 32, 1, 1.0e9) is not None  # still open for the replay store
    await replay.close()
    other = await SqliteWalletConnectStore.open(tmp_path / "daemon.sqlite")
    assert (await other.load()).sym_keys == {"cd" * 32: b"\1" * 32}
    await other.close()


async def test_a_store_on_another_file_gets_its_own_connection(tmp_path: Path) -> None:
    from proxy.stores.replay_sqlite import SqliteReplayStore
    from proxy.stores.wc import open_wc_store

    replay = await SqliteReplayStore.open(tmp_path / "replay.sqlite")
    wc = await open_wc_store(f"sqlite:{tmp_path / 'other.sqlite'}", replay_store=replay)
    assert isinstance(wc, SqliteWalletConnectStore)
    assert wc._batcher is not replay.batcher
    await wc.close()
    await replay.close()


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:a/b.db", "a/b.db"),
        ("sqlite:///srv/b.db", "/srv/b.db"),
        ("sqlite:/srv/b.db", "/srv/b.db"),
    ],
)
def test_both_stores_read_a_sqlite_url_the_same_way(url: str, path: str) -> None:
    from proxy.stores import sqlite_path

    assert sqlite_path(url) == path


def test_a_sqlite_url_without_a_path_is_refused() -> None:
    from policy.errors import StoreUnavailableError
    from proxy.stores import sqlite_path

    with pytest.raises(StoreUnavailableError, match="needs a path"):
        sqlite_path("sqlite:")


async def test_request_bookkeeping_is_committed_at_once_and_synced_with_the_next_durable_write(
    tmp_path: Path,
) -> None:
    import sqlite3

    from walletconnect.engine.records import HistoryRecord
    from walletconnect.storage import Put, RecordKind

    path = tmp_path / "wc.sqlite"
    store = await SqliteWalletConnectStore.open(path)
    try:
        synced = store._batcher.fsyncs
        record = HistoryRecord(
            topic="t" * 64, id=1, method="wc_sessionRequest", direction="in", expiry=9
        )
        await store.apply([Put(RecordKind.HISTORY, "t:1", record)])
        assert store._batcher.fsyncs == synced  # bookkeeping alone: no fsync to wait for ...
        with sqlite3.connect(path) as other:  # ... but committed: another connection sees it
            assert other.execute("SELECT COUNT(*) FROM wc_records").fetchone()[0] == 1
        await store.apply(
            [Put(RecordKind.HISTORY, "t:2", record), Put(RecordKind.SYM_KEY, "t" * 64, b"k" * 32)]
        )
        assert store._batcher.fsyncs == synced + 1  # with a key in the batch: synced first
    finally:
        await store.close()
