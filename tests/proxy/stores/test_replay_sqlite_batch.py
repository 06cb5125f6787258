"""Group commit in the SQLite replay store: batches, savepoints, commit failures, cancellation."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from contracts import replay_contract

from policy.errors import StoreUnavailableError
from policy.replay import Claim, ClaimRecord, Duplicate, Replay, ReplayLayer
from policy.revocation import Freeze, Frozen, Revoked
from proxy.stores import store_problem
from proxy.stores.replay_sqlite import SqliteReplayStore
from proxy.stores.sqlite_batch import OpKind, SqliteBatcher

T = TypeVar("T")


contract = replay_contract()
NOW = contract.NOW
rpc, payload, owner, charge = contract.rpc, contract.payload, contract.owner, contract.charge


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteReplayStore]:
    store = await SqliteReplayStore.open(tmp_path / "r.db")
    yield store
    await store.close()


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """Errors reported to the loop's exception handler (e.g. a future resolved twice)."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    yield errors
    loop.set_exception_handler(previous)


@asynccontextmanager
async def one_batch(store: SqliteReplayStore, expected: int) -> AsyncIterator[None]:
    """Hold the batcher until ``expected`` calls are queued, so they form one batch."""
    deadline = asyncio.get_running_loop().time() + 5
    with store._batcher.hold():
        yield
        while store._batcher.pending < expected:
            assert asyncio.get_running_loop().time() < deadline, "calls were never queued"
            await asyncio.sleep(0.001)


def start(*calls: Awaitable[T]) -> list[asyncio.Task[T]]:
    return [asyncio.ensure_future(call) for call in calls]


def raw_count(path: Path, sql: str, params: tuple[object, ...] = ()) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(sql, params).fetchone()[0])
    finally:
        conn.close()


