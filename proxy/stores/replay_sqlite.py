"""ReplayStore on an embedded SQLite file (I/O: one file, one dedicated worker thread per store).

Uniqueness is a table constraint (``PRIMARY KEY (layer, key)``); a claim is one ``BEGIN IMMEDIATE``
transaction (write lock first, then check every key and the budget, then insert), so two
connections — in one process or in two processes on the same file — never both win a key.

Durability: WAL journal with ``synchronous=FULL``: the WAL is fsynced at every commit, so a claim
is on disk before ``claim()`` returns and the signer runs. ``NORMAL`` would survive a process kill
but not a power cut, which could lose a claim whose signature already left the proxy.

All sqlite3 calls run on the store's own single worker thread (sqlite3 directly, not aiosqlite),
so the event loop never blocks; sqlite3 errors become :class:`policy.errors.StoreUnavailableError`.
A cancelled ``claim`` may still commit in the thread: its keys then stay held until their TTL,
which errs on the side of never signing twice.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import structlog

from policy.errors import StoreUnavailableError
from policy.replay import (
    BudgetCharge,
    BudgetExceeded,
    BudgetUsage,
    Claim,
    ClaimOutcome,
    ClaimRecord,
    Duplicate,
    Replay,
    ReplayKey,
    RequestIdentity,
    Sighting,
    micro_to_usd,
    new_claim_id,
    rpc_id_key,
    unique_keys,
)

__all__ = ["SqliteReplayStore"]

log = structlog.get_logger(__name__)

T = TypeVar("T")

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS replay_claims (
    claim_id     TEXT PRIMARY KEY,
    topic        TEXT NOT NULL,
    request_id   TEXT,
    payload_hash TEXT NOT NULL,
    session      TEXT,
    at           REAL NOT NULL,
    expires_at   REAL NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
    result       TEXT
);
CREATE INDEX IF NOT EXISTS replay_claims_expiry ON replay_claims (expires_at);
CREATE TABLE IF NOT EXISTS replay_keys (
    layer      TEXT NOT NULL,
    key        TEXT NOT NULL,
    claim_id   TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (layer, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS replay_keys_claim ON replay_keys (claim_id);
CREATE INDEX IF NOT EXISTS replay_keys_expiry ON replay_keys (expires_at);
CREATE TABLE IF NOT EXISTS replay_budget (
    claim_id    TEXT PRIMARY KEY,
    envelope_id TEXT NOT NULL,
    micro_usd   INTEGER NOT NULL CHECK (micro_usd >= 0),
    at          REAL NOT NULL,
    expires_at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS replay_budget_envelope ON replay_budget (envelope_id, expires_at);
CREATE INDEX IF NOT EXISTS replay_budget_expiry ON replay_budget (expires_at);
"""

_HELD = """
SELECT c.topic, c.request_id, c.payload_hash, c.session, c.at, c.state, c.result
FROM replay_keys AS k LEFT JOIN replay_claims AS c ON c.claim_id = k.claim_id
WHERE k.layer = ? AND k.key = ? AND k.expires_at > ?
"""

_Row = tuple[str | None, str | None, str | None, str | None, float | None, str | None, str | None]


