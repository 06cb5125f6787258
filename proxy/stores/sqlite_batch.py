"""Group commit for one SQLite connection: SQL on the event loop, fsync on a helper thread.

Callers :meth:`SqliteBatcher.submit` an operation (a function of the connection) and await the
returned future. Everything submitted before the loop gets round to the batcher's flush callback
forms one batch (at most ``max_batch`` operations), run in arrival order on the loop thread:

* leading :attr:`OpKind.READ` operations run first, outside any transaction (a WAL reader never
  waits for another process's write lock), and are answered at once;
* the rest run in ONE ``BEGIN IMMEDIATE`` transaction, later operations seeing the earlier ones. The
  write lock is taken without blocking the loop: while another process holds it, the batch is
  retried every fraction of a millisecond (backing off to 5 ms) until ``busy_timeout_s``. A write
  that raises is rolled back alone and fails only its own future: the transaction runs without
  savepoints first (a savepoint costs about a third of a claim's CPU); if a write raises, it is
  rolled back and the whole transaction runs again with each write inside its own ``SAVEPOINT``.
  Operations are pure functions of the database and their arguments (claim ids, ``now`` are fixed
  before submitting), so running them again is the same as running them once;
* then ONE ``COMMIT`` with ``synchronous=NORMAL``: the WAL frames are written, not yet synced.

Durability: a batch holding any :attr:`OpKind.WRITE` (or a :attr:`OpKind.SOLO` operation) is
answered only once the helper thread has ``fsync``-ed the WAL file after its ``COMMIT``, which is
what ``synchronous=FULL`` guarantees, and one fsync covers every batch committed before it started
(group commit across batches, while the loop goes on with the next one). A batch whose writes are
all :attr:`OpKind.LAZY_WRITE` is answered at its ``COMMIT`` (the next fsync covers it). A caller
may also hear its result at the ``COMMIT`` (``submit(..., committed=hook)``), before it is durable:
later operations see it from then on, so an ordered caller can go on deciding (the replay store's
claims, for the next request of a session) while the fsync runs. If
``BEGIN``, ``COMMIT`` or the fsync fails, every operation of the batch fails with that error, so
nobody is told of a write that is not durable; after a failed fsync the batcher refuses all further
work (the kernel may have dropped the unsynced pages: fail closed, restart to recover).

Why the loop and not a worker thread: sqlite3 releases the GIL around every statement, so a worker
thread running a dozen statements per claim fought the loop thread for the GIL a dozen times per
claim (most of the store's CPU went to those hand-offs). The statements take microseconds on a hot
database; only the fsync and checkpoints block, and they run on helper threads.

Checkpoints: the loop's connection never checkpoints (``wal_autocheckpoint=0``, so no commit ever
blocks on one); a second helper thread, on its own connection, copies new WAL frames into the
database every :data:`CHECKPOINT_INTERVAL_S` (``PASSIVE``), so a WAL fsync never waits behind a
checkpoint. SQLite starts the WAL over only when a write begins after a checkpoint caught up with
every frame, which a checkpoint running beside a busy writer rarely does; so once the WAL holds
:data:`CHECKPOINT_BYTES`, the thread pauses the loop's batches for one last, short pass, and the next
write rewinds the WAL. SQLite syncs the database file only after a pass that copied every frame (the
paused one), so before pausing the thread syncs the database itself and copies what was committed
meanwhile: the writers then wait for a few pages, not for everything copied since the last rewind.
If another process keeps it from catching up, a ``RESTART`` checkpoint (which waits for the write
lock) runs beyond :data:`RESTART_BYTES`. After every pass the thread writes the copied pages out a
chunk at a time (:mod:`proxy.stores.writeback`), so no sync of the database file sends them to the
disk in one burst ahead of the claims' WAL fsyncs.

A caller cancelled while waiting is simply not answered; an operation already taken into a batch
still runs (a cancelled claim may commit — its keys then stay held, which is the safe side), one
cancelled before its batch started is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog

from proxy.stores.writeback import write_back

__all__ = [
    "CHECKPOINT_BYTES",
    "DEFAULT_MAX_BATCH",
    "PAGE_SIZE",
    "RESTART_BYTES",
    "OpKind",
    "SqliteBatcher",
]

log = structlog.get_logger(__name__)

T = TypeVar("T")

#: Most operations run in one transaction (bounds how long one batch holds the write lock).
DEFAULT_MAX_BATCH = 256

#: Page size the stores give a new file (an existing file keeps its own). A claim changes a page in
#: each of a dozen and more B-trees (random keys, their indexes, budget rows and totals); each
#: changed page is written whole to the WAL, fsynced, then copied back by a checkpoint. With 1 KiB
#: pages a claim wrote about 29 KB of WAL instead of 78 KB with SQLite's default 4 KiB (schema 3;
#: about 24 KB with schema 4), so the fsync a request waits for, and the checkpoints competing with
#: it for the disk, are smaller.
PAGE_SIZE = 1024

#: How often the checkpoint thread copies newly committed WAL frames into the database (PASSIVE).
CHECKPOINT_INTERVAL_S = 1.0
#: WAL content from which the checkpoint thread also rewinds the WAL: it pauses the loop's writes
#: for one short catch-up checkpoint, so the next write starts the WAL over. A checkpoint copies
#: each page once however often the WAL holds it, so a larger WAL costs less per commit.
CHECKPOINT_BYTES = 16 * 1024 * 1024
#: Longest wait for the loop's running batch to end before a rewind is given up (tried again later).
_PAUSE_WAIT_S = 1.0
#: Before a rewind pauses the writers, checkpoint passes run alongside them (at most this many)
#: until one copies at most ``_PAUSED_PASS_BYTES``: the paused pass then has little to do.
_CATCH_UP_PASSES = 4
_PAUSED_PASS_BYTES = 256 * 1024
#: WAL size from which it checkpoints with RESTART (waits for the write lock, then rewinds the WAL).
RESTART_BYTES = 128 * 1024 * 1024
#: Busy timeout of statements on the loop's connection other than ``BEGIN IMMEDIATE`` (a WAL reader
#: is only ever held up briefly, e.g. while another process recovers the WAL index).
_LOOP_BUSY_MS = 100

#: ``fdatasync`` where there is one (what SQLite uses for the WAL on Linux), else ``fsync``.
_sync_file: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)

_FIRST_PROBE_S = 0.0002
_MAX_PROBE_S = 0.005


class OpKind(enum.Enum):
    """How an operation takes part in a batch."""

    READ = "read"  # writes nothing: no savepoint; outside the transaction when it leads the batch
    WRITE = "write"  # own SAVEPOINT; its batch is answered once the WAL is fsynced
    LAZY_WRITE = "lazy_write"  # own SAVEPOINT; a batch of only these is answered at COMMIT
    SOLO = "solo"  # alone, between batches, outside any transaction (setup, maintenance); fsynced


@dataclass(slots=True)
class _Op:
    kind: OpKind
    fn: Callable[[], Any]
    future: asyncio.Future[Any]
    committed: Callable[[Any], None] | None = None
    ok: bool = False
    value: Any = field(default=None)


class _Stop:
    """Sync-queue sentinel: end the helper thread."""


class SqliteBatcher:
    """One connection used from the event loop; operations submitted to it are group-committed.

    ``connect`` opens the connection (on the loop, in :meth:`start`). ``commits``, ``batches``,
    ``reruns``, ``fsyncs``, ``checkpoints`` and ``rewinds`` count committed write transactions,
    batches run, transactions run again with savepoints after a failing write, WAL fsyncs,
    checkpoints and checkpoints after which the WAL starts over (tests, metrics).
    """

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        *,
        busy_timeout_s: float,
        max_batch: int = DEFAULT_MAX_BATCH,
        name: str = "wcproxy-sqlite-batch",
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._connect = connect
        self._busy_timeout_s = busy_timeout_s
        self._max_batch = max_batch
        self._name = name
        self._conn: sqlite3.Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[_Op] = []
        self._scheduled = False  # a flush is due on the loop
        self._running = False  # a batch is under way (waiting for the write lock)
        self._held = 0  # hold() depth: flushes wait
        self._syncs: queue.SimpleQueue[list[_Op] | _Stop] = queue.SimpleQueue()
        self._sync_thread: threading.Thread | None = None
        self._checkpoint_thread: threading.Thread | None = None
        self._checkpoint_due = threading.Event()  # wakes the checkpoint thread (to end)
        self._ending = False  # tells the checkpoint thread to end
        self._paused: threading.Event | None = None  # set once writes paused for a checkpoint
        self._unsynced = 0  # batches handed to the helper thread, not yet answered
        self._drained: asyncio.Event | None = None
        self._idle: asyncio.Future[None] | None = None  # stop() waits for the last batch
        self._wal_path: str | None = None
        self._broken: BaseException | None = None
        self._stopping = False
        self._stopped: asyncio.Future[None] | None = None
        self._users = 1
        self.commits = 0
        self.batches = 0
        self.reruns = 0
        self.fsyncs = 0
        self.checkpoints = 0
        self.rewinds = 0

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection (use it only from operations, i.e. on the loop inside a batch)."""
        if self._conn is None:
            raise sqlite3.ProgrammingError("connection is not open")
        return self._conn

    def counters(self) -> dict[str, int]:
        """The counters, for metrics."""
        return {
            "batches": self.batches,
            "commits": self.commits,
            "fsyncs": self.fsyncs,
            "checkpoints": self.checkpoints,
        }

    @property
    def pending(self) -> int:
        """Operations submitted and not yet taken into a batch."""
        return len(self._pending)

    async def start(self) -> None:
        """Open the connection and start the helper threads; raises what ``connect`` raised."""
        self._loop = asyncio.get_running_loop()
        self._drained = asyncio.Event()
        self._drained.set()
        conn = self._connect()  # on the loop thread, which alone uses it (start-up may block)
        try:
            conn.execute("PRAGMA synchronous=NORMAL")  # durability comes from our own WAL fsync
            conn.execute("PRAGMA wal_autocheckpoint=0")  # the helper thread checkpoints
            conn.execute(f"PRAGMA busy_timeout={_LOOP_BUSY_MS}")
            path = str(conn.execute("PRAGMA database_list").fetchone()[2])
            (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        if path and str(mode).lower() == "wal":
            self._wal_path = path + "-wal"
        self._sync_thread = threading.Thread(
            target=self._sync_main, name=f"{self._name}-fsync", daemon=True
        )
        self._sync_thread.start()
        if self._wal_path is not None:
            self._checkpoint_thread = threading.Thread(
                target=self._checkpoint_main,
                args=(path,),
                name=f"{self._name}-checkpoint",
                daemon=True,
            )
            self._checkpoint_thread.start()

    def share(self) -> SqliteBatcher:
        """Count one more user of this connection (each calls :meth:`release` once); returns self.

        Stores on the same file share one batcher, so their writes share transactions and fsyncs.
        """
        if self._stopping:
            raise sqlite3.ProgrammingError("the connection is closed")
        self._users += 1
        return self

    async def release(self) -> None:
        """One user is done; the last one stops the batcher (see :meth:`stop`)."""
        self._users -= 1
        if self._users <= 0:
            await self.stop()

    async def stop(self) -> None:
        """Run what is queued, wait for its fsync, then close the connection (idempotent)."""
        if self._stopped is not None:
            await asyncio.shield(self._stopped)
            return
        loop = asyncio.get_running_loop()
        self._stopped = loop.create_future()
        self._stopping = True
        error: BaseException | None = None
        try:
            if self._pending or self._running or self._scheduled:
                self._idle = loop.create_future()
                self._schedule()
                await self._idle
            if self._drained is not None:
                await self._drained.wait()
            if self._sync_thread is not None:
                self._syncs.put(_Stop())
                await asyncio.to_thread(self._sync_thread.join)
            if self._checkpoint_thread is not None:
                self._ending = True
                self._checkpoint_due.set()
                await asyncio.to_thread(self._checkpoint_thread.join)
            if self._conn is not None:
                self._conn.close()
        except BaseException as exc:  # noqa: BLE001 - reported to every stop() caller
            error = exc
        if error is None:
            self._stopped.set_result(None)
        else:
            self._stopped.set_exception(error)
        await asyncio.shield(self._stopped)

    def submit(
        self,
        kind: OpKind,
        fn: Callable[..., T],
        *args: object,
        committed: Callable[[T], None] | None = None,
    ) -> asyncio.Future[T]:
        """Queue ``fn(*args)`` for the next batch; the future resolves once its batch is durable
        (at its ``COMMIT`` for reads and lazy writes).

        ``committed`` (if given) is called on the loop with the operation's result as soon as its
        batch has committed, before the fsync: from then on every later operation sees it. It is
        not called when the operation or its batch fails, nor for a caller that was cancelled.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if self._stopping or self._conn is None:
            future.set_exception(sqlite3.ProgrammingError("the connection is closed"))
            return future
        if loop is not self._loop:
            future.set_exception(RuntimeError("SqliteBatcher used from another event loop"))
            return future
        if self._broken is not None:
            future.set_exception(self._broken)
            return future
        call = (lambda: fn(*args)) if args else fn
        self._pending.append(_Op(kind, call, future, committed))
        self._schedule()
        return future

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Within this block no batch starts: what is submitted meanwhile runs as one batch after it
        (up to ``max_batch``; tests use it to shape batches)."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
            self._schedule()

    # --- on the loop -------------------------------------------------------------------------------

    def _schedule(self) -> None:
        if not (self._pending or self._running or self._scheduled):
            if self._idle is not None and not self._idle.done():
                self._idle.set_result(None)
            return
        if self._scheduled or self._running or self._held or not self._pending:
            return
        assert self._loop is not None
        self._scheduled = True
        self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        if self._running or self._held or not self._pending:
            return
        batch = self._take()
        if not batch:
            self._schedule()
            return
        self.batches += 1  # from here on, a cancelled caller's operation still runs
        if batch[0].kind is OpKind.SOLO:
            self._run_solo(batch[0])
            self._schedule()
            return
        start = 0
        while start < len(batch) and batch[start].kind is OpKind.READ:
            _call(batch[start])
            start += 1
        _settle(batch[:start])
        if start == len(batch):
            self._schedule()
            return
        self._running = True
        self._begin(batch[start:], time.monotonic() + self._busy_timeout_s, _FIRST_PROBE_S)

    def _take(self) -> list[_Op]:
        """The next batch: one SOLO op alone, or up to ``max_batch`` others in arrival order; ops
        cancelled before their batch started are dropped (either outcome was allowed for them)."""
        pending = self._pending
        while pending and pending[0].future.cancelled():
            pending.pop(0)
        if not pending:
            return []
        if pending[0].kind is OpKind.SOLO:
            return [pending.pop(0)]
        end = 0
        while end < len(pending) and end < self._max_batch and pending[end].kind is not OpKind.SOLO:
            end += 1
        batch = [op for op in pending[:end] if not op.future.cancelled()]
        del pending[:end]
        return batch

    def _run_solo(self, op: _Op) -> None:
        _call(op)
        conn = self.conn
        if conn.in_transaction:  # it must not leave one open for the batches after it
            conn.execute("ROLLBACK")
            op.ok, op.value = False, sqlite3.ProgrammingError("operation left a transaction open")
        self._to_sync([op])

    def _begin(self, ops: list[_Op], deadline: float, probe_s: float) -> None:
        """``BEGIN IMMEDIATE`` without blocking the loop; on a busy lock, try again a bit later."""
        conn = self.conn
        try:
            conn.execute("PRAGMA busy_timeout=0")
            try:
                conn.execute("BEGIN IMMEDIATE")
            finally:
                conn.execute(f"PRAGMA busy_timeout={_LOOP_BUSY_MS}")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) and time.monotonic() < deadline:
                assert self._loop is not None
                self._loop.call_later(
                    probe_s, self._begin, ops, deadline, min(probe_s * 2, _MAX_PROBE_S)
                )
                return
            self._fail(ops, exc)
            return
        except BaseException as exc:  # noqa: BLE001 - every caller of the batch gets it
            self._fail(ops, exc)
            return
        self._transaction(ops)

    def _transaction(self, ops: list[_Op]) -> None:
        conn = self.conn
        try:
            if not self._run_all(ops, savepoints=False):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if len(ops) == 1:  # a write alone: its failure is the batch's outcome
                    self._done(ops, durable=False)
                    return
                self.reruns += 1
                # the busy timeout applies: the lock was ours a moment ago
                conn.execute("BEGIN IMMEDIATE")
                self._run_all(ops, savepoints=True)
            conn.execute("COMMIT")
        except BaseException as exc:  # noqa: BLE001 - every caller of the batch gets it
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error as rollback_exc:
                    log.warning("sqlite_batch_rollback_failed", error=str(rollback_exc))
            self._fail(ops, exc)
            return
        self.commits += 1
        _tell_committed(ops)
        self._done(ops, durable=any(op.kind is OpKind.WRITE for op in ops))

    def _run_all(self, ops: list[_Op], *, savepoints: bool) -> bool:
        """Run ``ops`` in the open transaction; without savepoints, stop at the first failing write
        and return False (the caller rolls back and runs them all again with savepoints)."""
        conn = self.conn
        for op in ops:
            if op.kind is OpKind.READ:
                _call(op)
            elif not savepoints:
                if not _call(op):
                    return False
            else:
                conn.execute("SAVEPOINT batch_op")
                if _call(op):
                    conn.execute("RELEASE batch_op")
                else:
                    conn.execute("ROLLBACK TO batch_op")
                    conn.execute("RELEASE batch_op")
            if not conn.in_transaction:  # lost (SQLite rolled back on an I/O error)
                raise sqlite3.OperationalError("the batch transaction was rolled back")
        return True

    def _fail(self, ops: list[_Op], error: BaseException) -> None:
        for op in ops:
            op.ok, op.value = False, error
        self._done(ops, durable=False)

    def _done(self, ops: list[_Op], *, durable: bool) -> None:
        self._running = False
        if self._paused is not None:
            self._paused.set()
        if durable:
            self._to_sync(ops)
        else:
            _settle(ops)
        self._schedule()

    def _to_sync(self, ops: list[_Op]) -> None:
        assert self._drained is not None
        self._unsynced += 1
        self._drained.clear()
        self._syncs.put(ops)

    def _synced(self, batches: list[list[_Op]], error: BaseException | None) -> None:
        assert self._drained is not None
        if error is not None and self._broken is None:
            self._broken = sqlite3.OperationalError(f"the store's WAL could not be synced: {error}")
            log.error("sqlite_fsync_failed", error=str(error))
        for ops in batches:
            # After a failed fsync a later one may succeed without the pages the failed one lost
            # (Linux reports a writeback error once): nothing committed after it counts as durable.
            if self._broken is not None:
                for op in ops:
                    op.ok, op.value = False, self._broken
            _settle(ops)
        self._unsynced -= len(batches)
        if self._unsynced == 0:
            self._drained.set()

    # --- helper threads: fsync, checkpoints -----------------------------------------------------------

    def _sync_main(self) -> None:
        fd: int | None = None
        try:
            while True:
                first = self._syncs.get()
                batches: list[list[_Op]] = []
                stop = isinstance(first, _Stop)
                if not stop:
                    batches.append(first)  # type: ignore[arg-type]
                while True:  # one fsync for everything committed so far
                    try:
                        item = self._syncs.get_nowait()
                    except queue.Empty:
                        break
                    if isinstance(item, _Stop):
                        stop = True
                    else:
                        batches.append(item)
                if batches:
                    error: BaseException | None = None
                    try:
                        if fd is None and self._wal_path is not None:
                            fd = _open_synced(self._wal_path)
                        if fd is not None:
                            _sync_file(fd)
                            self.fsyncs += 1
                    except OSError as exc:
                        error = exc
                    self._report(batches, error)
                if stop:
                    return
        finally:
            if fd is not None:
                os.close(fd)

    def _report(self, batches: list[list[_Op]], error: BaseException | None) -> None:
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting
            self._loop.call_soon_threadsafe(self._synced, batches, error)

    def _pause_writes(self, paused: threading.Event) -> None:
        """(loop) Start no batch until :meth:`_resume_writes`; ``paused`` is set once none runs."""
        self._paused = paused
        self._held += 1
        if not self._running:
            paused.set()

    def _resume_writes(self) -> None:
        if self._paused is not None:
            self._paused = None
            self._held -= 1
            self._schedule()

    def _checkpoint_main(self, path: str) -> None:
        conn: sqlite3.Connection | None = None
        db_fd: int | None = None
        copied_at = -1  # self.fsyncs at the last checkpoint
        try:
            while True:
                self._checkpoint_due.wait(CHECKPOINT_INTERVAL_S)
                if self._ending:
                    return
                if self.fsyncs == copied_at:
                    continue  # nothing committed since
                copied_at = self.fsyncs
                try:
                    if conn is None:
                        conn = sqlite3.connect(
                            path,
                            timeout=self._busy_timeout_s,
                            isolation_level=None,
                            check_same_thread=False,
                        )
                    if db_fd is None:
                        db_fd = os.open(path, os.O_RDONLY)
                    self._checkpoint(conn, db_fd)
                except (OSError, sqlite3.Error) as exc:  # the next round tries again
                    log.warning("sqlite_checkpoint_failed", error=str(exc))
        finally:
            if conn is not None:
                conn.close()
            if db_fd is not None:
                os.close(db_fd)

    def _checkpoint(self, conn: sqlite3.Connection, db_fd: int) -> None:
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
        _busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.checkpoints += 1
        if frames * page_size >= RESTART_BYTES:  # another process keeps it from catching up
            conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            self.rewinds += 1
            return
        # The copies go to the disk now, a chunk at a time (Linux): a sync of them all at once
        # would sit ahead of the claims' WAL fsyncs for tens of milliseconds.
        write_back(db_fd)
        if frames * page_size < CHECKPOINT_BYTES or self._loop is None:
            return
        # Catch up without stopping the writers first. SQLite syncs the database file only after
        # a pass that copied every frame, which under load is the paused pass below: it would sync
        # everything the passes before it copied (tens of ms with writers waiting). So copy what
        # was committed meanwhile, writing each pass's copies out (or, without chunked writeback,
        # syncing them), until a pass copies little; then sync the database before pausing.
        for _ in range(_CATCH_UP_PASSES):
            before = copied
            _busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self.checkpoints += 1
            if not write_back(db_fd):
                _sync_file(db_fd)
            if (copied - before) * page_size <= _PAUSED_PASS_BYTES:
                break
        _sync_file(db_fd)
        paused = threading.Event()
        try:
            self._loop.call_soon_threadsafe(self._pause_writes, paused)
        except RuntimeError:  # the loop is closed
            return
        try:
            if paused.wait(_PAUSE_WAIT_S):
                busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if not busy and frames == copied:
                    self.rewinds += 1  # the next write starts the WAL over
        finally:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._resume_writes)


def _open_synced(path: str) -> int:
    """Open the WAL file for syncing, and sync its directory entry once (as SQLite does for a new
    WAL on its first sync): a commit must not be lost with the file's name."""
    fd = os.open(path, os.O_RDONLY)
    try:
        directory = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError:
        os.close(fd)
        raise
    return fd


def _call(op: _Op) -> bool:
    try:
        op.ok, op.value = True, op.fn()
    except Exception as exc:  # noqa: BLE001 - goes to the caller's future
        op.ok, op.value = False, exc
    return op.ok


def _tell_committed(ops: list[_Op]) -> None:
    for op in ops:
        if op.committed is None or not op.ok or op.future.done():
            continue
        try:
            op.committed(op.value)
        except Exception:  # a caller's hook must not break the batch
            log.exception("sqlite_batch_committed_hook_failed")


def _settle(ops: list[_Op]) -> None:
    for op in ops:
        if op.future.done():  # cancelled while waiting
            continue
        if op.ok:
            op.future.set_result(op.value)
        else:
            op.future.set_exception(op.value)
