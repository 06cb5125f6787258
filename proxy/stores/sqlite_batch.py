"""Group commit for one SQLite connection: queued operations run in batches, one transaction each (I/O: one thread).

Callers :meth:`SqliteBatcher.submit` an operation (a function run on the batcher's own thread,
which alone uses the connection) and await the returned future: enqueueing is a put on a
``queue.SimpleQueue``, no thread hop per call. The worker thread takes everything queued (at most
``max_batch`` operations), runs them in arrival order and resolves all their futures with one
``call_soon_threadsafe`` per event loop. While a batch runs, new operations queue for the next one.

A batch is run like this:

* leading :attr:`OpKind.READ` operations run first, outside any transaction (a WAL reader never
  waits for another process's write lock);
* the rest run in ONE ``BEGIN IMMEDIATE`` transaction (the write lock is probed every ~0.2 ms, see
  :func:`begin_immediate`), later operations seeing the earlier ones. A write that raises is
  rolled back alone and fails only its own future: the transaction runs without savepoints first
  (a savepoint costs about a third of a claim's CPU); if a write raises, it is rolled back and the
  whole transaction runs again with each write inside its own ``SAVEPOINT`` (rolled back to on
  failure). Operations are pure functions of the database and their arguments (claim ids, ``now``
  are fixed before submitting), so running them again is the same as running them once;
* then ONE ``COMMIT``: with ``synchronous=FULL`` (one WAL fsync for the whole batch) unless every
  write of the batch is :attr:`OpKind.LAZY_WRITE`, which commits with ``NORMAL``.

No future of the transaction is resolved before its ``COMMIT`` returned. If ``BEGIN`` or ``COMMIT``
fails (or the transaction is lost some other way, e.g. an I/O error makes SQLite roll it back),
every operation of the transaction fails with that error, so nobody is told of a write that was
not committed. :attr:`OpKind.SOLO` operations run alone between batches, outside any transaction.

A caller cancelled while waiting is simply not resolved; an operation already taken into a batch
still runs (a cancelled claim may commit — its keys then stay held, which is the safe side), one
cancelled before its batch started is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog

__all__ = ["DEFAULT_MAX_BATCH", "OpKind", "SqliteBatcher", "begin_immediate"]

log = structlog.get_logger(__name__)

T = TypeVar("T")

#: Most operations run in one transaction (bounds how long one batch holds the write lock).
DEFAULT_MAX_BATCH = 256

_LOCK_PROBE_S = 0.0002


class OpKind(enum.Enum):
    """How an operation takes part in a batch."""

    READ = "read"  # writes nothing: no savepoint; outside the transaction when it leads the batch
    WRITE = "write"  # own SAVEPOINT; its batch commits with synchronous=FULL
    LAZY_WRITE = "lazy_write"  # own SAVEPOINT; a batch whose writes are all lazy commits NORMAL
    SOLO = "solo"  # alone, between batches, outside any transaction (setup, maintenance, close)


@dataclass(slots=True)
class _Op:
    kind: OpKind
    fn: Callable[[], Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    ok: bool = False
    value: Any = field(default=None)


class _Stop:
    """Queue sentinel: close the connection and end the thread."""


def begin_immediate(conn: sqlite3.Connection, timeout_s: float, busy_ms: int) -> None:
    """``BEGIN IMMEDIATE``, probing the write lock every ~0.2 ms until ``timeout_s``.

    SQLite's own busy handler backs off to 100 ms sleeps, so a writer waiting behind a busy peer
    (say a revoke behind another process's stream of claims) could wait hundreds of ms while the
    peer keeps winning the lock; short probes keep that wait near one transaction. Other
    statements keep the connection's busy timeout (``busy_ms``).
    """
    deadline = time.monotonic() + timeout_s
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(_LOCK_PROBE_S)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {busy_ms}")


class SqliteBatcher:
    """One connection on one worker thread; operations submitted to it are group-committed.

    ``connect`` opens the connection (on the worker thread, in :meth:`start`). ``commits``,
    ``batches`` and ``reruns`` count committed write transactions, batches run and transactions
    run again with savepoints after a failing write (tests, metrics).
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
        self._busy_ms = max(1, int(busy_timeout_s * 1000))
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Op | _Stop] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._conn: sqlite3.Connection | None = None
        self._held: _Op | _Stop | None = None  # ended the previous drain; first of the next
        self._started: asyncio.Future[None] | None = None
        self._stopped: asyncio.Future[None] | None = None
        self._start_loop: asyncio.AbstractEventLoop | None = None
        self._stop_loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._users = 1
        self.commits = 0
        self.batches = 0
        self.reruns = 0

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection (use it only from operations, i.e. on the worker thread)."""
        if self._conn is None:
            raise sqlite3.ProgrammingError("connection is not open")
        return self._conn

    async def start(self) -> None:
        """Start the thread and open the connection; raises what ``connect`` raised."""
        loop = asyncio.get_running_loop()
        self._start_loop = loop
        self._started = loop.create_future()
        self._thread.start()
        await self._started

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
        """Run what is queued, then close the connection and end the thread (idempotent)."""
        if self._stopped is not None:
            await asyncio.shield(self._stopped)
            return
        loop = asyncio.get_running_loop()
        self._stop_loop = loop
        self._stopped = loop.create_future()
        self._stopping = True
        self._queue.put(_Stop())
        await self._stopped

    def submit(self, kind: OpKind, fn: Callable[..., T], *args: object) -> asyncio.Future[T]:
        """Queue ``fn(*args)`` for the next batch; the future resolves after its batch committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if self._stopping:
            future.set_exception(sqlite3.ProgrammingError("the connection is closed"))
            return future
        call = (lambda: fn(*args)) if args else fn
        self._queue.put(_Op(kind, call, loop, future))
        return future

    # --- worker thread -------------------------------------------------------------------------------

    def _main(self) -> None:
        try:
            self._conn = self._connect()
        except BaseException as exc:  # noqa: BLE001 - reported to start()'s caller
            self._report(self._start_loop, self._started, exc)
            return
        self._report(self._start_loop, self._started, None)
        while True:
            batch = self._drain()
            if isinstance(batch, _Stop):
                break
            try:
                self._run(batch)
            except BaseException as exc:  # noqa: BLE001 - a bug here must not hang the callers
                log.error("sqlite_batch_crashed", error=repr(exc))
                for op in batch:
                    op.ok, op.value = False, exc
            self._resolve(batch)
        closed = sqlite3.ProgrammingError("the connection is closed")
        while True:  # submitted after stop() (callers check their own closed flag first)
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Op):
                item.ok, item.value = False, closed
                self._resolve([item])
        error: BaseException | None = None
        try:
            self._conn.close()
        except sqlite3.Error as exc:
            error = exc
        self._report(self._stop_loop, self._stopped, error)

    def _drain(self) -> list[_Op] | _Stop:
        """The next batch: one SOLO op alone, or up to ``max_batch`` others in arrival order."""
        first = self._held if self._held is not None else self._queue.get()
        self._held = None
        if isinstance(first, _Stop) or first.kind is OpKind.SOLO:
            return first if isinstance(first, _Stop) else [first]
        batch = [first]
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Stop) or item.kind is OpKind.SOLO:
                self._held = item
                break
            batch.append(item)
        return batch

    def _run(self, batch: list[_Op]) -> None:
        # cancelled before their batch started: skip (either outcome was allowed for them)
        ops = [op for op in batch if not op.future.cancelled()]
        self.batches += 1  # from here on, a cancelled caller's operation still runs
        if len(ops) == 1 and ops[0].kind is OpKind.SOLO:
            _call(ops[0])
            if self.conn.in_transaction:  # it must not leave one open for the next batch
                self.conn.execute("ROLLBACK")
                ops[0].ok = False
                ops[0].value = sqlite3.ProgrammingError("operation left a transaction open")
            return
        start = 0
        while start < len(ops) and ops[start].kind is OpKind.READ:
            _call(ops[start])
            start += 1
        if start < len(ops):
            self._transaction(ops[start:])

    def _transaction(self, ops: list[_Op]) -> None:
        conn = self.conn
        lazy = all(op.kind is not OpKind.WRITE for op in ops)
        try:
            if lazy:
                conn.execute("PRAGMA synchronous=NORMAL")
            try:
                begin_immediate(conn, self._busy_timeout_s, self._busy_ms)
                if not self._run_all(ops, savepoints=False):
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    if len(ops) == 1:  # a write alone: its failure is the batch's outcome
                        return
                    self.reruns += 1
                    begin_immediate(conn, self._busy_timeout_s, self._busy_ms)
                    self._run_all(ops, savepoints=True)
                conn.execute("COMMIT")
            except BaseException as exc:  # noqa: BLE001 - every caller of the batch gets it
                if conn.in_transaction:
                    try:
                        conn.execute("ROLLBACK")
                    except sqlite3.Error as rollback_exc:
                        log.warning("sqlite_batch_rollback_failed", error=str(rollback_exc))
                for op in ops:
                    op.ok, op.value = False, exc
                return
            self.commits += 1
        finally:
            if lazy:
                try:
                    conn.execute("PRAGMA synchronous=FULL")
                except sqlite3.Error as exc:
                    log.warning("sqlite_batch_pragma_failed", error=str(exc))

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

    def _resolve(self, batch: list[_Op]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Op]] = {}
        for op in batch:
            by_loop.setdefault(op.loop, []).append(op)
        for loop, ops in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting
                loop.call_soon_threadsafe(_settle, ops)

    @staticmethod
    def _report(
        loop: asyncio.AbstractEventLoop | None,
        future: asyncio.Future[None] | None,
        error: BaseException | None,
    ) -> None:
        if loop is None or future is None:
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle_one, future, error)


def _call(op: _Op) -> bool:
    try:
        op.ok, op.value = True, op.fn()
    except Exception as exc:  # noqa: BLE001 - goes to the caller's future
        op.ok, op.value = False, exc
    return op.ok


def _settle(ops: list[_Op]) -> None:
    for op in ops:
        if op.future.done():  # cancelled while waiting
            continue
        if op.ok:
            op.future.set_result(op.value)
        else:
            op.future.set_exception(op.value)


def _settle_one(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