class SqliteReplayStore:
    """The replay store on one SQLite file; open with :meth:`open`, release with :meth:`close`."""

    def __init__(self, executor: ThreadPoolExecutor, conn: sqlite3.Connection, path: str) -> None:
        self._executor = executor
        self._conn = conn
        self._path = path
        self._closed = False
        self.claim_ids: Callable[[], str] = new_claim_id

    @classmethod
    async def open(cls, path: str | Path, *, busy_timeout_s: float = 10.0) -> SqliteReplayStore:
        """Open (creating if needed) the store at ``path``; ``busy_timeout_s`` bounds lock waits."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wcproxy-replay-sqlite")
        loop = asyncio.get_running_loop()
        try:
            conn = await loop.run_in_executor(executor, _connect, str(path), busy_timeout_s)
        except sqlite3.Error as exc:
            executor.shutdown(wait=False)
            raise StoreUnavailableError(f"cannot open replay store {path}: {exc}") from exc
        return cls(executor, conn, str(path))

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        if self._closed:
            raise StoreUnavailableError("replay store is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, *args)
        except sqlite3.Error as exc:
            log.warning("replay_store_error", backend="sqlite", error=str(exc))
            raise StoreUnavailableError(f"replay store (sqlite) failed: {exc}") from exc

    async def claim(
        self,
        keys: Sequence[ReplayKey],
        *,
        owner: RequestIdentity,
        budget: BudgetCharge | None,
        now: float,
    ) -> ClaimOutcome:
        """Atomically claim every key and charge the budget (see policy.interfaces.ReplayStore)."""
        return await self._run(
            self._claim_sync, unique_keys(keys), owner, budget, now, self.claim_ids()
        )

    async def complete(self, claim: Claim, result: str, now: float) -> bool:
        """Store the response of a signed, still in-flight claim."""
        return await self._run(self._complete_sync, claim.claim_id, result, now)

    async def abort(self, claim: Claim, now: float) -> bool:
        """Release an in-flight claim: delete its keys and refund its charge."""
        return await self._run(self._abort_sync, claim.claim_id, now)

    async def lookup(self, topic: str, request_id: int, now: float) -> ClaimRecord | None:
        """The live claim holding the rpc-id key (topic, request_id)."""
        return await self._run(self._lookup_sync, rpc_id_key(topic, request_id), now)

    async def usage(self, envelope_id: str, now: float) -> BudgetUsage:
        """Live charges of an envelope."""
        spent, calls = await self._run(self._spent_sync, envelope_id, now)
        return BudgetUsage(micro_to_usd(spent), calls)

    async def purge(self, now: float) -> int:
        """Delete expired keys, claims and charges."""
        return await self._run(self._purge_sync, now)

    async def size(self) -> int:
        """Rows stored in the three tables."""
        return await self._run(self._size_sync)

    async def close(self) -> None:
        """Close the connection and stop the worker thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._conn.close)
        finally:
            self._executor.shutdown(wait=False)

    # --- worker-thread side --------------------------------------------------------------------------

    def _claim_sync(
        self,
        keys: tuple[ReplayKey, ...],
        owner: RequestIdentity,
        budget: BudgetCharge | None,
        now: float,
        claim_id: str,
    ) -> ClaimOutcome:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            outcome = self._check(keys, owner, budget, now)
            if outcome is not None:
                conn.execute("ROLLBACK")
                return outcome
            expires = max((now + k.ttl_s for k in keys), default=now + 1)
            conn.executemany(
                "DELETE FROM replay_keys WHERE layer = ? AND key = ? AND expires_at <= ?",
                [(k.layer.value, k.key, now) for k in keys],
            )
            conn.execute(
                "INSERT INTO replay_claims (claim_id, topic, request_id, payload_hash, session,"
                " at, expires_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'in_flight')",
                (
                    claim_id,
                    owner.topic,
                    None if owner.request_id is None else str(owner.request_id),
                    owner.payload_hash,
                    owner.session,
                    now,
                    expires,
                ),
            )
            conn.executemany(
                "INSERT INTO replay_keys (layer, key, claim_id, expires_at) VALUES (?, ?, ?, ?)",
                [(k.layer.value, k.key, claim_id, now + k.ttl_s) for k in keys],
            )
            if budget is not None:
                conn.execute(
                    "INSERT INTO replay_budget (claim_id, envelope_id, micro_usd, at, expires_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (claim_id, budget.envelope_id, budget.micro_usd, now, now + budget.period_s),
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return Claim(claim_id, owner, keys, now, budget)

    def _check(
        self,
        keys: tuple[ReplayKey, ...],
        owner: RequestIdentity,
        budget: BudgetCharge | None,
        now: float,
    ) -> ClaimOutcome | None:
        held: list[tuple[ReplayKey, _Row]] = []
        for key in keys:
            row = self._conn.execute(_HELD, (key.layer.value, key.key, now)).fetchone()
            if row is not None:
                held.append((key, row))
        for _key, row in held:
            first = _owner(row)
            sighting = _sighting(row)
            if first is not None and sighting is not None and first.same_request(owner):
                return Duplicate(row[6], row[5] != "done", sighting)
        if held:
            key, row = held[0]
            return Replay(key.layer, "already_claimed", _sighting(row))
        if budget is not None:
            spent, _calls = self._spent_sync(budget.envelope_id, now)
            if spent + budget.micro_usd > budget.cap_micro_usd:
                return BudgetExceeded(
                    budget.envelope_id, micro_to_usd(spent), budget.usd, budget.cap_usd
                )
        return None

    def _complete_sync(self, claim_id: str, result: str, now: float) -> bool:
        cur = self._conn.execute(
            "UPDATE replay_claims SET state = 'done', result = ?"
            " WHERE claim_id = ? AND state = 'in_flight' AND expires_at > ?",
            (result, claim_id, now),
        )
        return cur.rowcount == 1

    def _abort_sync(self, claim_id: str, now: float) -> bool:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(
                "SELECT 1 FROM replay_claims"
                " WHERE claim_id = ? AND state = 'in_flight' AND expires_at > ?",
                (claim_id, now),
            ).fetchone()
            if row is None:
                conn.execute("ROLLBACK")
                return False
            for table in ("replay_keys", "replay_claims", "replay_budget"):
                conn.execute(f"DELETE FROM {table} WHERE claim_id = ?", (claim_id,))  # noqa: S608
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return True

    def _lookup_sync(self, key: ReplayKey, now: float) -> ClaimRecord | None:
        row = self._conn.execute(
            _HELD + " AND c.expires_at > ?", (key.layer.value, key.key, now, now)
        ).fetchone()
        first = None if row is None else _owner(row)
        if row is None or first is None:
            return None
        return ClaimRecord(first, float(row[4] or 0.0), row[5] != "done", row[6])

    def _spent_sync(self, envelope_id: str, now: float) -> tuple[int, int]:
        spent, calls = self._conn.execute(
            "SELECT COALESCE(SUM(micro_usd), 0), COUNT(*) FROM replay_budget"
            " WHERE envelope_id = ? AND expires_at > ?",
            (envelope_id, now),
        ).fetchone()
        return int(spent), int(calls)

    def _purge_sync(self, now: float) -> int:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            removed = 0
            for table in ("replay_keys", "replay_claims", "replay_budget"):
                cur = conn.execute(f"DELETE FROM {table} WHERE expires_at <= ?", (now,))  # noqa: S608
                removed += cur.rowcount
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return removed

    def _size_sync(self) -> int:
        (total,) = self._conn.execute(
            "SELECT (SELECT COUNT(*) FROM replay_keys) + (SELECT COUNT(*) FROM replay_claims)"
            " + (SELECT COUNT(*) FROM replay_budget)"
        ).fetchone()
        return int(total)


def _connect(path: str, busy_timeout_s: float) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal" and path != ":memory:":
            raise sqlite3.OperationalError(f"cannot enable WAL on {path} (journal_mode={mode})")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("BEGIN IMMEDIATE")
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"replay store schema {version} is newer than this code")
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.close()
        raise
    return conn


def _owner(row: _Row) -> RequestIdentity | None:
    topic, request_id, payload_hash, session = row[0], row[1], row[2], row[3]
    if topic is None or payload_hash is None:
        return None  # key row without its claim row: held, owner unknown
    return RequestIdentity(
        topic, None if request_id is None else int(request_id), payload_hash, session
    )


def _sighting(row: _Row) -> Sighting | None:
    first = _owner(row)
    if first is None:
        return None
    return Sighting(float(row[4] or 0.0), first.session, first.request_id, first.topic)
