"""WalletConnect client state (keys, pairings, sessions, history, pending requests) in SQLite; I/O.

Implements :class:`walletconnect.storage.WalletConnectStore` on one file: a single table
``wc_records(ns, kind, key, value)`` holding the JSON text of :func:`walletconnect.storage.encode_value`.
WAL journal with ``synchronous=FULL`` (a change is fsynced before ``apply`` returns — the client
publishes an answer only after that). Every sqlite3 call runs on the store's own single worker
thread, so the event loop never blocks; sqlite3 errors become :class:`StoreError`.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from proxy.stores.sqlite_batch import begin_immediate
from walletconnect.storage import (
    Delete,
    RecordKind,
    StoreChange,
    StoredValue,
    StoreError,
    StoreSnapshot,
    coalesce_changes,
    decode_value,
    encode_value,
    snapshot_from_rows,
)

__all__ = ["SqliteWalletConnectStore"]

T = TypeVar("T")

_BUSY_TIMEOUT_S = 5.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS wc_records (
    ns TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (ns, kind, key)
) WITHOUT ROWID
"""


class SqliteWalletConnectStore:
    """A WalletConnectStore on an SQLite file; ``namespace`` separates clients sharing a file."""

    def __init__(self, path: str | Path, namespace: str = "default") -> None:
        self.path = str(path)
        self.namespace = namespace
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wc-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path, namespace: str = "default") -> SqliteWalletConnectStore:
        """Open (creating the file and table if needed)."""
        store = cls(path, namespace)
        await store._run(store._connect)
        return store

    async def _run(self, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn)
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite: {exc}") from exc

    def _connect(self) -> None:
        if self._conn is not None:
            return
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT_S * 1000)}")
        conn.execute(_SCHEMA)
        self._conn = conn

    def _db(self) -> sqlite3.Connection:
        self._connect()
        assert self._conn is not None
        return self._conn

    async def load(self) -> StoreSnapshot:
        """Everything in this namespace."""

        def read() -> list[tuple[str, str, str]]:
            rows = self._db().execute(
                "SELECT kind, key, value FROM wc_records WHERE ns = ?", (self.namespace,)
            )
            return [(str(k), str(key), str(v)) for k, key, v in rows]

        return snapshot_from_rows(await self._run(read))

    async def apply(self, changes: Sequence[StoreChange]) -> None:
        """One ``BEGIN IMMEDIATE`` transaction for all changes (encoded before it starts)."""
        if not changes:
            return
        ops: list[tuple[str, tuple[str, ...]]] = []
        for change in coalesce_changes(changes):
            if isinstance(change, Delete):
                ops.append(
                    (
                        "DELETE FROM wc_records WHERE ns = ? AND kind = ? AND key = ?",
                        (self.namespace, str(change.kind), change.key),
                    )
                )
            else:
                text = encode_value(change.kind, change.value)
                ops.append(
                    (
                        "INSERT OR REPLACE INTO wc_records (ns, kind, key, value) VALUES (?, ?, ?, ?)",
                        (self.namespace, str(change.kind), change.key, text),
                    )
                )

        def write() -> None:
            db = self._db()
            # Probing, not SQLite's busy handler: the replay store commits batches in the same
            # file, and the handler's back-off (up to 100 ms sleeps) would stall every answer.
            begin_immediate(db, _BUSY_TIMEOUT_S, int(_BUSY_TIMEOUT_S * 1000))
            try:
                for sql, args in ops:
                    db.execute(sql, args)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

        async with self._lock:
            await self._run(write)

    async def get(self, kind: RecordKind, key: str) -> StoredValue | None:
        """One value or None."""

        def read() -> str | None:
            row = (
                self._db()
                .execute(
                    "SELECT value FROM wc_records WHERE ns = ? AND kind = ? AND key = ?",
                    (self.namespace, str(kind), key),
                )
                .fetchone()
            )
            return None if row is None else str(row[0])

        text = await self._run(read)
        return None if text is None else decode_value(kind, text)

    async def close(self) -> None:
        """Close the connection and stop the worker thread."""

        def shut() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await self._run(shut)
        self._executor.shutdown(wait=True)