@contextmanager
def locked(path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection holding the write lock."""
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        yield blocker
    finally:
        if blocker.in_transaction:
            blocker.execute("ROLLBACK")
        blocker.close()


async def test_many_concurrent_claims_are_all_won_durable_and_share_commits(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.db"
    store = await SqliteReplayStore.open(path)
    try:
        base = store.commits
        outcomes = await asyncio.gather(
            *(
                store.claim(
                    [rpc(n), payload(n)], owner=owner(n), budget=charge("1", cap="1000"), now=NOW
                )
                for n in range(300)
            )
        )
        assert all(isinstance(o, Claim) for o in outcomes)
        commits = store.commits - base
        assert 2 <= commits < 300  # grouped (max 256 per batch), not one transaction per claim
        assert store._batcher.reruns == 0  # nothing failed: no savepoints needed
    finally:
        await store.close()
    assert raw_count(path, "SELECT COUNT(*) FROM replay_claims") == 300
    assert raw_count(path, "SELECT COUNT(*) FROM replay_keys") == 600
    again = await SqliteReplayStore.open(path)
    try:
        assert await again.usage("env-1", NOW) == (Decimal(300), 300)
        dups = await asyncio.gather(
            *(again.claim([rpc(n)], owner=owner(n), budget=None, now=NOW) for n in range(300))
        )
        assert all(isinstance(d, Duplicate) and d.in_flight for d in dups)
    finally:
        await again.close()


async def test_one_batch_is_one_commit_and_sequential_claims_one_each(
    store: SqliteReplayStore,
) -> None:
    base = store.commits
    async with one_batch(store, 50):
        tasks = start(
            *(store.claim([rpc(n)], owner=owner(n), budget=None, now=NOW) for n in range(50))
        )
    assert all(isinstance(o, Claim) for o in await asyncio.gather(*tasks))
    assert store.commits - base == 1
    for n in range(50, 53):
        assert isinstance(await store.claim([rpc(n)], owner=owner(n), budget=None, now=NOW), Claim)
    assert store.commits - base == 4


async def test_claims_of_one_key_in_one_batch_have_one_winner(store: SqliteReplayStore) -> None:
    shared = contract.key(ReplayLayer.PERMIT2_BIT, 1, "0xacc", 0, 1)
    async with one_batch(store, 4):
        first, again, other, unrelated = start(
            store.claim([rpc(1), shared], owner=owner(1), budget=None, now=NOW),
            store.claim([rpc(1), shared], owner=owner(1), budget=None, now=NOW),  # a retry
            store.claim([rpc(2), shared], owner=owner(2), budget=None, now=NOW),
            store.claim([rpc(3)], owner=owner(3), budget=None, now=NOW),
        )
    assert isinstance(await first, Claim)
    dup = await again
    assert isinstance(dup, Duplicate)
    assert dup.in_flight
    replay = await other
    assert isinstance(replay, Replay)
    assert replay.layer is ReplayLayer.PERMIT2_BIT
    assert isinstance(await unrelated, Claim)


async def test_calls_in_one_batch_see_each_other_in_order(store: SqliteReplayStore) -> None:
    store.claim_ids = iter([f"claim-{n}" for n in range(10)]).__next__
    won = Claim("claim-0", owner(1), (rpc(1),), NOW, charge("5"))
    async with one_batch(store, 9):
        tasks = start(
            store.usage("env-1", NOW),  # at the head: read before the transaction
            store.claim([rpc(1)], owner=owner(1), budget=charge("5"), now=NOW, session="s1"),
            store.usage("env-1", NOW),  # inside the transaction: sees the charge
            store.complete(won, '{"result":"0x1"}', NOW),
            store.lookup(contract.TOPIC, contract.ID0 + 1, NOW),
            store.revoke(contract.revocation("s1")),
            store.claim([rpc(2)], owner=owner(2), budget=None, now=NOW, session="s1"),
            store.freeze(Freeze("ops", "incident", NOW)),
            store.claim([rpc(3)], owner=owner(3, session="s2"), budget=None, now=NOW),
        )
    (
        before,
        claimed,
        after,
        completed,
        record,
        revoked,
        refused,
        frozen,
        stopped,
    ) = await asyncio.gather(*tasks)
    assert before == (Decimal(0), 0)
    assert claimed == won
    assert after == (Decimal(5), 1)
    assert completed is True
    assert isinstance(record, ClaimRecord)
    assert (record.in_flight, record.result) == (False, '{"result":"0x1"}')
    assert revoked is True
    assert isinstance(refused, Revoked)
    assert frozen is True
    assert isinstance(stopped, Frozen)


async def test_a_failing_call_fails_alone_and_is_rolled_back(
    tmp_path: Path, store: SqliteReplayStore
) -> None:
    path = tmp_path / "r.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TRIGGER poison BEFORE INSERT ON replay_keys WHEN NEW.key LIKE '%0xbad%'"
        " BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
    )
    conn.commit()
    conn.close()
    poisoned = contract.key(ReplayLayer.PAYLOAD, "0xacc", "transaction", "0xbad")
    base = store.commits
    async with one_batch(store, 5):
        tasks = start(
            store.claim([rpc(1)], owner=owner(1), budget=charge("1"), now=NOW),
            # the claim row and the rpc key are written before the poisoned key fails
            store.claim([rpc(2), poisoned], owner=owner(2), budget=charge("1"), now=NOW),
            store.claim([rpc(2)], owner=owner(3), budget=charge("1"), now=NOW),
            store.claim([rpc(4)], owner=owner(4), budget=charge("1"), now=NOW),
            store.usage("env-1", NOW),
        )
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[1], StoreUnavailableError)
    assert "injected fault" in str(results[1])
    assert [isinstance(r, Claim) for r in results[:4]] == [True, False, True, True]
    assert results[4] == (Decimal(3), 3)  # the failed claim's charge was rolled back
    assert store.commits - base == 1
    assert store._batcher.reruns == 1  # run again with a savepoint per write
    assert raw_count(path, "SELECT COUNT(*) FROM replay_claims") == 3
    assert raw_count(path, "SELECT COUNT(*) FROM replay_keys") == 3
    # alone in its transaction (no savepoint) a failing claim is rolled back all the same
    with pytest.raises(StoreUnavailableError, match="injected fault"):
        await store.claim([rpc(5), poisoned], owner=owner(5), budget=charge("1"), now=NOW)
    assert store.commits - base == 1
    assert store._batcher.reruns == 1
    assert isinstance(await store.claim([rpc(5)], owner=owner(6), budget=None, now=NOW), Claim)
    assert await store.usage("env-1", NOW) == (Decimal(3), 3)
    assert raw_count(path, "SELECT COUNT(*) FROM replay_claims") == 4


async def test_a_failed_commit_fails_every_call_of_the_batch(
    tmp_path: Path, store: SqliteReplayStore
) -> None:
    path = tmp_path / "r.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE poison_parent (id INTEGER PRIMARY KEY);
        CREATE TABLE poison_child (
            parent INTEGER REFERENCES poison_parent (id) DEFERRABLE INITIALLY DEFERRED
        );
        CREATE TRIGGER poison AFTER INSERT ON replay_keys WHEN NEW.key LIKE '%0xbad%'
        BEGIN INSERT INTO poison_child VALUES (1); END;
        """
    )
    conn.close()
    # a deferred foreign key is only checked at COMMIT: the COMMIT itself fails
    await store._run(lambda: store._conn.execute("PRAGMA foreign_keys = ON"))
    poisoned = contract.key(ReplayLayer.PAYLOAD, "0xacc", "transaction", "0xbad")
    base = store.commits
    async with one_batch(store, 5):
        tasks = start(
            store.claim([rpc(1)], owner=owner(1), budget=charge("1"), now=NOW),
            store.claim([rpc(2), poisoned], owner=owner(2), budget=charge("1"), now=NOW),
            store.claim([rpc(3)], owner=owner(3), budget=charge("1"), now=NOW),
            store.usage("env-1", NOW),  # read inside the failed transaction: fails too
            store.revoke(contract.revocation("s7")),
        )
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, StoreUnavailableError) for r in results), results
    assert all("FOREIGN KEY" in str(r) for r in results)
    assert store.commits == base
    for table in ("replay_claims", "replay_keys", "replay_budget", "replay_revocations"):
        assert raw_count(path, f"SELECT COUNT(*) FROM {table}") == 0
    # the connection is out of the failed transaction and works on
    assert isinstance(await store.claim([rpc(1)], owner=owner(1), budget=None, now=NOW), Claim)
    assert await store.usage("env-1", NOW) == (Decimal(0), 0)
    assert store.commits == base + 1


