"""The append-only, hash-chained JSONL audit writer and its external chain-head stores (file I/O).

Why a plain writer and not a structlog logger: the chain hash must cover the exact bytes on disk.
structlog's processors (timestamps, level, redaction, renderer) would rewrite the event after we hashed
it, and its loggers give no control over batching or fsync. So records are built and hashed by the pure
:mod:`proxy.audit.record`, and this module writes exactly those bytes, one JSON object per line.

Ordering and group commit. :meth:`AuditLog.append` assigns ``seq`` / ``prev_hash`` synchronously, in
call order (the event loop is the serialiser), then waits until its line is on disk: one writer at a
time takes every pending line, writes them with one ``write`` (in a worker thread, so the loop never
blocks on the disk), applies the fsync policy, and then saves the new chain head to the
:class:`ChainHeadStore`. Concurrent appends therefore share one write and one fsync.

fsync policy (``AuditSettings.fsync``):

* ``always``: every batch is fsynced before any append in it returns (the request is answered after
  its record is durable). Strongest; costs one fsync per batch.
* ``interval``: a batch is fsynced if the last fsync is older than ``fsync_interval_s`` (and on close).
  A power loss can lose up to that much acknowledged audit data; a process crash loses nothing (the
  data is in the OS page cache).
* ``never``: left to the OS.

The chain head (count + last hash) is kept outside the log, in a :class:`ChainHeadStore` (the daemon
backs it with its store; :class:`FileChainHeadStore` writes ``<log>.head`` atomically;
:class:`MemoryChainHeadStore` is for tests). It is saved *after* the batch is written, so after a crash
the file may be ahead of the head, never behind. On :meth:`AuditLog.open` the chain resumes from the
log's last line: a file behind its head (truncated) or disagreeing with it raises
:class:`~proxy.errors.AuditChainBrokenError`; a file ahead is adopted (logged); a torn last line (a
write cut mid-line, no newline) that the head does not cover is cut off (logged). Full verification of
every line is ``wcproxy audit verify``.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, Protocol

import structlog

from proxy.audit.record import (
    GENESIS_HASH,
    AuditEntry,
    ChainHead,
    build_record,
    canonical_json,
    record_hash,
)
from proxy.audit.verify import MAX_LINE_BYTES, json_too_deep
from proxy.errors import AuditChainBrokenError, AuditError

__all__ = [
    "AuditLog",
    "ChainHeadStore",
    "FileChainHeadStore",
    "MemoryChainHeadStore",
    "read_head_file",
]

log = structlog.get_logger(__name__)

FsyncPolicy = Literal["always", "interval", "never"]
_TAIL_BLOCK = 64 * 1024


class ChainHeadStore(Protocol):
    """Keeps the audit chain head outside the log (so a truncated or rewritten log is detectable)."""

    async def load(self) -> ChainHead | None:
        """The last saved head, or None if none was ever saved."""
        ...

    async def save(self, head: ChainHead) -> None:
        """Durably replace the head."""
        ...


class MemoryChainHeadStore:
    """In-memory head store (tests, ``memory:`` store)."""

    def __init__(self, head: ChainHead | None = None) -> None:
        self.head = head

    async def load(self) -> ChainHead | None:
        """The head held in memory."""
        return self.head

    async def save(self, head: ChainHead) -> None:
        """Keep ``head``."""
        self.head = head


def read_head_file(path: Path) -> ChainHead | None:
    """Read a head file written by :class:`FileChainHeadStore` (None if absent).

    Raises:
        AuditError: the file exists but is not a head.
    """
    try:
        blob = path.read_bytes()[:4096]
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AuditError(f"cannot read chain head {path}: {exc.strerror}") from None
    try:
        data = json.loads(blob)
        head = ChainHead(count=int(data["count"]), hash=str(data["hash"]))
    except (ValueError, KeyError, TypeError):
        raise AuditError(f"chain head {path} is malformed") from None
    if head.count < 0 or len(head.hash) != 64:
        raise AuditError(f"chain head {path} is malformed")
    return head


class FileChainHeadStore:
    """The head as a small JSON file (``{"count": N, "hash": "…"}``), replaced atomically and fsynced."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def beside(cls, log_path: Path) -> FileChainHeadStore:
        """The head store at ``<log_path>.head`` (where ``wcproxy audit verify`` looks by default)."""
        return cls(log_path.with_name(log_path.name + ".head"))

    async def load(self) -> ChainHead | None:
        """Read the head file (None if absent)."""
        return await asyncio.to_thread(read_head_file, self.path)

    async def save(self, head: ChainHead) -> None:
        """Write to a temporary file, fsync, rename over the old head."""
        await asyncio.to_thread(self._write, head)

    def _write(self, head: ChainHead) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            os.write(fd, canonical_json({"count": head.count, "hash": head.hash}) + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)


