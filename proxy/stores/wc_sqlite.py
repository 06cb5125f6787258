"""WalletConnect client state (keys, pairings, sessions, history, pending requests) in SQLite; I/O.

Implements :class:`walletconnect.storage.WalletConnectStore` on one file: a single table
``wc_records(ns, kind, key, value)`` holding the JSON text of :func:`walletconnect.storage.encode_value`.
WAL journal: a change is committed before ``apply`` returns (the client publishes an answer only
after that) and fsynced first, except request bookkeeping: a batch of only ``history`` /
``pending_request`` records is a lazy write (committed, so a killed process keeps it; synced with
the next durable write). Two fsyncs per request for bookkeeping would double a request's disk
waits; what a power cut may lose of it costs a re-sent answer, never a second signature (the
replay store's claim, always fsynced before signing, refuses the request again).

Every sqlite3 call runs through a :class:`~proxy.stores.sqlite_batch.SqliteBatcher`: the store's own,
or — when the daemon keeps the replay store in the same file — the replay store's, so an engine
flush and the replay claims queued with it commit in one transaction with one fsync. Statements
run on the loop (microseconds each), the fsync on the batcher's helper thread; sqlite3 errors
become :class:`StoreError`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from proxy.stores.sqlite_batch import PAGE_SIZE, OpKind, SqliteBatcher
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

#: Records of requests in flight and answered: their loss in a power cut is recoverable.
_BOOKKEEPING = frozenset({RecordKind.HISTORY, RecordKind.PENDING_REQUEST})

_PUT = "INSERT OR REPLACE INTO wc_records (ns, kind, key, value) VALUES (?, ?, ?, ?)"
_DELETE = "DELETE FROM wc_records WHERE ns = ? AND kind = ? AND key = ?"


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # as the replay store's (a new file only)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
    except BaseException:
        conn.close()
        raise
    return conn


class SqliteWalletConnectStore:
    """A WalletConnectStore on an SQLite file; ``namespace`` separates clients sharing a file."""

    def __init__(self, batcher: SqliteBatcher, path: str, namespace: str = "default") -> None:
        self._batcher = batcher
        self.path = path
        self.namespace = namespace
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: str | Path,
        namespace: str = "default",
        *,
        batcher: SqliteBatcher | None = None,
    ) -> SqliteWalletConnectStore:
        """Open (creating the file and table if needed); with ``batcher``, share that connection."""
        if batcher is None:
            own = SqliteBatcher(
                lambda: _connect(str(path)), busy_timeout_s=_BUSY_TIMEOUT_S, name="wc-sqlite"
            )
            try:
                await own.start()
            except sqlite3.Error as exc:
                raise StoreError(f"sqlite: {exc}") from exc
            batcher = own
        else:
            batcher.share()
        store = cls(batcher, str(path), namespace)
        try:
            await store._submit(OpKind.SOLO, store._create_table)
        except StoreError:
            await store.close()
            raise
        return store

    async def _submit(self, kind: OpKind, fn: Callable[[], T]) -> T:
        if self._closed:
            raise StoreError("sqlite: store is closed")
        try:
            return await self._batcher.submit(kind, fn)
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite: {exc}") from exc

    def _create_table(self) -> None:
        self._batcher.conn.execute(_SCHEMA)

    async def load(self) -> StoreSnapshot:
        """Everything in this namespace."""

        def read() -> list[tuple[str, str, str]]:
            rows = self._batcher.conn.execute(
                "SELECT kind, key, value FROM wc_records WHERE ns = ?", (self.namespace,)
            )
            return [(str(k), str(key), str(v)) for k, key, v in rows]

        return snapshot_from_rows(await self._submit(OpKind.READ, read))

    async def apply(self, changes: Sequence[StoreChange]) -> None:
        """Persist ``changes`` (encoded here, before they are queued) in one transaction."""
        if not changes:
            return
        ns = self.namespace
        puts: list[tuple[str, str, str, str]] = []
        deletes: list[tuple[str, str, str]] = []
        for change in coalesce_changes(changes):  # one change per record: order is irrelevant
            if isinstance(change, Delete):
                deletes.append((ns, str(change.kind), change.key))
            else:
                puts.append(
                    (ns, str(change.kind), change.key, encode_value(change.kind, change.value))
                )

        def write() -> None:
            conn = self._batcher.conn
            if deletes:
                conn.executemany(_DELETE, deletes)
            if puts:
                conn.executemany(_PUT, puts)

        lazy = all(change.kind in _BOOKKEEPING for change in changes)
        await self._submit(OpKind.LAZY_WRITE if lazy else OpKind.WRITE, write)

    async def get(self, kind: RecordKind, key: str) -> StoredValue | None:
        """One value or None."""

        def read() -> str | None:
            row = self._batcher.conn.execute(
                "SELECT value FROM wc_records WHERE ns = ? AND kind = ? AND key = ?",
                (self.namespace, str(kind), key),
            ).fetchone()
            return None if row is None else str(row[0])

        text = await self._submit(OpKind.READ, read)
        return None if text is None else decode_value(kind, text)

    async def close(self) -> None:
        """Release the connection (the last user of a shared batcher stops it); idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._batcher.release()
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite: {exc}") from exc