async def test_a_cancelled_waiting_call_does_not_break_the_queue(
    store: SqliteReplayStore, loop_errors: list[dict[str, Any]]
) -> None:
    async with one_batch(store, 3):
        first, cancelled, last = start(
            store.claim([rpc(1)], owner=owner(1), budget=None, now=NOW),
            store.claim([rpc(2)], owner=owner(2), budget=None, now=NOW),
            store.claim([rpc(3)], owner=owner(3), budget=None, now=NOW),
        )
        await asyncio.sleep(0)
        cancelled.cancel()
    assert isinstance(await first, Claim)
    assert isinstance(await last, Claim)
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    # cancelled before its batch started: skipped, so its key is free
    assert isinstance(await store.claim([rpc(2)], owner=owner(9), budget=None, now=NOW), Claim)
    assert loop_errors == []


async def test_a_call_cancelled_inside_its_batch_may_still_commit(
    tmp_path: Path, store: SqliteReplayStore, loop_errors: list[dict[str, Any]]
) -> None:
    batches = store._batcher.batches
    with locked(tmp_path / "r.db"):
        task = asyncio.ensure_future(store.claim([rpc(1)], owner=owner(1), budget=None, now=NOW))
        # the batch started: the worker is in BEGIN IMMEDIATE, waiting for the lock
        await contract.wait_until(lambda: store._batcher.batches > batches, 5)
        await asyncio.sleep(0.01)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    # it committed after the lock was released: the same request is now a duplicate, in flight
    dup = await store.claim([rpc(1)], owner=owner(1), budget=None, now=NOW)
    assert isinstance(dup, Duplicate)
    assert dup.in_flight
    assert loop_errors == []