def _read_tail(path: Path) -> tuple[bytes | None, int, int]:
    """Return (last complete line, offset where a torn tail starts, file size); creates nothing."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None, 0, 0
    with path.open("rb") as handle:
        end = size
        buffer = b""
        while end > 0:
            start = max(0, end - _TAIL_BLOCK)
            handle.seek(start)
            buffer = handle.read(end - start) + buffer
            end = start
            lines = buffer.split(b"\n")
            # lines[-1] is the torn part after the last newline (b"" when the file ends cleanly)
            if len(lines) >= 3 or (end == 0 and len(lines) >= 2):
                torn_at = size - len(lines[-1])
                return lines[-2] + b"\n", torn_at, size
        return None, 0, size  # no newline at all: everything is torn


def _close(fd: int, sync: bool) -> None:
    try:
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def _open_append(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)


class AuditLog:
    """Append-only hash-chained JSONL audit log. Use :meth:`open`; one instance per file per process."""

    def __init__(
        self,
        path: Path,
        heads: ChainHeadStore,
        head: ChainHead,
        *,
        fsync: FsyncPolicy,
        fsync_interval_s: float,
        clock: Callable[[], float],
    ) -> None:
        self.path = path
        self._heads = heads
        self._head = head  # of records assigned (maybe not yet written)
        self._written = head  # of records on disk
        self._fsync = fsync
        self._interval_s = fsync_interval_s
        self._clock = clock
        self._last_fsync = time.monotonic()
        self._pending: list[tuple[ChainHead, bytes]] = []  # (head after the line, line)
        self._lock = asyncio.Lock()
        self._fd: int | None = None
        self._closed = False
        self._failed = False

    @classmethod
    async def open(
        cls,
        path: Path,
        heads: ChainHeadStore,
        *,
        fsync: FsyncPolicy = "interval",
        fsync_interval_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> AuditLog:
        """Open (or create) the log at ``path`` and resume its chain.

        Raises:
            AuditChainBrokenError: the log is behind or disagrees with the external head, or its last
                line is not a valid record.
            AuditError: the file cannot be opened.
        """
        stored = await heads.load()
        head = await asyncio.to_thread(cls._resume, path, stored)
        self = cls(path, heads, head, fsync=fsync, fsync_interval_s=fsync_interval_s, clock=clock)
        try:
            self._fd = await asyncio.to_thread(_open_append, path)
        except OSError as exc:
            raise AuditError(f"cannot open audit log {path}: {exc.strerror}") from None
        if stored != head:
            await heads.save(head)
        log.info("audit_log_open", path=str(path), records=head.count)
        return self

    @staticmethod
    def _resume(path: Path, stored: ChainHead | None) -> ChainHead:
        last, torn_at, size = _read_tail(path)
        if torn_at < size:
            if stored is not None and last is None and stored.count > 0:
                raise AuditChainBrokenError(f"audit log {path} has no complete record", line=1)
            log.warning("audit_torn_tail_removed", path=str(path), bytes=size - torn_at)
            with path.open("r+b") as handle:
                handle.truncate(torn_at)
        if last is None:
            file_head = ChainHead(0, GENESIS_HASH)
        else:
            text = last.decode("utf-8", errors="replace")
            if len(last) > MAX_LINE_BYTES or json_too_deep(text):
                raise AuditChainBrokenError(f"the last line of {path} is not an audit record")
            try:
                record = json.loads(text)
                file_head = ChainHead(int(record["seq"]) + 1, str(record["hash"]))
            except (ValueError, KeyError, TypeError):
                raise AuditChainBrokenError(
                    f"the last line of {path} is not an audit record", line=0
                ) from None
            if record_hash(record) != file_head.hash:
                raise AuditChainBrokenError(f"the last line of {path} was edited", line=0)
        if stored is None:
            if file_head.count:
                log.warning("audit_head_missing", path=str(path), records=file_head.count)
            return file_head
        if file_head.count < stored.count:
            raise AuditChainBrokenError(
                f"audit log {path} is truncated: {file_head.count} records, external head counts "
                f"{stored.count}",
                line=file_head.count + 1,
            )
        if file_head.count == stored.count and file_head.hash != stored.hash:
            raise AuditChainBrokenError(
                f"audit log {path} disagrees with its external chain head", line=file_head.count
            )
        if file_head.count > stored.count:
            log.warning("audit_head_behind", path=str(path), log=file_head.count, head=stored.count)
        return file_head

    @property
    def head(self) -> ChainHead:
        """The head of every record appended so far (written or about to be)."""
        return self._head

    async def append(self, entry: AuditEntry) -> dict[str, Any]:
        """Chain ``entry``, wait until its line is written (see the fsync policy), return the record.

        Raises:
            AuditError: the log is closed or the write failed.
        """
        if self._closed:
            raise AuditError("audit log is closed")
        if self._failed:
            raise AuditError("audit log failed earlier; refusing to continue a broken chain")
        if not entry.decision_id:
            entry = replace(entry, decision_id=secrets.token_hex(16))
        record = build_record(
            entry, seq=self._head.count, prev_hash=self._head.hash, now=self._clock()
        )
        self._head = ChainHead(self._head.count + 1, record["hash"])
        self._pending.append((self._head, canonical_json(record) + b"\n"))
        async with self._lock:
            if self._written.count <= record["seq"]:
                await self._flush_pending()
        return record

    async def _flush_pending(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        data = b"".join(line for _, line in batch)
        now = time.monotonic()
        sync = self._fsync == "always" or (
            self._fsync == "interval" and now - self._last_fsync >= self._interval_s
        )
        try:
            await asyncio.to_thread(self._write, data, sync)
        except OSError as exc:
            self._failed = True  # lines were assigned but not written: the chain cannot continue
            raise AuditError(f"cannot write audit log {self.path}: {exc.strerror}") from None
        if sync:
            self._last_fsync = now
        self._written = batch[-1][0]
        await self._heads.save(self._written)

    def _write(self, data: bytes, sync: bool) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            count = os.write(self._fd, view)
            view = view[count:]
        if sync:
            os.fsync(self._fd)

    async def close(self) -> None:
        """Write what is pending, fsync (unless ``never``), close; idempotent."""
        if self._closed:
            return
        async with self._lock:
            await self._flush_pending()
            self._closed = True
            fd, self._fd = self._fd, None
            if fd is not None:
                await asyncio.to_thread(_close, fd, self._fsync != "never")