async def test_leading_reads_do_not_wait_for_another_process_write_lock(
    tmp_path: Path, store: SqliteReplayStore
) -> None:
    assert isinstance(
        await store.claim([rpc(1)], owner=owner(1), budget=charge("2"), now=NOW), Claim
    )
    with locked(tmp_path / "r.db"):
        assert await asyncio.wait_for(store.usage("env-1", NOW), 2) == (Decimal(2), 1)
        record = await asyncio.wait_for(store.lookup(contract.TOPIC, contract.ID0 + 1, NOW), 2)
        assert record is not None
        assert record.in_flight
        _events, cursor = await asyncio.wait_for(store.events_since(None), 2)
        assert cursor == 0


async def test_a_lock_timeout_fails_the_whole_batch_and_nothing_is_claimed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.db"
    store = await SqliteReplayStore.open(path, busy_timeout_s=0.1)
    try:
        with locked(path):
            results = await asyncio.gather(
                *(store.claim([rpc(n)], owner=owner(n), budget=None, now=NOW) for n in range(5)),
                return_exceptions=True,
            )
        assert all(isinstance(r, StoreUnavailableError) for r in results)
        assert raw_count(path, "SELECT COUNT(*) FROM replay_claims") == 0
    finally:
        await store.close()


async def test_batch_size_is_bounded(tmp_path: Path) -> None:
    store = await SqliteReplayStore.open(tmp_path / "r.db", max_batch=8)
    try:
        base = store.commits
        async with one_batch(store, 20):
            tasks = start(
                *(store.claim([rpc(n)], owner=owner(n), budget=None, now=NOW) for n in range(20))
            )
        assert all(isinstance(o, Claim) for o in await asyncio.gather(*tasks))
        assert store.commits - base == 3  # 8 + 8 + 4
    finally:
        await store.close()


async def test_batcher_rejects_calls_after_stop_and_a_bad_bound(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_batch"):
        SqliteBatcher(lambda: sqlite3.connect(":memory:"), busy_timeout_s=1, max_batch=0)
    batcher = SqliteBatcher(
        lambda: sqlite3.connect(tmp_path / "x.db", isolation_level=None), busy_timeout_s=1
    )
    await batcher.start()
    assert await batcher.submit(OpKind.READ, lambda: 7) == 7
    # a SOLO operation may not leave a transaction open for the batches after it
    with pytest.raises(sqlite3.ProgrammingError, match="transaction open"):
        await batcher.submit(OpKind.SOLO, lambda: batcher.conn.execute("BEGIN"))
    assert await batcher.submit(OpKind.WRITE, lambda: batcher.conn.execute("CREATE TABLE t (x)"))
    assert batcher.commits == 1
    await batcher.stop()
    await batcher.stop()  # idempotent
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        await batcher.submit(OpKind.READ, lambda: 8)


async def test_a_batch_with_a_claim_is_fsynced_and_completes_alone_are_not(
    store: SqliteReplayStore,
) -> None:
    statements: list[str] = []
    await store._run(lambda: store._conn.set_trace_callback(statements.append))
    synced = store.batcher.fsyncs
    async with one_batch(store, 3):
        first, second, _usage = start(
            store.claim([rpc(1)], owner=owner(1), budget=None, now=NOW),
            store.claim([rpc(2)], owner=owner(2), budget=None, now=NOW),
            store.usage("env-1", NOW),
        )
    claims = [await first, await second]
    assert all(isinstance(c, Claim) for c in claims)
    assert store.batcher.fsyncs == synced + 1  # answered after one WAL fsync for the batch
    mixed = list(statements)
    statements.clear()
    async with one_batch(store, 2):
        done = start(*(store.complete(c, "{}", NOW) for c in claims if isinstance(c, Claim)))
    assert await asyncio.gather(*done) == [True, True]
    assert store.batcher.fsyncs == synced + 1  # lazy writes alone: answered at their COMMIT
    lazy = list(statements)
    await store._run(lambda: store._conn.set_trace_callback(None))

    def control(trace: list[str]) -> list[str]:
        return [s for s in trace if s.split()[0] in {"BEGIN", "COMMIT", "SAVEPOINT", "PRAGMA"}]

    # one transaction each, no savepoints on the fast path, no synchronous switching
    assert [s for s in control(mixed) if "busy_timeout" not in s] == ["BEGIN IMMEDIATE", "COMMIT"]
    assert [s for s in control(lazy) if "busy_timeout" not in s] == ["BEGIN IMMEDIATE", "COMMIT"]


async def test_waiting_for_another_process_write_lock_does_not_block_the_loop(
    tmp_path: Path, store: SqliteReplayStore
) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    running = asyncio.ensure_future(ticker())
    try:
        with locked(tmp_path / "r.db"):
            task = asyncio.ensure_future(
                store.claim([rpc(1)], owner=owner(1), budget=None, now=NOW)
            )
            await asyncio.sleep(0.01)
            before = ticks
            await asyncio.sleep(0.05)
            assert not task.done()  # still waiting for the lock ...
            assert ticks > before  # ... while the loop runs on
        assert isinstance(await task, Claim)
    finally:
        running.cancel()


async def test_a_failed_fsync_fails_its_batch_and_every_later_call(
    store: SqliteReplayStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(await store.claim([rpc(1)], owner=owner(1), budget=None, now=NOW), Claim)

    def broken_fsync(_fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("proxy.stores.sqlite_batch._sync_file", broken_fsync)
    with pytest.raises(StoreUnavailableError, match="could not be synced"):
        await store.claim([rpc(2)], owner=owner(2), budget=None, now=NOW)
    monkeypatch.undo()
    # fail closed: the kernel may have dropped what was not synced, so nothing is trusted any more
    with pytest.raises(StoreUnavailableError, match="could not be synced"):
        await store.usage("env-1", NOW)
    with pytest.raises(StoreUnavailableError, match="could not be synced"):
        await store.claim([rpc(3)], owner=owner(3), budget=None, now=NOW)


async def test_the_helper_thread_checkpoints_and_the_wal_is_rewound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("proxy.stores.sqlite_batch.CHECKPOINT_INTERVAL_S", 0.005)
    monkeypatch.setattr("proxy.stores.sqlite_batch.CHECKPOINT_BYTES", 64 * 1024)
    monkeypatch.setattr("proxy.stores.sqlite_batch.RESTART_BYTES", 64 * 1024 * 1024)
    path = tmp_path / "r.db"
    store = await SqliteReplayStore.open(path)
    try:
        for n in range(400):
            claim = await store.claim([rpc(n)], owner=owner(n), budget=None, now=NOW)
            assert isinstance(claim, Claim)
        wal = Path(f"{path}-wal").stat().st_size
        assert wal < 1024 * 1024  # without checkpoints 400 fsynced commits grow it to several MB
        assert store.batcher.checkpoints > 0
        assert store.batcher.rewinds > 0
        assert raw_count(path, "SELECT COUNT(*) FROM replay_claims") == 400
    finally:
        await store.close()


async def _checkpoint_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the checkpoint thread did to the database file while 400 claims rewound the WAL (a small
    rewind threshold): ``"write back"``, ``"sync db"`` and ``"pause"`` (writers paused), in order."""
    import os

    import proxy.stores.sqlite_batch as batch_module

    monkeypatch.setattr(batch_module, "CHECKPOINT_INTERVAL_S", 0.005)
    monkeypatch.setattr(batch_module, "CHECKPOINT_BYTES", 64 * 1024)
    monkeypatch.setattr(batch_module, "RESTART_BYTES", 64 * 1024 * 1024)
    events: list[str] = []
    real_sync, real_write_back = batch_module._sync_file, batch_module.write_back
    real_pause = batch_module.SqliteBatcher._pause_writes

    def is_db(fd: int) -> bool:
        return os.readlink(f"/proc/self/fd/{fd}").endswith("r.db")

    def recording_sync(fd: int) -> None:
        if is_db(fd):
            events.append("sync db")
        real_sync(fd)

    def recording_write_back(fd: int) -> bool:
        assert is_db(fd)
        events.append("write back")
        return real_write_back(fd)

    def recording_pause(self: SqliteBatcher, paused: threading.Event) -> None:
        events.append("pause")
        real_pause(self, paused)

    monkeypatch.setattr(batch_module, "_sync_file", recording_sync)
    monkeypatch.setattr(batch_module, "write_back", recording_write_back)
    monkeypatch.setattr(batch_module.SqliteBatcher, "_pause_writes", recording_pause)
    store = await SqliteReplayStore.open(tmp_path / "r.db")
    try:
        for n in range(400):
            assert isinstance(
                await store.claim([rpc(n)], owner=owner(n), budget=None, now=NOW), Claim
            )
        assert store.batcher.rewinds > 0
    finally:
        await store.close()
    assert "pause" in events
    return events


async def test_a_rewind_syncs_the_checkpointed_database_before_it_pauses_the_writers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite syncs the database file only after a pass that copied every frame: the paused pass.
    Synced before, that pass has only its own few pages to sync while the writers wait."""
    events = await _checkpoint_events(tmp_path, monkeypatch)
    for i, event in enumerate(events):
        if event == "pause":
            assert events[i - 1] == "sync db"


async def test_checkpointed_pages_are_written_back_in_chunks_before_any_database_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After every copy pass the checkpoint thread writes the copied pages out chunk by chunk, so
    no sync of the database file (and no paused pass) sends them all to the disk in one burst."""
    events = await _checkpoint_events(tmp_path, monkeypatch)
    syncs = [i for i, event in enumerate(events) if event == "sync db"]
    assert syncs
    for i in syncs:
        assert events[i - 1] == "write back", events[max(0, i - 4) : i + 1]


async def test_without_chunked_writeback_each_catch_up_pass_syncs_its_copies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where ``sync_file_range`` is missing, each catch-up pass syncs what it copied (as before)."""
    monkeypatch.setattr("proxy.stores.writeback._sync_file_range", None)
    events = await _checkpoint_events(tmp_path, monkeypatch)
    first_pause = events.index("pause")
    assert (
        events[:first_pause].count("sync db") >= 2
    )  # at least one pass and the one before pausing
    assert events[first_pause - 1] == "sync db"


async def test_a_claim_is_decided_at_its_commit_and_answered_after_its_fsync(
    store: SqliteReplayStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``decided`` lets an ordered caller go on while the fsync runs; ``claim`` still waits for it,
    and a claim decided meanwhile sees the first one."""
    from proxy.stores import sqlite_batch

    real_sync = sqlite_batch._sync_file
    entered, release = threading.Event(), threading.Event()

    def slow_sync(fd: int) -> None:
        entered.set()
        release.wait(10)
        real_sync(fd)

    monkeypatch.setattr(sqlite_batch, "_sync_file", slow_sync)
    heard: list[object] = []
    first = asyncio.ensure_future(
        store.claim(
            [rpc(1), payload(1)], owner=owner(1), budget=None, now=NOW, decided=heard.append
        )
    )
    assert await asyncio.to_thread(entered.wait, 5)
    await asyncio.sleep(0.02)
    assert len(heard) == 1
    assert isinstance(heard[0], Claim)  # decided: every later call sees it ...
    assert not first.done()  # ... but not durable yet: nobody may sign on it
    second = asyncio.ensure_future(
        store.claim(
            [rpc(2), payload(1)], owner=owner(2), budget=None, now=NOW, decided=heard.append
        )
    )
    for _ in range(200):  # the second batch runs while the first fsync hangs
        if len(heard) == 2:
            break
        await asyncio.sleep(0.01)
    assert len(heard) == 2
    assert isinstance(heard[1], Replay)  # decided seeing the first claim, while its fsync runs
    release.set()
    assert await asyncio.wait_for(first, 5) is heard[0]
    assert await asyncio.wait_for(second, 5) is heard[1]


async def test_nothing_committed_after_a_failed_fsync_is_reported_durable(
    store: SqliteReplayStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Linux reports a lost write once: the fsync after a failed one may succeed. A claim committed
    after the failure (its WAL frames follow the lost ones) must fail all the same."""
    from proxy.stores import sqlite_batch

    real_sync = sqlite_batch._sync_file
    calls = 0
    entered, release = threading.Event(), threading.Event()

    def fail_once(fd: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            entered.set()
            release.wait(10)
            raise OSError(5, "Input/output error")
        real_sync(fd)

    monkeypatch.setattr(sqlite_batch, "_sync_file", fail_once)
    heard: list[object] = []
    first = asyncio.ensure_future(
        store.claim([rpc(1)], owner=owner(1), budget=None, now=NOW, decided=heard.append)
    )
    assert await asyncio.to_thread(entered.wait, 5)
    second = asyncio.ensure_future(
        store.claim([rpc(2)], owner=owner(2), budget=None, now=NOW, decided=heard.append)
    )
    for _ in range(200):  # the second batch commits while the first fsync hangs
        if len(heard) == 2:
            break
        await asyncio.sleep(0.01)
    assert [type(o) for o in heard] == [Claim, Claim]
    release.set()
    for task in (first, second):
        with pytest.raises(StoreUnavailableError, match="could not be synced"):
            await asyncio.wait_for(task, 5)
    assert calls == 2  # the second fsync ran and succeeded: the second claim failed regardless


async def test_health_reports_a_store_that_refuses_everything(
    store: SqliteReplayStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await store_problem(store) is None

    def broken_fsync(_fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("proxy.stores.sqlite_batch._sync_file", broken_fsync)
    with pytest.raises(StoreUnavailableError):
        await store.claim([rpc(1)], owner=owner(1), budget=None, now=NOW)
    problem = await store_problem(store)
    assert problem is not None
    assert "could not be synced" in problem


async def test_health_reports_a_store_that_does_not_answer() -> None:
    class Stuck:
        async def frozen(self) -> None:
            await asyncio.sleep(10)

    assert await store_problem(Stuck(), timeout_s=0.01) == "no answer within 0.01s"  # type: ignore[arg-type]


async def test_a_claim_is_not_answered_before_its_wal_fsync_returns(
    store: SqliteReplayStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from proxy.stores import sqlite_batch

    real_sync = sqlite_batch._sync_file
    entered, release = threading.Event(), threading.Event()

    def slow_sync(fd: int) -> None:
        entered.set()
        release.wait(10)
        real_sync(fd)

    monkeypatch.setattr(sqlite_batch, "_sync_file", slow_sync)
    task = asyncio.ensure_future(store.claim([rpc(1)], owner=owner(1), budget=None, now=NOW))
    assert await asyncio.to_thread(entered.wait, 5)
    await asyncio.sleep(0.05)
    assert not task.done()  # committed, but not on disk yet: nobody may sign on it
    # meanwhile the loop goes on: reads are answered
    assert await asyncio.wait_for(store.usage("env-1", NOW), 2) == (Decimal(0), 0)
    release.set()
    assert isinstance(await asyncio.wait_for(task, 5), Claim)
